// Headless entry: `poolscope watch [--target URL]` starts the engine (on the embedded
// PostgreSQL when no target is given) and prints the pool's state once a second;
// `poolscope web` serves the UI to a browser instead of Electron's window;
// `poolscope run` plays a scenario with no window (a CI check), `poolscope list` lists the built-ins.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PoolEvent } from '../shared/events';
import type { Scenario } from '../shared/scenario';
import { poolCounts } from '../shared/snapshot';
import { quantile } from '../shared/histogram';
import { Engine } from './engine/engine';
import { PoolscopeError, messageOf } from './engine/errors';
import { NO_SECRET_BOX, SavedTargets, defaultSavedTargetsFile } from './engine/saved-targets';
import { BUILT_IN_NAMES, builtIn, builtInInfos } from './engine/scenarios/builtins';
import { type RunReport, runHeadless } from './engine/scenarios/headless';
import { PoolscopeService, scenarioFrom } from './engine/service';
import { openBrowser } from './web/open-browser';
import { type WebHost, WebHostError, assertBuilt, startWebHost } from './web/web-host';

const USAGE = `Usage: poolscope watch [--target URL]
       poolscope web [--port N] [--target URL] [--no-open]
       poolscope run <built-in | file.json> [--target URL] [--json] [--record FILE]
       poolscope list [--json]

  watch   start the pool on the target and print its state every second (Ctrl+C stops)
  web     start the pool and serve the UI to a browser on 127.0.0.1 (Ctrl+C stops)
  run     play a scenario with no window: each step and expect with its outcome.
          Exit code 0: all passed; 1: an expect (or a wait until) failed;
          2: the scenario cannot run (bad file, target unreachable, a step refused)
  list    the built-in scenarios

  --target URL   postgres://user:password@host:5432/db or mysql://user:password@host:3306/db;
                 without it, an embedded PostgreSQL with a demo schema is started.
  --port N       web: the port to listen on (default: a free one)
  --no-open      web: print the URL but do not open a browser
  --json         run, list: one JSON object on stdout (steps, expects, outcomes, counters)
  --record FILE  run: write a recording of the run (events, snapshot, notes) to FILE`;

/** Exit code 2: nothing could run (bad usage, a target or file that cannot be used); `run` keeps 1 for a failed expect. */
function fail(message: string): never {
  console.error(`poolscope: ${message}`);
  process.exit(2);
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

/** A built-in by name, else a file; a problem exits 2 with what to check. */
async function loadScenario(arg: string): Promise<Scenario> {
  const named = builtIn(arg);
  if (named) return named;
  let text: string;
  try {
    text = await readFile(arg, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'no such file' : messageOf(err);
    return fail(`"${arg}" is neither a built-in scenario (${BUILT_IN_NAMES.join(', ')}) nor a readable file: ${why}.`);
  }
  try {
    return scenarioFrom(text, basename(arg));
  } catch (err) {
    return fail(messageOf(err));
  }
}

const STATUS_MARK = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip', pending: '    ', running: '..  ' } as const;

/** The run as it happens, one line per finished step (notes in full). */
function printEvent(e: PoolEvent): void {
  if (e.type === 'embedded.progressed') console.log(`poolscope: embedded PostgreSQL ${e.phase}: ${e.message}`);
  else if (e.type === 'scenario.noted') console.log(`       > ${e.text}`);
  else if (e.type === 'scenario.stepped' && e.outcome.status !== 'running' && e.outcome.status !== 'pending') {
    const o = e.outcome;
    const took = o.startedAt !== null && o.endedAt !== null ? ` (${Math.round(o.endedAt - o.startedAt)} ms)` : '';
    if (o.summary.startsWith('note: ')) return;
    console.log(`${String(o.index + 1).padStart(3)} ${STATUS_MARK[o.status]} ${o.summary}${took}${o.message ? `\n           ${o.message}` : ''}`);
  }
}

function printSummary(r: RunReport): void {
  for (const s of r.steps.filter((x) => x.status === 'skipped')) console.log(`${String(s.index + 1).padStart(3)} ${STATUS_MARK.skipped} ${s.summary}`);
  const expects = r.expects.length;
  const passedExpects = r.expects.filter((x) => x.passed).length;
  if (r.counters) {
    const c = r.counters;
    console.log(`counters: acquired ${c.acquired}, released ${c.released}, timed out ${c.timedOut}, failed ${c.failed}, opened ${c.opened}, closed ${c.closed}, leaks flagged ${c.leaksFlagged}, statements ${c.statements}`);
  }
  if (r.error) console.error(`poolscope: ${r.scenario.name}: ${r.error}`);
  else console.log(`${r.passed ? 'PASSED' : 'FAILED'}: ${r.scenario.name} on ${r.target}: ${passedExpects} of ${expects} expects passed`);
}

async function run(arg: string | undefined, target: string | undefined, json: boolean, recordTo: string | undefined): Promise<void> {
  if (!arg) fail(`run needs a built-in name or a scenario file.\n${USAGE}`);
  const scenario = await loadScenario(arg);
  if (!json) console.log(`poolscope: ${scenario.name}: ${scenario.title}`);
  const { report, recording } = await runHeadless(scenario, { target, record: recordTo !== undefined, onEvent: json ? undefined : printEvent });
  if (recordTo !== undefined && recording) {
    try {
      await writeFile(recordTo, JSON.stringify(recording));
      if (!json) console.log(`poolscope: recording written to ${recordTo} (${recording.events.length} events)`);
    } catch (err) {
      report.exitCode = 2;
      report.error = `the recording could not be written to ${recordTo}: ${messageOf(err)}`;
    }
  }
  if (json) console.log(JSON.stringify(report, null, 2));
  else printSummary(report);
  process.exit(report.exitCode);
}

function list(json: boolean): void {
  const infos = builtInInfos();
  if (json) return console.log(JSON.stringify(infos, null, 2));
  const width = Math.max(...infos.map((i) => i.name.length));
  for (const i of infos) {
    const only = i.engines.length === 1 ? ` [${i.engines[0] === 'postgres' ? 'PostgreSQL' : 'MySQL'} only]` : '';
    console.log(`${i.name.padEnd(width)}  ${i.title}${only}`);
  }
  console.log(`\nRun one with: poolscope run <name> [--target URL] [--json] [--record FILE]`);
}

function portOption(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65_535) fail(`--port must be a whole number from 0 to 65535, not "${raw}".`);
  return n;
}

// `poolscope list | head`: the reader left; that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        target: { type: 'string' },
        port: { type: 'string' },
        'no-open': { type: 'boolean' },
        json: { type: 'boolean' },
        record: { type: 'string' },
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
} else if (command === 'run') {
  await run(positionals[1], values.target, values.json ?? false, values.record);
} else if (command === 'list') {
  list(values.json ?? false);
} else {
  fail(`unknown command "${command}".\n${USAGE}`);
}
