// A burst of borrows on a pg.Pool, run under `poolscope attach --site-budget N` by
// tests/integration/attach.test.ts and tests/e2e/attach.test.ts. All BURST borrowers ask
// in one turn of the event loop (the budget cannot refill between them), each runs SELECT 1;
// the last holds its connection HOLD_MS before releasing (hold.cjs). Then SERIAL queries one after another
// (pool.query: borrowed, run and released, each within the agent's batch). Prints how many and exits 0.
const pg = require('pg');
const hold = require('./hold.cjs');

const pool = new pg.Pool({ connectionString: process.env.APP_DB_URL, max: 2 });

async function borrow(last) {
  const client = await pool.connect(); // BURST-LINE
  await client.query('SELECT 1');
  if (last) await hold();
  client.release();
}

async function main() {
  const n = Number(process.env.BURST ?? 40);
  await Promise.all(Array.from({ length: n }, (_, i) => borrow(i === n - 1)));
  const serial = Number(process.env.SERIAL ?? 0);
  for (let i = 0; i < serial; i++) await pool.query('SELECT 1');
  await pool.end();
  console.log('borrows', n);
  if (serial > 0) console.log('queries', serial);
}

main();
