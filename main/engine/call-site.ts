// The call site of a borrower is the first stack frame outside the borrowing function,
// as HikariCP's leak task keeps the stack of the code that took the connection.
//
// Every borrow asks for it, so it must be cheap: formatting a stack trace (with source
// maps, as under tsx) cost about 10 µs per borrow, more than the rest of the
// instrumentation (tests/bench). V8's raw frame is read instead and its text is cached
// per position: a program borrows from a handful of places.

import { findSourceMap } from 'node:module';

interface Frame {
  getFileName(): string | undefined | null;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  getFunctionName(): string | null;
  getTypeName(): string | null;
  isToplevel(): boolean;
}

const rawFrames = (_err: Error, frames: Frame[]): Frame[] => frames;
const texts = new Map<string, string>();
const MAX_CACHED = 1_024;

export function callSite(below: (...args: never[]) => unknown): string {
  const holder: { stack?: unknown } = {};
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = 1;
  Error.prepareStackTrace = rawFrames as typeof Error.prepareStackTrace;
  try {
    Error.captureStackTrace(holder, below);
    // Read while our prepareStackTrace is installed: V8 prepares the stack on first access.
    const frame = (holder.stack as Frame[] | undefined)?.[0];
    if (!frame) return 'unknown';
    const file = frame.getFileName() ?? '';
    const line = frame.getLineNumber() ?? 0;
    const column = frame.getColumnNumber() ?? 0;
    const fn = frame.getFunctionName();
    const key = `${file}:${line}:${column}:${fn}`;
    let text = texts.get(key);
    if (text === undefined) {
      text = format(frame, file, line, column, fn);
      if (texts.size >= MAX_CACHED) texts.clear();
      texts.set(key, text);
    }
    return text;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/** The call site of the function that calls here(): for a borrower that asks from one place again and again, to capture once. */
export function here(): string {
  return callSite(here);
}

function format(frame: Frame, file: string, line: number, column: number, fn: string | null): string {
  // Positions in the source the person wrote, where the code runs from a source map (tsx, bundles).
  const entry = file && line > 0 ? findSourceMap(file)?.findEntry(line - 1, column - 1) : undefined;
  // findEntry answers {} where the map has nothing for the position.
  const original = entry && 'originalSource' in entry ? (entry as { originalSource: string; originalLine: number }) : undefined;
  const where = original?.originalSource ?? file;
  const row = original ? original.originalLine + 1 : line;
  const short = where.replace(/^file:\/\//, '').split(/[\\/]/).slice(-2).join('/');
  const type = frame.isToplevel() ? null : frame.getTypeName();
  const name = fn ? (type && type !== 'Object' ? `${type}.${fn}` : fn) : null;
  return name ? `${name} (${short}:${row})` : `${short}:${row}`;
}
