// mysql2: the helper leaks a connection, then the pool is ended (mysql2 closes it under the borrower).
import { after, test } from 'node:test';
import assert from 'node:assert';
import mysql from 'mysql2/promise';
import orders from '../orders.cjs';

const pool = mysql.createPool({ uri: process.env.CHECK_DB_URL, connectionLimit: 2 });
after(() => pool.end());

test('totals an order', async () => {
  assert.strictEqual(await orders.orderTotalMysql(pool), 42);
});
