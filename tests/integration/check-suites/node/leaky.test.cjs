// The helper leaks a connection; the pool is ended (end() waits for it forever). Run with
// --test-force-exit the file ends by process.exit(); without it, it never ends.
const { after, test } = require('node:test');
const assert = require('node:assert');
const pg = require('pg');
const { orderTotal } = require('../orders.cjs');

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 2 }); // POOL-LINE
after(() => {
  pool.end();
});

test('totals an order', async () => {
  assert.strictEqual(await orderTotal(pool), 42);
});
