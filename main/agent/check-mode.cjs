'use strict';
// What `poolscope check` needs beyond what attach sends: where each pool was created (a pool
// never ended is named by it), and, when POOLSCOPE_CHECK_DIR is set, the rows a process had
// not sent yet when it exits or is terminated, written synchronously to a file there (a
// process that ends by process.exit() or SIGTERM gets no further turn of its event loop to
// send them on the socket).

const fs = require('node:fs');
const path = require('node:path');
const { isMainThread, threadId } = require('node:worker_threads');
const { capture, resolve } = require('./call-site.cjs');

/** A row kind after recorder.cjs's own: a: pool, ref: where the app created it (text). */
const POOL_SITE = 14;

/**
 * The driver's pool class, seen constructing: register(pool) gives the pool its id (it is
 * shown from its creation, not its first borrower) and the creation site is recorded.
 */
function constructed(PoolClass, rec, guard, register) {
  const handler = {
    construct(target, args, newTarget) {
      const pool = Reflect.construct(target, args, newTarget);
      guard(() => rec.write(POOL_SITE, register(pool), 0, 0, resolve(capture(handler.construct, false))));
      return pool;
    },
  };
  return new Proxy(PoolClass, handler);
}

/**
 * Must be installed before the channel's own exit flush: the rows go to the file, whole,
 * instead. Test runners end their workers with SIGTERM (vitest, jest-worker, tinypool), where
 * no 'exit' handler runs: when no one else listens for SIGTERM, the file is written and the
 * signal raised again with its default action, so the process ends as it would have.
 */
function writeRowsAtExit(rec, channel, guard, dir = process.env.POOLSCOPE_CHECK_DIR) {
  if (!dir) return;
  const write = () =>
    guard(() => {
      const file = path.join(dir, `${process.pid}-${threadId}.json`);
      const text = JSON.stringify({ pid: process.pid, thread: threadId, events: channel.take(), dropped: rec.totals.dropped, state: channel.state() });
      // Whole or not at all: `check` reads it once the process's socket closes.
      fs.writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
      fs.renameSync(`${file}.tmp`, file);
    });
  process.on('exit', write);
  // Signals reach the main thread only.
  if (!isMainThread) return;
  process.on('SIGTERM', function terminated() {
    // The app's own SIGTERM listener decides what happens (and its exit writes the file).
    if (process.listenerCount('SIGTERM') > 1) return;
    write();
    process.off('SIGTERM', terminated);
    process.kill(process.pid, 'SIGTERM');
  });
}

module.exports = { POOL_SITE, constructed, writeRowsAtExit };
