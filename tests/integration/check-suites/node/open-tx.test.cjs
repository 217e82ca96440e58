// Leaves a transaction open on a connection it never releases; ends by process.exit() (--test-force-exit).
const { test } = require('node:test');
const pg = require('pg');

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 1 });

test('begins and forgets', async () => {
  const client = await pool.connect(); // TX-LINE
  await client.query('BEGIN');
  await client.query('SELECT 1');
});
