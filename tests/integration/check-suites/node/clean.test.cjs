// Borrows, a committed transaction and a timeout-free run, the pool ended: nothing to find.
const { after, test } = require('node:test');
const assert = require('node:assert');
const pg = require('pg');
const { orderCount } = require('../orders.cjs');

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 2 });
after(() => pool.end());

test('counts orders', async () => {
  assert.strictEqual(await orderCount(pool), 3);
});

test('writes in a transaction', async () => {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT 1');
    await client.query('COMMIT');
  } finally {
    client.release();
  }
});
