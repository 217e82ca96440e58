// A CommonJS app serving load through pg.Pool until its stdin ends, run by
// tests/integration/attach-soak.test.ts while Poolscope closes and reopens: it counts every
// request that failed, samples its heap after a full GC (run it with --expose-gc) every
// SAMPLE_MS, and prints {ok, failed, heap} as JSON.
const pg = require('pg');

const pool = new pg.Pool({ connectionString: process.env.APP_DB_URL, max: 2 });
// The test ends stdin after its last cycle: a fixed duration ran out before the 40th
// reattach of a 10-minute soak, each reattach taking the agent's retry delay on top.
let running = true;
process.stdin.on('end', () => (running = false)).resume();
const pause = () => new Promise((r) => setTimeout(r, 2));
let ok = 0;
let failed = 0;
const heap = [];

async function client() {
  while (running) {
    try {
      await pool.query('SELECT 1');
      ok++;
    } catch {
      failed++;
    }
    await pause();
  }
}

const sampler = setInterval(() => {
  global.gc();
  heap.push(process.memoryUsage().heapUsed);
}, Number(process.env.SAMPLE_MS ?? 5000));

Promise.all(Array.from({ length: 4 }, client))
  .then(() => {
    clearInterval(sampler);
    return pool.end();
  })
  .then(() => console.log(JSON.stringify({ ok, failed, heap })));
