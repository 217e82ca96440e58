// Never ends its pool.
import pg from 'pg';
import { expect, test } from 'vitest';
import orders from '../orders.cjs';

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 2 }); // POOL-LINE

test('counts orders', async () => {
  expect(await orders.orderCount(pool)).toBe(3);
});
