// Keys that move through a scenario's notes, as presentation clickers send them: Space,
// Right arrow and PageDown go on, Left arrow and PageUp go back, R restarts. Only while no
// text field has focus, so typing a target or SQL never drives the scenario.

export type NoteKeyAction = 'next' | 'back' | 'restart';

/** What a key event carries that decides (a KeyboardEvent fits). */
export interface NoteKey {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

/** The focused element, as far as it matters here (an Element fits; null: the page itself). */
export interface Focused {
  tagName: string;
  isContentEditable: boolean;
  /** An input's type. */
  type?: string;
}

const KEYS: Record<string, NoteKeyAction> = {
  ' ': 'next',
  ArrowRight: 'next',
  PageDown: 'next',
  ArrowLeft: 'back',
  PageUp: 'back',
  r: 'restart',
  R: 'restart',
};

/** Inputs that take no typing: keys pass through them to the scenario. */
const NOT_TYPED = new Set(['checkbox', 'radio', 'button', 'submit', 'reset', 'file', 'color']);

/** True when keys go to the focused element: text fields, selects and sliders (arrows move them). */
export function takesKeys(el: Focused | null): boolean {
  if (!el) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  return tag === 'INPUT' && !NOT_TYPED.has((el.type ?? 'text').toLowerCase());
}

/** The scenario action for a key, or null when the key is not one, has a modifier, or a field has focus. */
export function noteKeyAction(e: NoteKey, focused: Focused | null): NoteKeyAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  const action = KEYS[e.key];
  if (!action || takesKeys(focused)) return null;
  // Space on a focused button presses that button: the browser's, not ours.
  if (e.key === ' ' && focused?.tagName.toUpperCase() === 'BUTTON') return null;
  return action;
}
