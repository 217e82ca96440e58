// Borrows and a committed transaction, the pool ended: nothing to find.
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import orders from '../orders.cjs';

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 2 });
afterAll(() => pool.end());

test('counts orders', async () => {
  expect(await orders.orderCount(pool)).toBe(3);
});

test('writes in a transaction', async () => {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('COMMIT');
  } finally {
    client.release();
  }
});
