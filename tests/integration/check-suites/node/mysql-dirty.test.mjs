// mysql2: a connection released inside the transaction it began.
import { after, test } from 'node:test';
import mysql from 'mysql2/promise';

const pool = mysql.createPool({ uri: process.env.CHECK_DB_URL, connectionLimit: 2 });
after(() => pool.end());

test('begins and releases', async () => {
  const conn = await pool.getConnection(); // DIRTY-LINE
  await conn.query('BEGIN');
  await conn.query('SELECT 1');
  conn.release();
});
