'use strict';
// A call site in code a test runner transformed as it loaded it (vitest's module runner
// evaluates the test files and their TypeScript/ESM imports itself, with source maps Node's
// findSourceMap never sees): the runner's own Error.prepareStackTrace maps positions, so the
// frame is handed to it once per place, when the place is first seen (keeping the frame for
// later would keep its receiver alive).

/** { file, line } as `prepare` (the runtime's Error.prepareStackTrace) maps the frame, or null. */
function runtimePosition(frame, prepare) {
  if (typeof prepare !== 'function') return null;
  try {
    const text = prepare(new Error(''), [frame]);
    const at = typeof text === 'string' ? /\n\s*at (.*)$/.exec(text) : null;
    const m = at && (/\((.*):(\d+):\d+\)$/.exec(at[1]) ?? /^(.*):(\d+):\d+$/.exec(at[1]));
    return m ? { file: m[1], line: Number(m[2]) } : null;
  } catch {
    return null;
  }
}

module.exports = { runtimePosition };
