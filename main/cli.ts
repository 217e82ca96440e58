// Headless entry: `poolscope watch [--target URL]` starts the engine (on the embedded
// PostgreSQL when no target is given) and prints the pool's state once a second;
// `poolscope web` serves the UI to a browser instead of Electron's window;
// `poolscope run` plays a scenario with no window (a CI check), `poolscope list` lists the built-ins.
import { open, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCENARIO_FILE_MAX } from '../shared/api';
import type { PoolEvent } from '../shared/events';
import { protectionLine } from '../shared/protection';
import type { Scenario } from '../shared/scenario';
import { poolCounts } from '../shared/snapshot';
import { quantile } from '../shared/histogram';
import { FINGERPRINT, type TargetFields } from '../shared/target-schema';
import { Engine } from './engine/engine';
import { PoolscopeError, maskTarget, messageOf, redactUrls } from './engine/errors';
import { urlToFields } from './engine/target-spec';
import { NO_SECRET_BOX, SavedTargets, defaultSavedTargetsFile } from './engine/saved-targets';
import { BUILT_IN_NAMES, builtIn, builtInInfos } from './engine/scenarios/builtins';
import { type RunReport, runHeadless } from './engine/scenarios/headless';
import { PoolscopeService, scenarioFrom } from './engine/service';
import { type MetricsOptions, attach } from './attach-command';
import { type CheckOptions, check, parseCheckOptions } from './check-command';
import { startAttachServer } from './engine/attach/attach-server';
import { startEngineMetrics } from './engine/pool-metrics';
import { openBrowser } from './web/open-browser';
import { type WebHost, WebHostError, assertBuilt, startWebHost } from './web/web-host';
import { indented, oneLine, printable, terminalJson } from './terminal-text';

const USAGE = `Usage: poolscope watch [--target URL | --target-file FILE] [SSH options]
       poolscope web [--port N] [--target URL | --target-file FILE] [SSH options] [--no-open] [metrics options]
       poolscope run <built-in | file.json> [--target URL | --target-file FILE] [SSH options] [--allow-sql] [--json] [--record FILE]
       poolscope list [--json]
       poolscope attach [--site-budget N|all] [metrics options] -- <command> [args…]
       poolscope check [--timeout 10m] [--hold-threshold 5s] [--allow KIND]… [--max-leaks N] [--json FILE] [--junit FILE] -- <command> [args…]

  watch   start the pool on the target and print its state every second (Ctrl+C stops)
  web     start the pool and serve the UI to a browser on 127.0.0.1 (Ctrl+C stops)
  run     play a scenario with no window: each step and expect with its outcome.
          Exit code 0: all passed; 1: an expect (or a wait until) failed;
          2: the scenario cannot run (bad file, SQL not allowed, target unreachable, a step refused)
  list    the built-in scenarios
  attach  run a command (node app.js, npm run dev…) with Poolscope's agent in its Node
          processes: their pg and mysql2 pools appear in Poolscope (started for the run
          when none is running). Same output and exit code; one summary line on stderr.
          Also: node --import poolscope/attach app.js. See docs/attach.md.
          --site-budget N|all: capture at most N call sites per second per process
          (default 100; each costs the app about 20 µs); borrowers beyond it show
          "not sampled". all: every borrow's.
  check   run a command (npm test, node --test, vitest run…) with the agent and fail on what
          its pools leave behind: connections still borrowed at pool end or exit (leak), held
          past --hold-threshold (long-hold), returned in a transaction (dirty-return),
          transactions open at exit (open-transaction), borrowers timed out (timeout), pools
          never ended (unended-pool), each at its call site. Exit code: the command's when it
          failed, 124 when it did not end within --timeout (then ended), 3 on findings not
          allowed (--allow KIND, --max-leaks N). See docs/check.md.

  --target URL        postgres://user:password@host:5432/db or mysql://user:password@host:3306/db.
                      A password on the command line is visible to other users (ps): prefer
  --target-file FILE  a file holding the URL (keep it private: chmod 600), or
  POOLSCOPE_TARGET    the URL in this environment variable (used when neither option is given).
                      Without a target, an embedded PostgreSQL with a demo schema is started
                      (run: the scenario file's own target).
                      TLS in the URL: sslmode=disable|allow|prefer|require|verify-ca|verify-full
                      (MySQL: ssl-mode=REQUIRED|VERIFY_CA|VERIFY_IDENTITY, ssl=true), and
                      sslrootcert=FILE (ssl-ca), sslcert=FILE and sslkey=FILE (ssl-cert, ssl-key).
                      See docs/remote-databases.md.
  --ssh USER@HOST[:PORT]   reach the database through this SSH host (port 22 by default)
  --ssh-key FILE           with this private key (its passphrase, if any, from
                           POOLSCOPE_SSH_PASSPHRASE)
  --ssh-agent              with the keys of the running SSH agent (SSH_AUTH_SOCK)
  --ssh-host-key SHA256:…  the SSH host key to accept when known_hosts does not list it;
                           without it an unknown host key is refused, with its fingerprint
  --allow-sql         run: let a scenario file send its own SQL (tx.run steps, custom load
                      queries). A scenario file is code: without this, one with SQL is refused
                      and its SQL listed. Built-in scenarios need no flag.
  --port N            web: the port to listen on (default: a free one)
  --no-open           web: print the URL but do not open a browser
  --json              run, list: one JSON object on stdout (steps, expects, outcomes, counters)
  --record FILE       run: write a recording of the run (events, snapshot, notes) to FILE

Metrics options (web: Poolscope's own pools; attach: each process of the command that makes
a pool), OpenTelemetry's db.client.connection.* metrics, off unless given (docs/metrics.md):
  --metrics-port N        a Prometheus scrape endpoint at http://127.0.0.1:N/metrics
  --metrics-host HOST     the address it listens on instead of 127.0.0.1
  --metrics-otlp URL      push to an OTLP/HTTP collector, e.g. http://collector:4318/v1/metrics
  --metrics-leak-ms N     attach: a connection held this long counts as leaked (default 10000)`;

