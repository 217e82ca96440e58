// mysql2: never ends its pool (its idle connection keeps the process alive).
import { test } from 'node:test';
import assert from 'node:assert';
import mysql from 'mysql2/promise';

const pool = mysql.createPool({ uri: process.env.CHECK_DB_URL, connectionLimit: 2 }); // POOL-LINE

test('selects', async () => {
  const [rows] = await pool.query('SELECT 1 AS one');
  assert.strictEqual(Number(rows[0].one), 1);
});
