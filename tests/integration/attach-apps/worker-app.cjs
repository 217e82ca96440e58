// A CommonJS app whose worker thread has a pg.Pool of its own, run by
// tests/integration/attach.test.ts: the main thread's pool and the worker's each serve a query,
// the worker holds a connection HOLD_MS (a leak Poolscope should flag at the worker's line).
const { Worker, isMainThread, threadId } = require('node:worker_threads');
const pg = require('pg');

const out = (...parts) => console.log(parts.join(' '));

async function worker() {
  const pool = new pg.Pool({ connectionString: process.env.APP_DB_URL, max: 2 });
  out('worker select', (await pool.query('SELECT 2 AS two')).rows[0].two);
  const held = await pool.connect(); // WORKER-LEAK-LINE
  await held.query('SELECT pg_sleep(0)');
  await new Promise((r) => setTimeout(r, Number(process.env.HOLD_MS ?? 0)));
  held.release();
  await pool.end();
}

async function main() {
  const pool = new pg.Pool({ connectionString: process.env.APP_DB_URL, max: 1 });
  out('main select', (await pool.query('SELECT 1 AS one')).rows[0].one); // MAIN-LINE
  const code = await new Promise((resolve, reject) => new Worker(__filename).once('error', reject).once('exit', resolve));
  out('worker exited', code);
  await pool.end();
  process.exitCode = 3;
}

(isMainThread ? main() : worker()).catch((e) => {
  console.error(`thread ${threadId} failed`, e);
  process.exitCode = 1;
});
