// An ESM app on mysql2/promise's createPoolCluster (two members, `primary` and `replica`), run by
// tests/integration/attach.test.ts: each member pool serves its own borrowers; it prints what it
// observes and exits 3. HOLD_MS: how long it holds its three connections.
import mysql from 'mysql2/promise';

const cluster = mysql.createPoolCluster();
cluster.add('primary', { uri: process.env.APP_DB_URL, connectionLimit: 1 });
cluster.add('replica', { uri: process.env.APP_DB_URL, connectionLimit: 2 });
const out = (...parts) => console.log(parts.join(' '));

const primary = await cluster.getConnection('primary'); // PRIMARY-LINE
const [[p]] = await primary.query('SELECT 1 AS one');
out('primary', p.one);

const r1 = await cluster.getConnection('replica'); // REPLICA-LINE
const r2 = await cluster.getConnection('replica'); // REPLICA-LINE-2
const [[r]] = await r1.query('SELECT 2 AS two');
out('replica', r.two, r1.threadId !== r2.threadId);
await new Promise((resolve) => setTimeout(resolve, Number(process.env.HOLD_MS ?? 0)));
r1.release();
r2.release();
primary.release();

await cluster.end();
out('ended');
process.exitCode = 3;
