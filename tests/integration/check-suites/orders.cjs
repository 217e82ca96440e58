// A helper of the suites run by tests/integration/check.test.ts under `poolscope check`:
// orderTotal() and orderTotalMysql() forget to release their connection (the leak check must name their line).
async function orderTotal(pool) {
  const client = await pool.connect(); // LEAK-LINE
  const { rows } = await client.query('SELECT 40 + 2 AS total');
  return rows[0].total;
}

/** The same query, done right. */
async function orderCount(pool) {
  const client = await pool.connect();
  try {
    const { rows } = await client.query('SELECT 3 AS n');
    return rows[0].n;
  } finally {
    client.release();
  }
}

/** mysql2's promise pool: the same forgotten release. */
async function orderTotalMysql(pool) {
  const conn = await pool.getConnection(); // MYSQL-LEAK-LINE
  const [rows] = await conn.query('SELECT 40 + 2 AS total');
  return Number(rows[0].total);
}

module.exports = { orderTotal, orderCount, orderTotalMysql };
