'use strict';
// A call site in code a test runner transformed as it loaded it (vitest's module runner
// evaluates the test files and their TypeScript/ESM imports itself, with source maps Node's
// findSourceMap never sees): the runner's own Error.prepareStackTrace maps positions, so the
// frame is handed to it, once per place, off the request's path.

/** { file, line } as the runtime's stack formatter maps the frame, or null when it does not. */
function runtimePosition(frame) {
  const prepare = Error.prepareStackTrace;
  if (typeof prepare !== 'function' || frame === null) return null;
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