// Everything printed goes through printable(): a scenario file's text (and what a database
// answered it) must not drive the terminal.
function say(text: string): void {
  console.log(printable(text));
}

function warn(text: string): void {
  console.error(printable(text));
}

/** Why the engine did not start: its own message (a target in it is masked), else any URL in the text masked. */
function startFailure(err: unknown): string {
  return err instanceof PoolscopeError ? err.message : `could not start: ${redactUrls(messageOf(err))}`;
}

/** Exit code 2: nothing could run (bad usage, a target or file that cannot be used); `run` keeps 1 for a failed expect. */
function fail(message: string): never {
  warn(`poolscope: ${message}`);
  process.exit(2);
}

/** The target the options name: a URL, or fields when it goes through SSH. */
type Target = string | TargetFields | undefined;

/** How the active pool's connections are protected: the first line once connected. */
function protectionOf(engine: Engine): string {
  const pool = engine.pool;
  return `poolscope: ${protectionLine(pool.target, engine.log.live.pools[pool.id]?.tlsSession ?? null, Date.now())}`;
}

/** A file's text; a RangeError past `max` bytes, without reading the rest (a huge file, /dev/zero). */
async function readCapped(file: string, max: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(max + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > max) throw new RangeError(`more than ${max} bytes`);
    return buffer.subarray(0, filled).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * The target: --target, --target-file or POOLSCOPE_TARGET (in that order; the options
 * exclude each other); undefined for the default. Never echoes what it read: it holds a password.
 */
async function targetUrl(url: string | undefined, file: string | undefined): Promise<string | undefined> {
  if (url !== undefined && file !== undefined) fail('give --target or --target-file, not both.');
  if (url !== undefined) return url;
  if (file !== undefined) {
    let text: string;
    try {
      text = (await readCapped(file, 64 * 1024)).trim();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const why = err instanceof RangeError ? 'it is too large for a URL' : code === 'ENOENT' ? 'no such file' : messageOf(err);
      return fail(`--target-file ${file} cannot be read: ${why}.`);
    }
    if (text === '' || text.includes('\n')) fail(`--target-file ${file} must hold one database URL on one line.`);
    const { mode } = await stat(file);
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) warn(`poolscope: note: ${file} can be read by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it.`);
    return text;
  }
  const env = process.env.POOLSCOPE_TARGET?.trim();
  return env ? env : undefined;
}

