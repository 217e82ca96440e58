// A small CommonJS app on pg.Pool, run by tests/integration/attach.test.ts with and without
// the agent: it prints what it observes (results, errors, pool events in order) and exits 3.
// HOLD_MS: how long the leaky step holds its connection (a leak Poolscope should flag here; hold.cjs).
const pg = require('pg');
const hold = require('./hold.cjs');

const pool = new pg.Pool({ connectionString: process.env.APP_DB_URL, max: 2, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30000 });
const seen = [];
for (const name of ['connect', 'acquire', 'release', 'remove']) pool.on(name, () => seen.push(name));
const out = (...parts) => console.log(parts.join(' '));

async function main() {
  out('select', JSON.stringify((await pool.query('SELECT 1 AS one')).rows));
  // pg.Pool destroys a client whose query failed; waiting for its removal keeps the order of events the same run to run.
  const removed = () => new Promise((r) => pool.once('remove', r));
  let gone = removed();
  await pool.query('SELECT * FROM no_such_table').catch((e) => out('error', e.code, e.message));
  await gone;

  const leaky = await pool.connect(); // LEAK-LINE
  await leaky.query('SELECT pg_sleep(0)');
  await hold();
  leaky.release();

  const tx = await pool.connect();
  await tx.query('BEGIN');
  await tx.query("SELECT 'secret-literal'");
  await tx.query('COMMIT');
  tx.release();

  const broken = await pool.connect();
  gone = removed();
  broken.release(new Error('app says: broken'));
  await gone;
  out('after release(err)', pool.totalCount, pool.idleCount);

  const a = await pool.connect();
  const b = await pool.connect();
  // pg-pool reads its timeout at each connect: opening connections on a loaded machine gets
  // 10 s, the deliberate timeouts of borrowers waiting on a full pool 400 ms.
  pool.options.connectionTimeoutMillis = 400;
  await pool.connect().catch((e) => out('third', e.message));
  out('waiting', pool.waitingCount);
  a.release();
  b.release();

  const holder = await pool.connect();
  const holder2 = await pool.connect();
  const waiter = pool.connect().then(() => 'served', (e) => `refused: ${e.message}`);
  const ended = pool.end();
  await pool.connect().catch((e) => out('after end', e.message));
  out('waiter', await waiter);
  holder.release();
  holder2.release();
  await ended;
  out('ended', pool.totalCount, pool.ended);
  out('events', seen.join(','));
  process.exitCode = 3;
}

main().catch((e) => {
  console.error('app failed', e);
  process.exitCode = 1;
});
