'use strict';
// A borrower's call site is the first stack frame in the app's own code: outside
// node_modules, outside Node's internals and outside this agent. On the request's path only
// V8's raw frames are read, and the position found is kept as one shared record per place
// (an app borrows from a handful): no frame object is kept, nothing is formatted. Its text
// (with the app's source map, where it has one, else as a test runner's own stack mapping
// placed it when the place was first seen) is made once, when the channel first sends it.

const { findSourceMap } = require('node:module');
const { sep } = require('node:path');
const { runtimePosition } = require('./runtime-position.cjs');

const AGENT_DIR = __dirname + sep;
/** Frames read per borrow: the driver's own (pool.query → connect, promise wrappers) come first. */
const DEPTH = 12;
const rawFrames = (_err, frames) => frames;
const positions = new Map();
const MAX_POSITIONS = 4096;
const UNKNOWN = { text: 'unknown' };

function isAppFrame(file) {
  return (
    !file.startsWith('node:') &&
    !file.startsWith('internal/') &&
    !file.includes(`${sep}node_modules${sep}`) &&
    !file.includes('/node_modules/') &&
    !file.startsWith(AGENT_DIR) &&
    !file.startsWith(`file://${AGENT_DIR}`)
  );
}

/** The place in the app's code below `below`: a record shared by every borrow from there. */
function capture(below) {
  const holder = {};
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = DEPTH;
  Error.prepareStackTrace = rawFrames;
  try {
    Error.captureStackTrace(holder, below);
    const frames = holder.stack;
    if (!Array.isArray(frames)) return UNKNOWN;
    for (const frame of frames) {
      const file = frame.getFileName();
      if (file && isAppFrame(file)) return position(frame, file, prepare);
    }
    return UNKNOWN;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

function position(frame, file, prepare) {
  const line = frame.getLineNumber() ?? 0;
  const column = frame.getColumnNumber() ?? 0;
  const key = `${file}:${line}:${column}`;
  let pos = positions.get(key);
  if (pos === undefined) {
    const fn = frame.getFunctionName();
    const type = fn && !frame.isToplevel() ? frame.getTypeName() : null;
    pos = { file, line, column, fn, type, text: null, runtime: runtimePosition(frame, prepare) };
    if (positions.size >= MAX_POSITIONS) positions.clear();
    positions.set(key, pos);
  }
  return pos;
}

/** `name (dir/file.js:line)` or `dir/file.js:line`, as Poolscope shows its own call sites. */
function resolve(pos) {
  if (pos.text === null) pos.text = format(pos);
  return pos.text;
}

function format({ file, line, column, fn, type, runtime }) {
  let where = file;
  let row = line;
  try {
    const entry = line > 0 ? findSourceMap(file)?.findEntry(line - 1, column - 1) : undefined;
    if (entry && 'originalSource' in entry) {
      where = entry.originalSource;
      row = entry.originalLine + 1;
    } else if (runtime) {
      ({ file: where, line: row } = runtime);
    }
  } catch {
    // No usable source map: the generated position is still the app's.
  }
  const short = where.replace(/^file:\/\//, '').split(/[\\/]/).slice(-2).join('/');
  const name = fn ? (type && type !== 'Object' ? `${type}.${fn}` : fn) : null;
  return name ? `${name} (${short}:${row})` : `${short}:${row}`;
}

module.exports = { capture, resolve };
