import { stripVTControlCharacters } from 'node:util';

// What the CLI prints that a scenario file (or a database answering it) wrote: titles, notes,
// SQL, error messages. A terminal obeys escape sequences in it (colours, cursor moves, a
// title, a clipboard write, a line erased and rewritten as "PASSED"), so such text is shown
// as text: escape sequences removed whole, then every other control character.

// C0 controls but tab and newline (CR and backspace rewrite a line), DEL, C1 controls (CSI,
// OSC...), and the bidirectional marks and overrides that reorder what is shown.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The text without escape sequences or control characters; newlines and tabs kept. */
export function printable(text: string): string {
  return stripVTControlCharacters(text).replace(CONTROLS, '');
}

/** One line: newlines and tabs as spaces, so the text cannot start a line of its own. */
export function oneLine(text: string): string {
  return printable(text).replace(/[\n\t]/g, ' ');
}

/** Every line after the first starts with `indent`, so none can pass for one of the CLI's own lines. */
export function indented(text: string, indent: string): string {
  return printable(text).replaceAll('\n', `\n${indent}`);
}

/**
 * JSON for a terminal: JSON.stringify escapes C0 controls but leaves DEL, C1 controls and
 * bidirectional marks as they are; here they are \u escapes too (the same JSON value).
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
