// One instance of a small app in a fleet, run by tests/integration/metrics.test.ts under
// `poolscope attach --metrics-*`: it leaves its pool in a known state, prints "ready", and
// stays until its stdin closes; then it ends its pool and exits by itself (nothing of the
// metrics export may keep it alive: a scraper's kept-alive socket, an exporter's). APP_DB_URL picks the driver (postgres:// → pg.Pool,
// mysql:// → mysql2/promise), APP_NAME its application_name on PostgreSQL.
//   pg:     max 3; one connection held for good (a leak), one returned inside a transaction
//           (a dirty return), one borrower timed out; ends with 2 idle, 1 used.
//   mysql2: max 2; one connection held, one returned inside a transaction (a dirty return, seen
//           by the OK packet's transaction flag); ends with 1 idle, 1 used.
const url = process.env.APP_DB_URL;

async function pgFleet() {
  const pg = require('pg');
  const pool = new pg.Pool({ connectionString: url, max: 3, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 0, application_name: process.env.APP_NAME });
  const held = await pool.connect();
  await held.query('SELECT 1');
  const dirty = await pool.connect();
  await dirty.query('BEGIN');
  dirty.release();
  const a = await pool.connect();
  const b = await pool.connect();
  // pg-pool reads its timeout at each connect: opening connections on a loaded machine gets
  // 10 s, the deliberate timeout of a borrower waiting on a full pool 200 ms.
  pool.options.connectionTimeoutMillis = 200;
  await pool.connect().catch((e) => console.log('timed out:', e.message));
  await a.query('ROLLBACK');
  a.release();
  b.release();
  return { held, pool };
}

async function mysqlFleet() {
  const mysql = require('mysql2/promise');
  const pool = mysql.createPool({ uri: url, connectionLimit: 2 });
  const held = await pool.getConnection();
  const other = await pool.getConnection();
  await other.query('BEGIN');
  await other.query('SELECT 1');
  other.release();
  return { held, pool };
}

(url.startsWith('mysql') ? mysqlFleet() : pgFleet()).then(
  ({ held, pool }) => {
    console.log('ready', process.pid);
    process.stdin.resume();
    process.stdin.on('end', () => {
      held.release();
      void pool.end();
    });
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
