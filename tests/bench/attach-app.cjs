// The app of the attach bench (tests/bench/attach.ts): a pool of 10 serving SELECT 1 to
// `c` clients back to back for `s` seconds, per line on stdin; one JSON line back per run.
// The bench starts it bare, with the agent watched by Poolscope, and with the agent alone.
const readline = require('node:readline');

const [driver] = process.argv.slice(2);
const url = process.env.APP_DB_URL;

function makePool() {
  if (driver === 'pg') {
    const pg = require('pg');
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    return {
      async request() {
        const client = await pool.connect();
        try {
          await client.query('SELECT 1');
        } finally {
          client.release();
        }
      },
    };
  }
  const mysql = require('mysql2/promise');
  const pool = mysql.createPool({ uri: url, connectionLimit: 10 });
  return {
    async request() {
      const conn = await pool.getConnection();
      try {
        await conn.query('SELECT 1');
      } finally {
        conn.release();
      }
    },
  };
}

const pool = makePool();

async function closedLoop(concurrency, seconds) {
  let requests = 0;
  let failed = 0;
  let firstError;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const until = started + seconds * 1000;
  const client = async () => {
    while (performance.now() < until) {
      try {
        await pool.request();
        requests++;
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const used = process.cpuUsage(cpu);
  return { requests, failed, firstError, seconds: (performance.now() - started) / 1000, cpuUs: used.user + used.system };
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const { c, s } = JSON.parse(line);
  process.stdout.write(`${JSON.stringify(await closedLoop(c, s))}\n`);
});
lines.on('close', () => process.exit(0));
