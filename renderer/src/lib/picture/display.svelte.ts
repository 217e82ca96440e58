// How the live view is shown, apart from what it shows: the theme, the text size, whether
// the picture moves, and presenter mode. Theme, text size and motion are the person's
// settings (kept in localStorage); presenter mode is a state of the layout for this session only.

import { refreshPalette } from '../palette.svelte';

export const THEMES = ['system', 'light', 'dark', 'contrast'] as const;
export type Theme = (typeof THEMES)[number];
export const THEME_LABEL: Record<Theme, string> = { system: 'as the system', light: 'light', dark: 'dark', contrast: 'high contrast' };

/** The root's font size (styles/global.css); every font size is in rem once built (renderer/postcss.config.js). */
export const TEXT_SIZES = ['small', 'normal', 'large', 'larger'] as const;
export type TextSize = (typeof TEXT_SIZES)[number];
export const TEXT_SIZE_LABEL: Record<TextSize, string> = { small: 'small text', normal: 'normal text', large: 'large text', larger: 'larger text' };

const KEY = 'poolscope.display';

interface Saved {
  theme: Theme;
  text: TextSize;
  motion: boolean;
}

function load(): Saved {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Saved>;
    return {
      theme: THEMES.includes(raw.theme as Theme) ? (raw.theme as Theme) : 'system',
      text: TEXT_SIZES.includes(raw.text as TextSize) ? (raw.text as TextSize) : 'normal',
      motion: raw.motion !== false,
    };
  } catch {
    // Storage refused (a locked-down profile) or a value that is not ours: the defaults.
    return { theme: 'system', text: 'normal', motion: true };
  }
}

const media = (q: string) => (typeof window !== 'undefined' && typeof window.matchMedia === 'function' ? window.matchMedia(q) : null);

class Display {
  #theme = $state<Theme>('system');
  #text = $state<TextSize>('normal');
  #motion = $state(true);
  #reducedMotion = $state(false);
  #presenting = $state(false);

  get presenting(): boolean {
    return this.#presenting;
  }

  /** Entering presenter mode goes to the top: the note and the picture are there, not where the controls were scrolled to. */
  set presenting(on: boolean) {
    this.#presenting = on;
    if (on && typeof window !== 'undefined') window.scrollTo(0, 0);
  }

  constructor() {
    const saved = load();
    this.#theme = saved.theme;
    this.#text = saved.text;
    this.#motion = saved.motion;
    const dark = media('(prefers-color-scheme: dark)');
    dark?.addEventListener('change', () => this.#apply());
    const reduced = media('(prefers-reduced-motion: reduce)');
    this.#reducedMotion = reduced?.matches ?? false;
    reduced?.addEventListener('change', (e) => (this.#reducedMotion = e.matches));
  }

  get theme(): Theme {
    return this.#theme;
  }

  set theme(t: Theme) {
    this.#theme = t;
    this.#save();
    this.#apply();
  }

  get text(): TextSize {
    return this.#text;
  }

  set text(t: TextSize) {
    this.#text = t;
    this.#save();
    this.#apply();
  }

  /** The setting; `moving` is what applies (the system's reduced-motion preference wins). */
  get motion(): boolean {
    return this.#motion;
  }

  set motion(on: boolean) {
    this.#motion = on;
    this.#save();
  }

  get moving(): boolean {
    return this.#motion && !this.#reducedMotion;
  }

  /** Sets the page's theme and text size: `data-theme` and `data-text` on the root element, which styles/global.css reads. */
  apply(): void {
    this.#apply();
  }

  #apply(): void {
    const resolved = this.#theme === 'system' ? (media('(prefers-color-scheme: dark)')?.matches ? 'dark' : 'light') : this.#theme;
    document.documentElement.dataset.theme = resolved;
    document.documentElement.dataset.text = this.#text;
    refreshPalette();
  }

  #save(): void {
    try {
      localStorage.setItem(KEY, JSON.stringify({ theme: this.#theme, text: this.#text, motion: this.#motion } satisfies Saved));
    } catch {
      // Not kept across sessions; it still applies now.
    }
  }
}

export const display = new Display();
