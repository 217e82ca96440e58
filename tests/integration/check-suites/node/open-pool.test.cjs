// Never ends its pool: the file's process lives on until the idle connection times out.
const { test } = require('node:test');
const assert = require('node:assert');
const pg = require('pg');
const { orderCount } = require('../orders.cjs');

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 2, idleTimeoutMillis: 300 }); // POOL-LINE

test('counts orders', async () => {
  assert.strictEqual(await orderCount(pool), 3);
});
