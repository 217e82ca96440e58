// A helper of the suites run by tests/integration/check.test.ts under `poolscope check`:
// orderTotal() forgets to release its connection (the leak check must name LEAK-LINE).
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

module.exports = { orderTotal, orderCount };
