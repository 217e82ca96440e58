// Headless entry: `poolscope watch [--target URL]` starts the engine (on the embedded
// PostgreSQL when no target is given) and prints the pool's state once a second.
import { parseArgs } from 'node:util';
import { poolCounts } from '../shared/snapshot';
import { quantile } from '../shared/histogram';
import { Engine } from './engine/engine';
import { PoolscopeError, messageOf } from './engine/errors';

const USAGE = `Usage: poolscope watch [--target URL]

  watch   start the pool on the target and print its state every second (Ctrl+C stops)

  --target URL   postgres://user:password@host:5432/db or mysql://user:password@host:3306/db;
                 without it, an embedded PostgreSQL with a demo schema is started.`;

function fail(message: string): never {
  console.error(`poolscope: ${message}`);
  process.exit(1);
}

async function watch(target: string | undefined): Promise<void> {
  const engine = new Engine({ target });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('poolscope: stopping…');
    await engine.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);

  engine.log.subscribe((ev) => {
    if (ev.type === 'embedded.progressed') console.log(`poolscope: embedded PostgreSQL ${ev.phase}: ${ev.message}`);
  });
  try {
    await engine.start();
  } catch (err) {
    fail(err instanceof PoolscopeError ? err.message : `could not start: ${messageOf(err)}`);
  }
  const e = engine;
  const pool = e.pool;
  const info = e.log.live.pools[pool.id];
  console.log(`poolscope: watching ${pool.target.display} (${info?.serverVersion ?? 'unknown version'}), pool max ${pool.settings.max}. Ctrl+C stops.`);
  setInterval(() => {
    const s = e.log.live;
    const c = poolCounts(s, pool.id);
    const p99 = quantile(s.acquireWait, 0.99);
    console.log(
      `total ${c.total}/${c.max}  idle ${c.idle}  borrowed ${c.borrowed}  connecting ${c.connecting}  waiting ${c.waiting}` +
        `  | acquired ${s.counters.acquired}  timed out ${s.counters.timedOut}  statements ${s.counters.statements}` +
        (p99 === null ? '' : `  wait p99 ${p99.toFixed(1)} ms`),
    );
  }, 1_000);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({ allowPositionals: true, options: { target: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    return fail(`${messageOf(err)}\n${USAGE}`);
  }
})();

const [command] = positionals;
if (values.help || command === undefined) {
  console.log(USAGE);
} else if (command === 'watch') {
  await watch(values.target);
} else {
  fail(`unknown command "${command}".\n${USAGE}`);
}
