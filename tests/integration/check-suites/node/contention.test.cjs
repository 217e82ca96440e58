// One connection: a slow report holds it (in a transaction) while a second borrower times
// out waiting; the report then commits and releases, after holding it about 600 ms.
const { after, test } = require('node:test');
const assert = require('node:assert');
const pg = require('pg');

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 1, connectionTimeoutMillis: 10_000 });
after(() => pool.end());

test('a slow report starves a second borrower', async () => {
  const report = await pool.connect(); // HOLDER-LINE
  await report.query('BEGIN');
  // pg-pool reads its timeout at each connect: opening the connection on a loaded machine
  // got 10 s, the second borrower's deliberate wait gets 200 ms.
  pool.options.connectionTimeoutMillis = 200;
  const refused = await pool.connect().then( // WAITER-LINE
    (c) => c.release(),
    (e) => e.message,
  );
  assert.match(refused, /timeout/);
  await report.query('SELECT pg_sleep(0.4)');
  await report.query('COMMIT');
  report.release();
});