async function watch(target: Target): Promise<void> {
  const engine = new Engine({ target });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('poolscope: stopping…');
    await engine.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);

  engine.log.subscribe((ev) => {
    if (ev.type === 'embedded.progressed') say(`poolscope: embedded PostgreSQL ${ev.phase}: ${ev.message}`);
  }, { summaries: true });
  try {
    await engine.start();
  } catch (err) {
    fail(startFailure(err));
  }
  const e = engine;
  const pool = e.pool;
  const info = e.log.live.pools[pool.id];
  say(protectionOf(e));
  say(`poolscope: watching ${pool.target.display} (${info?.serverVersion ?? 'unknown version'}), pool max ${pool.settings.max}. Ctrl+C stops.`);
  setInterval(() => {
    const s = e.log.live;
    const c = poolCounts(s, pool.id);
    const p99 = quantile(s.acquireWait, 0.99);
    say(
      `total ${c.total}/${c.max}  idle ${c.idle}  borrowed ${c.borrowed}  connecting ${c.connecting}  waiting ${c.waiting}` +
        `  | acquired ${s.counters.acquired}  timed out ${s.counters.timedOut}  statements ${s.counters.statements}` +
        (p99 === null ? '' : `  wait p99 ${p99.toFixed(1)} ms`),
    );
  }, 1_000);
}

// The built renderer (npm run build); npm start builds before it runs.
const RENDERER_DIR = join(import.meta.dirname, '..', 'out', 'renderer');

async function web(target: Target, port: number, open: boolean, metricsOpts: MetricsOptions): Promise<void> {
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
    say('poolscope: stopping…');
    let code = 0;
    try {
      await host?.close();
      await agents.close();
      await metrics?.stop();
      await service.stop();
    } catch (err) {
      warn(`poolscope: while stopping: ${messageOf(err)}`);
      code = 1;
    }
    process.exit(code);
  };
  // A signal while the engine starts waits for it, so the embedded database is not left behind.
  let started: Promise<unknown> = Promise.resolve();
  const onSignal = () => void started.then(stop, stop);
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

  engine.log.subscribe((ev) => {
    if (ev.type === 'embedded.progressed') say(`poolscope: embedded PostgreSQL ${ev.phase}: ${ev.message}`);
  }, { summaries: true });
  // Listen first: a taken port fails at once, not after the database started. Nobody has
  // the URL (the token) before the engine is up and the line below is printed.
  try {
    host = await startWebHost({ service, root: RENDERER_DIR, port });
  } catch (err) {
    fail(err instanceof WebHostError ? err.message : `could not start the web host: ${messageOf(err)}`);
  }
  // Apps under `poolscope attach` (or node --import poolscope/attach) find this host through the attach file.
  const agents = await startAttachServer({ log: engine.log, clock: engine.clock, newPoolId: () => engine.newPoolId() });
  // Before the engine starts: the metrics follow its pools from their creation.
  const metrics = metricsOpts.port !== undefined || metricsOpts.otlp !== undefined ? startEngineMetrics(engine.log, metricsOpts, (m) => warn(`poolscope: ${m}`)) : null;
  if (metricsOpts.port !== undefined) say(`poolscope: pool metrics for Prometheus at http://${metricsOpts.host ?? '127.0.0.1'}:${metricsOpts.port}/metrics`);
  if (metricsOpts.otlp !== undefined) say(`poolscope: pool metrics pushed to ${redactUrls(metricsOpts.otlp)} every 10 s`);
  try {
    started = engine.start();
    await started;
  } catch (err) {
    await host.close();
    fail(startFailure(err));
  }
  const pool = engine.pool;
  const info = engine.log.live.pools[pool.id];
  say(protectionOf(engine));
  say(`poolscope: serving ${pool.target.display} (${info?.serverVersion ?? 'unknown version'}), pool max ${pool.settings.max}. Ctrl+C stops.`);
  say(`poolscope: open ${host.url}`);
  const headless = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
  if (open && !process.env.CI && !headless) openBrowser(host.url);
}

