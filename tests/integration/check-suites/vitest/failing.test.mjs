// A test that fails (the command's exit code must be kept), with a dirty return besides.
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';

const pool = new pg.Pool({ connectionString: process.env.CHECK_DB_URL, max: 2 });
afterAll(() => pool.end());

test('expects the wrong total', async () => {
  const client = await pool.connect(); // DIRTY-LINE
  await client.query('BEGIN');
  const { rows } = await client.query('SELECT 41 AS total');
  client.release();
  expect(rows[0].total).toBe(42);
});
