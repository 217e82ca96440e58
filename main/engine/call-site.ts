// The call site of a borrower is the first stack frame outside the borrowing function,
// as HikariCP's leak task keeps the stack of the code that took the connection.

const FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/;

export function callSite(below: (...args: never[]) => unknown): string {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  Error.captureStackTrace(holder, below);
  Error.stackTraceLimit = limit;
  const line = holder.stack?.split('\n')[1];
  if (!line) return 'unknown';
  const m = FRAME.exec(line);
  if (!m) return line.trim().replace(/^at /, '');
  const [, fn, file = '', row] = m;
  const short = file.replace(/^file:\/\//, '').split(/[\\/]/).slice(-2).join('/');
  return fn ? `${fn} (${short}:${row})` : `${short}:${row}`;
}
