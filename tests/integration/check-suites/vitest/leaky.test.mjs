// The helper leaks a connection; the pool is ended (end() waits for it forever).
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import orders from '../orders.cjs';

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 2 });
afterAll(() => {
  pool.end();
});

test('totals an order', async () => {
  expect(await orders.orderTotal(pool)).toBe(42);
});
