// A small ESM app on mysql2/promise, run by tests/integration/attach.test.ts with and without
// the agent: it prints what it observes (results, errors, pool events in order) and exits 3.
// HOLD_MS: how long the leaky step holds its connection (a leak Poolscope should flag here).
import mysql from 'mysql2/promise';

const pool = mysql.createPool({ uri: process.env.APP_DB_URL, connectionLimit: 2, queueLimit: 5 });
const seen = [];
for (const name of ['connection', 'acquire', 'release', 'enqueue']) pool.on(name, () => seen.push(name));
const out = (...parts) => console.log(parts.join(' '));

const [rows] = await pool.query('SELECT 1 AS one');
out('select', JSON.stringify(rows));
await pool.query('SELECT * FROM no_such_table').catch((e) => out('error', e.code, e.message));

const leaky = await pool.getConnection(); // LEAK-LINE
await leaky.query('SELECT SLEEP(0)');
await new Promise((r) => setTimeout(r, Number(process.env.HOLD_MS ?? 0)));
leaky.release();

const tx = await pool.getConnection();
await tx.beginTransaction();
await tx.query("SELECT 'secret-literal'");
await tx.commit();
tx.release();

const broken = await pool.getConnection();
broken.destroy();
out('after destroy', pool.pool._allConnections.length, pool.pool._freeConnections.length);

const a = await pool.getConnection();
const b = await pool.getConnection();
const queued = pool.getConnection().then((c) => {
  out('queued served');
  c.release();
});
a.release();
await queued;
b.release();

const h1 = await pool.getConnection();
const h2 = await pool.getConnection();
const waiter = pool.getConnection().then(() => 'served', (e) => `refused: ${e.message}`);
const ended = pool.end();
out('waiter', await waiter);
h1.release();
h2.release();
await ended;
await pool.query('SELECT 1').catch((e) => out('after end', e.message));
out('events', seen.join(','));
process.exitCode = 3;
