'use strict';
// A borrower's call site is the first stack frame in the app's own code: outside
// node_modules, outside Node's internals and outside this agent. On the request's path only
// V8's raw frames are read and the chosen one is kept; its text (with the app's source
// map, where it has one) is made when the channel sends it, once per position.

const { findSourceMap } = require('node:module');
const { sep } = require('node:path');

const AGENT_DIR = __dirname + sep;
const DEPTH = 24;
const rawFrames = (_err, frames) => frames;
const texts = new Map();
const MAX_CACHED = 1024;

function isAppFrame(file) {
  return (
    file.length > 0 &&
    !file.startsWith('node:') &&
    !file.startsWith('internal/') &&
    !file.includes(`${sep}node_modules${sep}`) &&
    !file.includes('/node_modules/') &&
    !file.startsWith(AGENT_DIR) &&
    !file.startsWith(`file://${AGENT_DIR}`)
  );
}

/** The first frame of the app's code below `below`, or null. */
function capture(below) {
  const holder = {};
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = DEPTH;
  Error.prepareStackTrace = rawFrames;
  try {
    Error.captureStackTrace(holder, below);
    const frames = holder.stack;
    if (!Array.isArray(frames)) return null;
    for (const frame of frames) {
      const file = frame.getFileName();
      if (file && isAppFrame(file)) return frame;
    }
    return null;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/** `name (dir/file.js:line)` or `dir/file.js:line`, as Poolscope shows its own call sites. */
function resolve(frame) {
  if (frame === null) return 'unknown';
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
}

function format(frame, file, line, column, fn) {
  let where = file;
  let row = line;
  try {
    const entry = line > 0 ? findSourceMap(file)?.findEntry(line - 1, column - 1) : undefined;
    if (entry && 'originalSource' in entry) {
      where = entry.originalSource;
      row = entry.originalLine + 1;
    }
  } catch {
    // No usable source map: the generated position is still the app's.
  }
  const short = where.replace(/^file:\/\//, '').split(/[\\/]/).slice(-2).join('/');
  const type = frame.isToplevel() ? null : frame.getTypeName();
  const name = fn ? (type && type !== 'Object' ? `${type}.${fn}` : fn) : null;
  return name ? `${name} (${short}:${row})` : `${short}:${row}`;
}

module.exports = { capture, resolve };
