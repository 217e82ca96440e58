// A burst of borrows on a pg.Pool, run by tests/integration/attach-budget.test.ts under
// `poolscope attach --site-budget N`: more borrows than the budget allows in the burst's time.
// BURST: how many; it prints how many it made and exits 0.
const pg = require('pg');

const pool = new pg.Pool({ connectionString: process.env.APP_DB_URL, max: 2 });

async function main() {
  const n = Number(process.env.BURST ?? 40);
  for (let i = 0; i < n; i++) {
    const client = await pool.connect(); // BURST-LINE
    await client.query('SELECT 1');
    client.release();
  }
  await pool.end();
  console.log('borrows', n);
}

main();
