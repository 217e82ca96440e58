import { describe, expect, it } from 'vitest';
import { indented, oneLine, printable, terminalJson } from '../../main/terminal-text';

// What `poolscope run` prints of a scenario file's text: shown, never obeyed by the terminal.

const ESC = '\u001b';
const BEL = '\u0007';

describe('text from a scenario file, for a terminal', () => {
  it('drops escape sequences whole: colours, erase-line, a clipboard write (OSC 52, BEL or ST), a window title, 8-bit CSI', () => {
    expect(printable(`${ESC}[31mred${ESC}[0m`)).toBe('red');
    expect(printable(`done${ESC}[2K${ESC}[1G`)).toBe('done');
    expect(printable(`a${ESC}]52;c;cm0gLXJmIH4=${BEL}b`)).toBe('ab');
    expect(printable(`a${ESC}]52;c;cm0g+LXJm${ESC}\\b`)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(printable(`${ESC}]0;pwned${BEL}title`)).toBe('title');
    expect(printable('x\u009b31my')).toBe('xy');
  });

  it('drops every other control character (a carriage return rewrites the line) and bidirectional overrides; keeps newlines, tabs and text', () => {
    expect(printable('FAILED\rPASSED')).toBe('FAILEDPASSED');
    expect(printable('ab\bc\u0000d\u007fe')).toBe('abcde');
    expect(printable('a\u202ecba\u202c \u2066x\u2069')).toBe('acba x');
    expect(printable('line one\n\tline two: Grüße, 書籍 ✓')).toBe('line one\n\tline two: Grüße, 書籍 ✓');
  });

  it('oneLine keeps a value on its line; indented starts every later line below its own', () => {
    expect(oneLine('title\nPASSED: all\tok')).toBe('title PASSED: all ok');
    expect(indented(`note\nPASSED: fake${ESC}[0m\nmore`, '    ')).toBe('note\n    PASSED: fake\n    more');
  });

  it('terminalJson escapes what JSON.stringify leaves raw, and parses back to the same value', () => {
    const value = { title: `C1 \u009b31m, bidi \u202e, DEL \u007f, ESC ${ESC}[31m` };
    const text = terminalJson(value);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});
