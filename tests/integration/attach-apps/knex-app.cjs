// A small CommonJS app on knex (knex's own tarn pool of the driver's connections: pg Clients or
// mysql2 connections, no driver pool), run by tests/integration/attach.test.ts with and without
// the agent: it prints what it observes and exits 3. KNEX_CLIENT: 'pg' or 'mysql2'. HOLD_MS: how
// long the leaky transaction stays open (a leak Poolscope should flag). The acquire timeout (2 s)
// also bounds making a connection: on a loaded machine 400 ms was not always enough.
const knex = require('knex');

const out = (...parts) => console.log(parts.join(' '));
// knex warns of the timed-out acquire with its stack, whose async frames (runNextTicks, timers)
// depend on when the timer fired on a busy machine: its first line is what the app says.
const log = { warn: (message) => out(String(message).split('\n')[0]) };
const db = knex({ client: process.env.KNEX_CLIENT, connection: process.env.APP_DB_URL, pool: { min: 0, max: 2, acquireTimeoutMillis: 2000 }, log });
// knex.raw answers pg's result, or mysql2's [rows, fields].
const rowsOf = (result) => (Array.isArray(result) ? result[0] : result.rows);

async function main() {
  out('select', JSON.stringify(await db.raw('SELECT 1 AS one').then(rowsOf)));
  await db.raw('SELECT * FROM no_such_table').catch((e) => out('error', e.code));

  const leaky = await db.transaction(); // LEAK-LINE
  await leaky.raw("SELECT 'secret-literal'");
  await new Promise((r) => setTimeout(r, Number(process.env.HOLD_MS ?? 0)));
  await leaky.commit();

  // Both connections held: three queries wait in line, then go one at a time through the one
  // connection given back, in the order they asked.
  const a = await db.transaction();
  const b = await db.transaction();
  const served = [];
  const waiting = [1, 2, 3].map((n) => db.raw('SELECT ? AS n', [n]).then((r) => served.push(rowsOf(r)[0].n))); // WAITER-LINE
  await new Promise((r) => setTimeout(r, 50));
  out('waiting', db.client.pool.numPendingAcquires());
  await a.commit();
  await Promise.all(waiting);
  await b.rollback();
  out('served', served.join(','));

  // Both held again: a fourth borrower times out after acquireTimeoutMillis.
  const c = await db.transaction();
  const d = await db.transaction();
  await db.raw('SELECT 1').catch((e) => out('timeout', e.name));
  await c.commit();
  await d.commit();

  await db.destroy();
  out('destroyed', db.client.pool === undefined);
  process.exitCode = 3;
}

main().catch((e) => {
  console.error('app failed', e);
  process.exitCode = 1;
});