/** A built-in by name, else a file (at most 1 MB, as in the app); a problem exits 2 with what to check. */
async function loadScenario(arg: string): Promise<{ scenario: Scenario; builtIn: boolean }> {
  const named = builtIn(arg);
  if (named) return { scenario: named, builtIn: true };
  let text: string;
  try {
    text = await readCapped(arg, SCENARIO_FILE_MAX);
  } catch (err) {
    if (err instanceof RangeError) return fail(`"${arg}" is larger than 1 MB: a scenario file must be under 1 MB (as in the app).`);
    const code = (err as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'no such file' : messageOf(err);
    return fail(`"${arg}" is neither a built-in scenario (${BUILT_IN_NAMES.join(', ')}) nor a readable file: ${why}.`);
  }
  try {
    return { scenario: scenarioFrom(text, basename(arg)), builtIn: false };
  } catch (err) {
    return fail(messageOf(err));
  }
}

const STATUS_MARK = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip', pending: '    ', running: '..  ' } as const;

/** A step's continuation lines: indented below its number, so a file's text cannot pass for a line of ours. */
const DETAIL = ' '.repeat(11);

/** The run as it happens: how the target is protected once it answered, then one line per finished step (notes in full). */
function eventPrinter(scenario: Scenario): (e: PoolEvent) => void {
  let created: Extract<PoolEvent, { type: 'pool.created' }> | null = null;
  let connected = false;
  return (e) => {
    if (e.type === 'pool.created' && !connected) created = e;
    else if (e.type === 'pool.verified' && !connected && created?.poolId === e.poolId) {
      connected = true;
      say(`poolscope: ${protectionLine(created.target, e.tls, Date.now())}`);
      say(`poolscope: ${oneLine(scenario.name)}: ${oneLine(scenario.title)}`);
    } else printEvent(e);
  };
}

/** One line per finished step (notes in full). */
function printEvent(e: PoolEvent): void {
  if (e.type === 'embedded.progressed') say(`poolscope: embedded PostgreSQL ${e.phase}: ${e.message}`);
  else if (e.type === 'scenario.noted') say(`       > ${indented(e.text, '         ')}`);
  else if (e.type === 'scenario.stepped' && e.outcome.status !== 'running' && e.outcome.status !== 'pending') {
    const o = e.outcome;
    const took = o.startedAt !== null && o.endedAt !== null ? ` (${Math.round(o.endedAt - o.startedAt)} ms)` : '';
    if (o.summary.startsWith('note: ')) return;
    say(`${String(o.index + 1).padStart(3)} ${STATUS_MARK[o.status]} ${oneLine(o.summary)}${took}${o.message ? `\n${DETAIL}${indented(o.message, DETAIL)}` : ''}`);
  }
}

function printSummary(r: RunReport): void {
  for (const s of r.steps.filter((x) => x.status === 'skipped')) say(`${String(s.index + 1).padStart(3)} ${STATUS_MARK.skipped} ${oneLine(s.summary)}`);
  const expects = r.expects.length;
  const passedExpects = r.expects.filter((x) => x.passed).length;
  if (r.counters) {
    const c = r.counters;
    say(`counters: acquired ${c.acquired}, released ${c.released}, timed out ${c.timedOut}, failed ${c.failed}, opened ${c.opened}, closed ${c.closed}, leaks flagged ${c.leaksFlagged}, statements ${c.statements}`);
  }
  const name = oneLine(r.scenario.name);
  if (r.error) warn(`poolscope: ${name}: ${indented(r.error, '  ')}`);
  else say(`${r.passed ? 'PASSED' : 'FAILED'}: ${name} on ${oneLine(r.target ?? '')}: ${passedExpects} of ${expects} expects passed`);
}

async function run(arg: string | undefined, target: Target, opts: { allowSql: boolean; json: boolean; recordTo: string | undefined }): Promise<void> {
  const { json, recordTo } = opts;
  if (!arg) fail(`run needs a built-in name or a scenario file.\n${USAGE}`);
  const { scenario, builtIn: trusted } = await loadScenario(arg);
  const { report, recording } = await runHeadless(scenario, {
    target,
    allowSql: trusted || opts.allowSql,
    record: recordTo !== undefined,
    onEvent: json ? undefined : eventPrinter(scenario),
    onTargetMismatch: (text) => warn(`poolscope: note: ${oneLine(text)}`),
  });
  if (recordTo !== undefined && recording) {
    try {
      await writeFile(recordTo, recording);
      if (!json) say(`poolscope: recording written to ${recordTo} (${(Buffer.byteLength(recording) / 2 ** 20).toFixed(1)} MB)`);
    } catch (err) {
      report.exitCode = 2;
      report.error = `the recording could not be written to ${recordTo}: ${messageOf(err)}`;
    }
  }
  if (json) console.log(terminalJson(report));
  else printSummary(report);
  process.exit(report.exitCode);
}

function list(json: boolean): void {
  const infos = builtInInfos();
  if (json) return console.log(JSON.stringify(infos, null, 2));
  const width = Math.max(...infos.map((i) => i.name.length));
  for (const i of infos) {
    const only = i.engines.length === 1 ? ` [${i.engines[0] === 'postgres' ? 'PostgreSQL' : 'MySQL'} only]` : '';
    say(`${i.name.padEnd(width)}  ${i.title}${only}`);
  }
  say(`\nRun one with: poolscope run <name> [--target URL | --target-file FILE] [--json] [--record FILE]`);
}

/**
 * --target, with --ssh and its options when given. A URL alone stays a URL; through SSH it
 * becomes fields (a URL has no place for the SSH leg). The key's passphrase comes from the
 * environment, never from the command line (where ps would show it).
 */
function targetOption(v: { target?: string; ssh?: string; 'ssh-key'?: string; 'ssh-agent'?: boolean; 'ssh-host-key'?: string }): Target {
  const sshOnly = (['ssh-key', 'ssh-agent', 'ssh-host-key'] as const).filter((k) => v[k] !== undefined);
  if (!v.ssh) {
    if (sshOnly.length > 0) fail(`--${sshOnly[0]} needs --ssh USER@HOST[:PORT].`);
    return v.target;
  }
  if (!v.target) fail('--ssh needs --target URL: the database as the SSH host reaches it.');
  const m = /^([^@\s]+)@(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(v.ssh);
  if (!m) fail(`--ssh must look like USER@HOST or USER@HOST:PORT, not "${v.ssh}".`);
  const port = m[3] === undefined ? 22 : Number(m[3]);
  if (port < 1 || port > 65_535) fail(`--ssh: the port must be from 1 to 65535, not ${m[3]}.`);
  if (v['ssh-key'] && v['ssh-agent']) fail('--ssh-key and --ssh-agent: give one of them.');
  if (!v['ssh-key'] && !v['ssh-agent']) fail('--ssh needs --ssh-key FILE or --ssh-agent.');
  const hostKey = v['ssh-host-key'];
  if (hostKey !== undefined && !FINGERPRINT.test(hostKey)) fail(`--ssh-host-key must be a fingerprint such as SHA256: followed by 43 base64 characters (ssh-keygen -lf prints it), not "${hostKey}".`);
  let fields: TargetFields;
  try {
    fields = urlToFields(v.target);
  } catch (err) {
    return fail(messageOf(err));
  }
  const passphrase = process.env.POOLSCOPE_SSH_PASSPHRASE;
  return {
    ...fields,
    ssh: {
      host: (m[2] as string).replace(/^\[(.*)\]$/, '$1'),
      port,
      user: m[1] as string,
      auth: v['ssh-agent'] ? 'agent' : 'key',
      ...(v['ssh-key'] ? { keyFile: v['ssh-key'] } : {}),
      ...(passphrase ? { passphrase } : {}),
      ...(hostKey ? { hostKey } : {}),
    },
  };
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

const METRICS_OPTIONS = {
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  'metrics-otlp': { type: 'string' },
  'metrics-leak-ms': { type: 'string' },
} as const;

/** The metrics options checked: a bad one exits 2 with what to give instead. */
function metricsOptions(v: { 'metrics-port'?: string; 'metrics-host'?: string; 'metrics-otlp'?: string; 'metrics-leak-ms'?: string }): MetricsOptions {
  const m: MetricsOptions = {};
  const port = v['metrics-port'];
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65_535) fail(`--metrics-port must be a whole number from 1 to 65535, not "${port}".`);
    m.port = Number(port);
  }
  const host = v['metrics-host'];
  if (host !== undefined) {
    if (port === undefined) fail('--metrics-host needs --metrics-port N.');
    if (!/^[\w.:-]+$/.test(host)) fail(`--metrics-host must be an address or host name such as 0.0.0.0 or ::1, not "${oneLine(host)}".`);
    m.host = host;
  }
  const otlp = v['metrics-otlp'];
  if (otlp !== undefined) {
    let url: URL | null = null;
    try {
      url = new URL(otlp);
    } catch {
      // Refused below with what to give.
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail(`--metrics-otlp must be an http(s) URL of an OTLP/HTTP collector, such as http://127.0.0.1:4318/v1/metrics, not "${redactUrls(oneLine(otlp))}".`);
    m.otlp = otlp;
  }
  const leak = v['metrics-leak-ms'];
  if (leak !== undefined) {
    if (!/^\d+$/.test(leak) || Number(leak) < 1) fail(`--metrics-leak-ms must be a whole number of milliseconds above 0, not "${leak}".`);
    m.leakMs = Number(leak);
  }
  return m;
}

// attach passes everything after `--` to the command untouched.
if (process.argv[2] === 'attach') {
  const dash = process.argv.indexOf('--');
  const command = dash > 0 ? process.argv.slice(dash + 1) : [];
  if (command.length === 0) fail(`attach needs a command after --, e.g. poolscope attach -- node server.js\n${USAGE}`);
  const own = (() => {
    try {
      return parseArgs({ args: process.argv.slice(3, dash), options: { ...METRICS_OPTIONS, 'site-budget': { type: 'string' } } }).values;
    } catch (err) {
      return fail(`${messageOf(err)}\n${USAGE}`);
    }
  })();
  const budget = own['site-budget'];
  if (budget !== undefined && budget !== 'all' && (!/^\d+$/.test(budget) || Number(budget) < 1 || !Number.isSafeInteger(Number(budget)))) {
    fail(`--site-budget must be a whole number of call sites per second from 1, such as 100, or all, not "${oneLine(budget)}".`);
  }
  process.exit(await attach(command, { rendererDir: RENDERER_DIR, say: warn, metrics: metricsOptions(own), siteBudget: budget }));
}

if (process.argv[2] === 'check') {
  const dash = process.argv.indexOf('--');
  const command = dash > 0 ? process.argv.slice(dash + 1) : [];
  if (command.length === 0) fail(`check needs a command after --, e.g. poolscope check -- npm test\n${USAGE}`);
  let options: CheckOptions;
  try {
    options = parseCheckOptions(process.argv.slice(3, dash));
  } catch (err) {
    fail(`check: ${messageOf(err)}`);
  }
  process.exit(await check(command, options, warn));
}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        target: { type: 'string' },
        ssh: { type: 'string' },
        'ssh-key': { type: 'string' },
        'ssh-agent': { type: 'boolean' },
        'ssh-host-key': { type: 'string' },
        'target-file': { type: 'string' },
        'allow-sql': { type: 'boolean' },
        port: { type: 'string' },
        'no-open': { type: 'boolean' },
        json: { type: 'boolean' },
        record: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...METRICS_OPTIONS,
      },
    });
  } catch (err) {
    return fail(`${messageOf(err)}\n${USAGE}`);
  }
})();

