// Headless entry: `poolscope watch [--target URL]` starts the engine (on the embedded
// PostgreSQL when no target is given) and prints the pool's state once a second;
// `poolscope web` serves the UI to a browser instead of Electron's window.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { poolCounts } from '../shared/snapshot';
import { quantile } from '../shared/histogram';
import { Engine } from './engine/engine';
import { PoolscopeError, messageOf } from './engine/errors';
import { NO_SECRET_BOX, SavedTargets, defaultSavedTargetsFile } from './engine/saved-targets';
import { PoolscopeService } from './engine/service';
import { type WebHost, WebHostError, assertBuilt, startWebHost } from './web/web-host';

const USAGE = `Usage: poolscope watch [--target URL]
       poolscope web [--port N] [--target URL] [--no-open]

  watch   start the pool on the target and print its state every second (Ctrl+C stops)
  web     start the pool and serve the UI to a browser on 127.0.0.1 (Ctrl+C stops)

  --target URL   postgres://user:password@host:5432/db or mysql://user:password@host:3306/db;
                 without it, an embedded PostgreSQL with a demo schema is started.
  --port N       web: the port to listen on (default: a free one)
  --no-open      web: print the URL but do not open a browser`;

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

// The built renderer (npm run build); npm start builds before it runs.
const RENDERER_DIR = join(import.meta.dirname, '..', 'out', 'renderer');

// Opens the default browser, detached; a failure only means the user opens the URL.
function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore', windowsVerbatimArguments: process.platform === 'win32' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no opener installed: the printed URL is enough
  }
}

async function web(target: string | undefined, port: number, open: boolean): Promise<void> {
  try {
    assertBuilt(RENDERER_DIR);
  } catch (err) {
    fail(messageOf(err));
  }
  const engine = new Engine({ target });
  const service = new PoolscopeService(engine, { saved: new SavedTargets(defaultSavedTargetsFile(), NO_SECRET_BOX) });
  let host: WebHost | null = null;
  let stopping = false;
  // Stops what started, in order: the host (its sockets), then the service (load, pool, database).
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('poolscope: stopping…');
    let code = 0;
    try {
      await host?.close();
      await service.stop();
    } catch (err) {
      console.error(`poolscope: while stopping: ${messageOf(err)}`);
      code = 1;
    }
    process.exit(code);
  };
  // A signal while the engine starts waits for it, so the embedded database is not left behind.
  let started: Promise<unknown> = Promise.resolve();
  const onSignal = () => void started.then(stop, stop);
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

  engine.log.subscribe((ev) => {
    if (ev.type === 'embedded.progressed') console.log(`poolscope: embedded PostgreSQL ${ev.phase}: ${ev.message}`);
  });
  // Listen first: a taken port fails at once, not after the database started. Nobody has
  // the URL (the token) before the engine is up and the line below is printed.
  try {
    host = await startWebHost({ service, root: RENDERER_DIR, port });
  } catch (err) {
    fail(err instanceof WebHostError ? err.message : `could not start the web host: ${messageOf(err)}`);
  }
  try {
    started = engine.start();
    await started;
  } catch (err) {
    await host.close();
    fail(err instanceof PoolscopeError ? err.message : `could not start: ${messageOf(err)}`);
  }
  const pool = engine.pool;
  const info = engine.log.live.pools[pool.id];
  console.log(`poolscope: serving ${pool.target.display} (${info?.serverVersion ?? 'unknown version'}), pool max ${pool.settings.max}. Ctrl+C stops.`);
  console.log(`poolscope: open ${host.url}`);
  const headless = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
  if (open && !process.env.CI && !headless) openBrowser(host.url);
}

function portOption(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65_535) fail(`--port must be a whole number from 0 to 65535, not "${raw}".`);
  return n;
}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        target: { type: 'string' },
        port: { type: 'string' },
        'no-open': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return fail(`${messageOf(err)}\n${USAGE}`);
  }
})();

const [command] = positionals;
if (values.help || command === undefined) {
  console.log(USAGE);
} else if (command === 'watch') {
  await watch(values.target);
} else if (command === 'web') {
  await web(values.target, portOption(values.port), !values['no-open']);
} else {
  fail(`unknown command "${command}".\n${USAGE}`);
}
