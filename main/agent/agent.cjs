'use strict';
// Poolscope's agent, loaded into the user's app by `node --require` (CommonJS) or through
// attach.mjs by `node --import`: it hooks pg and mysql2 as they are required (the
// require-in-the-middle library, as OpenTelemetry's instrumentations do; an ESM app's
// `import 'pg'` reaches the same CommonJS files) and sends what their pools do to
// Poolscope. Nothing it does may throw into the app: every step runs in guard() or catches
// and reports (report), and the first failure of each kind is reported once on stderr and to
// Poolscope.

const fs = require('node:fs');
const path = require('node:path');
const { isMainThread, threadId } = require('node:worker_threads');
const { Hook } = require('require-in-the-middle');
const { Recorder } = require('./recorder.cjs');
const { Channel } = require('./channel.cjs');
const { versionAt, outsideRange } = require('./versions.cjs');
const { pgState, patchPgPool, patchPgClient, poolIdOf: pgPoolIdOf } = require('./hook-pg.cjs');
const { mysqlState, patchMysqlPool, patchMysqlPoolCluster, patchMysqlConnection, poolIdOf: mysqlPoolIdOf } = require('./hook-mysql2.cjs');
const { tarnState, knexPatches, patchTarnPool } = require('./hook-tarn.cjs');
const { constructed, writeRowsAtExit } = require('./check-mode.cjs');
const { budget, budgetRefused, unsampled, NOT_SAMPLED } = require('./call-site.cjs');

const STARTED = Symbol.for('poolscope.agent');

function start() {
  if (globalThis[STARTED]) return globalThis[STARTED];
  const rec = new Recorder({ foldable: unsampled, notSampled: NOT_SAMPLED });
  const channel = new Channel(rec);
  const reported = new Set();
  const report = (err) => {
    const message = `agent error (the app is unaffected, this observation is lost): ${err && err.message}`;
    if (reported.has(message)) return;
    reported.add(message);
    channel.warn(message);
    rec.note(message);
  };
  const guard = (fn) => {
    try {
      return fn();
    } catch (err) {
      report(err);
      return undefined;
    }
  };
  // Pool metrics (docs/metrics.md): only when `poolscope attach --metrics-*` asked for them.
  if (process.env.POOLSCOPE_METRICS_OTLP || process.env.POOLSCOPE_METRICS_PORT) guard(() => require('./metrics.cjs').watchRecorder(rec, guard, channel.warn));
  const pg = pgState(rec, guard, report);
  const mysql = mysqlState(rec, guard, report);
  const tarn = tarnState(rec, guard, pg, mysql);
  if (budgetRefused) {
    channel.warn(budgetRefused);
    rec.note(budgetRefused);
  }
  const leftAlone = new Set();
  const inRange = (name, basedir) => {
    const version = versionAt(basedir);
    const why = outsideRange(name, version);
    if (why === null) return version;
    if (!leftAlone.has(why)) {
      leftAlone.add(why);
      channel.warn(why);
      rec.note(why);
    }
    return null;
  };

  new Hook(['pg', 'pg-pool', 'mysql2', 'knex', 'tarn'], { internals: true }, (exports, name, basedir) => {
    return guard(() => {
      const file = name.split(path.sep).join('/');
      if (file === 'pg-pool' && typeof exports === 'function' && inRange('pg-pool', basedir)) {
        patchPgPool(exports, pg);
        return constructed(exports, rec, guard, (pool) => pgPoolIdOf(pg, pool));
      }
      if (file === 'pg/lib/client.js' && typeof exports === 'function') {
        const version = inRange('pg', basedir);
        if (version) {
          pg.driver = `pg ${version}`;
          patchPgClient(exports, pg);
        }
      }
      if (file === 'mysql2/lib/base/pool.js' && typeof exports === 'function') {
        const version = inRange('mysql2', basedir);
        if (version) {
          mysql.driver = `mysql2 ${version}`;
          patchMysqlPool(exports, mysql);
          return constructed(exports, rec, guard, (pool) => mysqlPoolIdOf(mysql, pool));
        }
      }
      if (file === 'mysql2/lib/pool_cluster.js' && typeof exports === 'function' && inRange('mysql2', basedir)) {
        patchMysqlPoolCluster(exports, mysql);
      }
      if (file === 'mysql2/lib/base/connection.js' && typeof exports === 'function' && inRange('mysql2', basedir)) {
        patchMysqlConnection(exports, mysql);
      }
      // Loaded by tarn's Pool.js before it: what a timed-out acquire fails with.
      if (file === 'tarn/dist/TimeoutError.js') tarn.TimeoutError = exports?.TimeoutError ?? null;
      if (file === 'tarn/dist/Pool.js' && typeof exports?.Pool === 'function') {
        const version = inRange('tarn', basedir);
        if (version) {
          tarn.tarn = `tarn ${version}`;
          patchTarnPool(exports.Pool, tarn);
        }
      }
      const patchKnex = knexPatches[file];
      if (patchKnex && typeof exports === 'function') {
        const version = inRange('knex', basedir);
        if (version) {
          tarn.knex = `knex ${version}`;
          patchKnex(exports, tarn);
        }
      }
      return exports;
    }) ?? exports;
  });

  writeRowsAtExit(rec, channel, guard);
  channel.start();
  // For `poolscope attach`: what this process saw, for the one summary line at the end.
  const runDir = process.env.POOLSCOPE_ATTACH_RUN;
  process.on('exit', () => {
    guard(() => channel.flush());
    // A worker thread's agent counts its own pools, in the process its main thread counts.
    const own = isMainThread ? { name: `${process.pid}.json`, processes: 1 } : { name: `${process.pid}-${threadId}.json`, processes: 0 };
    if (runDir) guard(() => fs.writeFileSync(path.join(runDir, own.name), JSON.stringify({ ...rec.totals, processes: own.processes, siteBudget: budget ? budget.perSecond : null }), { mode: 0o600 }));
  });
  globalThis[STARTED] = { rec, channel };
  return globalThis[STARTED];
}

module.exports = start();
