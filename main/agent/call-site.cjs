'use strict';
// A borrower's call site is the first stack frame in the app's own code: outside
// node_modules, outside Node's internals and outside this agent.
//
// Capturing it is the agent's main cost: V8 summarises each frame it walks, and the app's
// frame is optimised code whose inlined functions V8 decodes from deoptimisation data (about
// 40,000 instructions per capture in the attach bench, even for one frame). So the request's
// path only captures, into a plain object, and reads nothing: the frames are read by the
// channel when it sends the batch (resolve), off the request's path, and each place's text
// (with the app's source map, where it has one, else as a test runner's own stack mapping
// places it) is made once and shared by every borrow from there. The captured frames (and what
// they hold) live until that batch is sent. Nothing is captured while no Poolscope is reached
// or being reached (the channel says which, watch()): with nothing listening a borrow costs no
// capture, and no frame is kept in a ring nobody reads. At most 100 captures a second are made
// (`poolscope attach --site-budget N|all`, site-budget.cjs): the borrowers beyond are not sampled.
// `poolscope check` writes the rows not sent to a file at exit (POOLSCOPE_CHECK_DIR): there,
// sites are always captured, whatever the budget: it needs every leak's line.

const { findSourceMap } = require('node:module');
const { sep } = require('node:path');
const { runtimePosition } = require('./runtime-position.cjs');
const { siteBudgetFrom } = require('./site-budget.cjs');

const AGENT_DIR = __dirname + sep;
/** Frames captured per borrow: the driver's own (pool.query → connect, promise wrappers) come first. */
const DEPTH = 12;
const rawFrames = (_err, frames) => frames;
const texts = new Map();
const MAX_PLACES = 4096;
/** Where no capture was made (nothing was watching) or none of it was the app's. */
const UNKNOWN = Object.freeze({ text: 'unknown' });
/** Where the site budget was spent: the engine shows it with the budget (agent-protocol.ts). */
const NOT_SAMPLED = Object.freeze({ text: 'not sampled' });

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

const rowsKeptAtExit = Boolean(process.env.POOLSCOPE_CHECK_DIR);
const { budget, refused: budgetRefused } = rowsKeptAtExit ? { budget: null, refused: null } : siteBudgetFrom(process.env.POOLSCOPE_SITE_BUDGET);
let watching = false;

function watch(on) {
  watching = on;
}

/**
 * The stack below `below`, captured and not read: resolve() reads it later. A borrow's capture
 * spends the site budget; a pool's creation (once per pool) does not.
 */
function capture(below, budgeted = true) {
  if (!watching && !rowsKeptAtExit) return UNKNOWN;
  if (budgeted && budget !== null && !budget.take()) return NOT_SAMPLED;
  const site = { text: null };
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = DEPTH;
  try {
    Error.captureStackTrace(site, below);
  } finally {
    Error.stackTraceLimit = limit;
  }
  return site;
}

/** `name (dir/file.js:line)` or `dir/file.js:line`, as Poolscope shows its own call sites. */
function resolve(site) {
  if (site.text !== null) return site.text;
  const prepare = Error.prepareStackTrace;
  Error.prepareStackTrace = rawFrames;
  let frames;
  try {
    // V8 prepares the captured stack on its first read, with the prepareStackTrace in place then.
    frames = site.stack;
  } finally {
    Error.prepareStackTrace = prepare;
  }
  // The frames hold the app's functions and receivers: let them go.
  site.stack = null;
  site.text = Array.isArray(frames) ? place(frames, prepare) : UNKNOWN.text;
  return site.text;
}

function place(frames, prepare) {
  for (const frame of frames) {
    const file = frame.getFileName();
    if (!file || !isAppFrame(file)) continue;
    const line = frame.getLineNumber() ?? 0;
    const column = frame.getColumnNumber() ?? 0;
    const key = `${file}:${line}:${column}`;
    let text = texts.get(key);
    if (text === undefined) {
      text = format(frame, file, line, column, prepare);
      if (texts.size >= MAX_PLACES) texts.clear();
      texts.set(key, text);
    }
    return text;
  }
  return UNKNOWN.text;
}

function format(frame, file, line, column, prepare) {
  let where = file;
  let row = line;
  try {
    const entry = line > 0 ? findSourceMap(file)?.findEntry(line - 1, column - 1) : undefined;
    if (entry && 'originalSource' in entry) {
      where = entry.originalSource;
      row = entry.originalLine + 1;
    } else {
      const mapped = runtimePosition(frame, prepare);
      if (mapped) ({ file: where, line: row } = mapped);
    }
  } catch {
    // No usable source map: the generated position is still the app's.
  }
  const short = where.replace(/^file:\/\//, '').split(/[\\/]/).slice(-2).join('/');
  const fn = frame.getFunctionName();
  const type = fn && !frame.isToplevel() ? frame.getTypeName() : null;
  const name = fn ? (type && type !== 'Object' ? `${type}.${fn}` : fn) : null;
  return name ? `${name} (${short}:${row})` : `${short}:${row}`;
}

/** Whether a borrower's site is one where no capture was made (its rows may be folded: recorder.cjs). */
function unsampled(site) {
  return site === NOT_SAMPLED || site === UNKNOWN;
}

module.exports = { capture, resolve, unsampled, watch, NOT_SAMPLED, budget, budgetRefused };
