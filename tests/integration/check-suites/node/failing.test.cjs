// A test that fails (the command's exit code must be kept), with a dirty return besides.
const { after, test } = require('node:test');
const assert = require('node:assert');
const pg = require('pg');

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 2 });
after(() => pool.end());

test('expects the wrong total', async () => {
  const client = await pool.connect(); // DIRTY-LINE
  await client.query('BEGIN');
  const { rows } = await client.query('SELECT 41 AS total');
  client.release();
  assert.strictEqual(rows[0].total, 42);
});