const [command] = positionals;
const metricsFlag = Object.keys(METRICS_OPTIONS).find((k) => values[k as keyof typeof METRICS_OPTIONS] !== undefined);
if (metricsFlag && command !== 'web') fail(`--${metricsFlag} applies to web and attach only.`);
// Poolscope's own pools count as leaked what its Leaks panel's threshold flags.
if (values['metrics-leak-ms'] !== undefined) fail("--metrics-leak-ms applies to attach only: web counts the holders its leak threshold flags (set in the Leaks panel).");
if (values.help || command === undefined) {
  say(USAGE);
} else if (command === 'watch') {
  await watch(targetOption({ ...values, target: await targetUrl(values.target, values['target-file']) }));
} else if (command === 'web') {
  await web(targetOption({ ...values, target: await targetUrl(values.target, values['target-file']) }), portOption(values.port), !values['no-open'], metricsOptions(values));
} else if (command === 'run') {
  await run(positionals[1], targetOption({ ...values, target: await targetUrl(values.target, values['target-file']) }), { allowSql: values['allow-sql'] ?? false, json: values.json ?? false, recordTo: values.record });
} else if (command === 'list') {
  list(values.json ?? false);
} else {
  fail(`unknown command "${maskTarget(command)}".\n${USAGE}`);
}
