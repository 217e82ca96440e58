// The attach agent's cost to the app it runs in. Copies of one small app (attach-app.cjs: a
// pool of 10 serving SELECT 1) take turns, one side each: bare, bare again (the machine's own
// noise), with the agent while Poolscope watches (an engine with the agents' listener in this
// process, folding every event into its snapshot; the agent's default site budget, 100 call
// sites a second), that with every call site captured (`attach --site-budget all`), with the
// agent and nothing listening, with the agent sending to a sink (a loopback socket that reads
// and discards: the agent's whole cost in the app, without Poolscope's CPU), and with nothing
// listening and pool metrics on (a Prometheus endpoint nobody scrapes: gauges cost only when
// collected). Each side has `attachCopies` copies, which take its rounds in turn (config.ts
// says why). Throughput ratios are each side's requests per second over the mean of the two
// bare sides', measured in interleaved rounds. With a baseline agent (another checkout's, `npm
// run bench -- --baseline DIR`), its watched and nothing-listening sides take their turns in
// the same rounds, against the same bare sides.

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { EngineKind } from '../../shared/events';
import { Engine } from '../../main/engine/engine';
import { startAttachServer } from '../../main/engine/attach/attach-server';
import type { TargetSpec } from '../../main/engine/target-spec';
import type { BenchConfig } from './config';
import { type Pinning, pinning } from './pinning';
import { type BenchServer, startOwnServer } from './servers';
import { type Ratio, ratioOf, round } from './stats';
import { freePort } from '../integration/helpers/free-port';

const ROOT = join(import.meta.dirname, '..', '..');
const APP = join(ROOT, 'tests', 'bench', 'attach-app.cjs');
const AGENT = join(ROOT, 'main', 'agent', 'agent.cjs');
const SIDES = ['bare', 'bareAgain', 'watched', 'allSites', 'alone', 'sink', 'metrics'] as const;
/** The agent's default site budget (main/agent/site-budget.cjs), which the watched side runs with. */
export const SITE_BUDGET = 100;
type Side = (typeof SIDES)[number];
type AnySide = Side | 'baselineWatched' | 'baselineAlone';

/** The baseline agent's sides of a row, against the same bare sides. */
export interface AttachBaseline {
  perSecond: { watched: number; alone: number };
  cpuUsPerRequest: { watched: number; alone: number };
  watchedRatio: Ratio;
  aloneRatio: Ratio;
}

export interface AttachRow {
  engine: EngineKind;
  driver: 'pg' | 'mysql2';
  concurrency: number;
  /** The cores the app copies (with a server of their own) and Poolscope ran on (pinning.ts), or null: wherever the OS put them. */
  pinned: { app: number; poolscope: number } | null;
  /** Requests per second of each side. */
  perSecond: Record<Side, number>;
  /** CPU time of the app's process per request, µs (user + system): steadier than throughput on a busy machine. */
  cpuUsPerRequest: Record<Side, number>;
  /**
   * CPU time of Poolscope's process (this one, hosting the engine) per request of the side
   * running meanwhile, µs: on the bare side only the bench's own, on the watched sides also the
   * engine receiving, checking and folding the agent's events. On a machine of few cores it
   * competes with the app and the database.
   */
  poolscopeCpuUsPerRequest: Record<Side, number>;
  /** The second bare copy over the first: what the machine's noise alone reads (100% on a quiet one). */
  noiseRatio: Ratio;
  /** Each side over the mean of the two bare sides, round by round: watched, allSites, alone, sink, metrics. */
  watchedRatio: Ratio;
  allSitesRatio: Ratio;
  aloneRatio: Ratio;
  sinkRatio: Ratio;
  metricsRatio: Ratio;
  /** Events the watched agents dropped (Poolscope too slow): 0 means the picture was complete. */
  dropped: number;
  /** The watched side's borrowers whose call sites were not sampled (beyond the budget), so far. */
  notSampled: number;
  baseline?: AttachBaseline;
}

function urlOf(spec: TargetSpec): string {
  const scheme = spec.engine === 'postgres' ? 'postgres' : 'mysql';
  const auth = `${encodeURIComponent(spec.user)}${spec.password ? `:${encodeURIComponent(spec.password)}` : ''}@`;
  return `${scheme}://${auth}${spec.host}:${spec.port}/${spec.database}`;
}

interface AppRun {
  requests: number;
  seconds: number;
  cpuUs: number;
}
interface AppReply extends AppRun {
  failed: number;
  firstError?: string;
}
interface SideSum extends AppRun {
  poolscopeCpuUs: number;
}

class AppProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #replies: ((line: string) => void)[] = [];

  /** `name`: the side and copy, for the message if its requests fail. */
  constructor(
    readonly name: string,
    driver: string,
    env: NodeJS.ProcessEnv,
    agent: string | null,
  ) {
    this.#child = spawn(process.execPath, [...(agent ? ['--require', agent] : []), APP, driver], { env: { ...process.env, NODE_OPTIONS: '', ...env } });
    // Forwarded, not piped: a pipe per copy into process.stderr passes its listener limit.
    this.#child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    createInterface({ input: this.#child.stdout }).on('line', (line) => this.#replies.shift()?.(line));
  }

  /** Rejects if any request failed: a side that served nothing would read as a ratio of 0. */
  run(concurrency: number, seconds: number): Promise<AppRun> {
    return new Promise((resolve, reject) => {
      this.#replies.push((line) => {
        const reply = JSON.parse(line) as AppReply;
        if (reply.failed === 0) resolve(reply);
        else reject(new Error(`bench: the attach app "${this.name}" failed ${reply.failed} of ${reply.failed + reply.requests} requests at ${concurrency} clients; the first: ${reply.firstError}`));
      });
      this.#child.stdin.write(`${JSON.stringify({ c: concurrency, s: seconds })}\n`);
    });
  }

  async end(): Promise<void> {
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.stdin.end();
    await exited;
  }
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function pick(values: Record<AnySide, number>): Record<Side, number> {
  return Object.fromEntries(SIDES.map((s) => [s, values[s]])) as Record<Side, number>;
}

/** The watched sides report to this engine; a ratio measured without them would measure nothing. */
async function attached(engine: Engine, count: number): Promise<void> {
  for (let waited = 0; Object.keys(engine.log.live.sources).length < count; waited += 50) {
    if (waited > 10_000) throw new Error(`bench: the ${count} watched apps did not all attach to Poolscope within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `baselineAgent`: another checkout's main/agent/agent.cjs (its node_modules installed),
 * measured side by side. Each row has its own app copies, warmed up first; a 1-client row runs
 * pinned (pinning.ts) on a server of its own, where the machine has two cores to pin to.
 */
export async function measureAttach(cfg: BenchConfig['overhead'], server: BenchServer, log: (line: string) => void, baselineAgent?: string): Promise<AttachRow[]> {
  const rows: AttachRow[] = [];
  for (const concurrency of cfg.concurrency.filter((c) => c <= 8)) {
    const place = concurrency === 1 ? pinning() : null;
    if (place?.pinning === null) log(`attach ${server.engine} c=1 runs unpinned: ${place.why}`);
    const pin = place?.pinning ?? null;
    if (pin === null) {
      rows.push(await measureRow(cfg, server, concurrency, null, log, baselineAgent));
      continue;
    }
    // The server and the app copies started from now on inherit the app's core.
    pin.toApp();
    try {
      const own = await startOwnServer(server.engine);
      try {
        rows.push(await measureRow(cfg, own, concurrency, pin, log, baselineAgent));
      } finally {
        await own.stop();
      }
    } finally {
      pin.restore();
    }
  }
  return rows;
}

async function measureRow(cfg: BenchConfig['overhead'], server: BenchServer, concurrency: number, pin: Pinning | null, log: (line: string) => void, baselineAgent?: string): Promise<AttachRow> {
  const dir = mkdtempSync(join(tmpdir(), 'poolscope-attach-bench-'));
  const engine = new Engine({});
  const listener = await startAttachServer({ log: engine.log, clock: engine.clock, newPoolId: () => engine.newPoolId(), file: join(dir, 'attach.json') });
  const driver = server.engine === 'postgres' ? 'pg' : 'mysql2';
  const env = { APP_DB_URL: urlOf(server.spec) };
  const watched = { ...env, POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json') };
  const alone = { ...env, POOLSCOPE_ATTACH_FILE: join(dir, 'nobody.json') };
  const sink = createServer((socket) => socket.resume().on('error', () => {}));
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  writeFileSync(join(dir, 'sink.json'), JSON.stringify({ port: (sink.address() as AddressInfo).port, token: 'sink' }), { mode: 0o600 });
  // Each side's environment and agent (null: bare); a metrics copy gets a port of its own.
  const setups: Partial<Record<AnySide, () => Promise<[NodeJS.ProcessEnv, string | null]>>> = {
    bare: async () => [env, null],
    bareAgain: async () => [env, null],
    watched: async () => [watched, AGENT],
    allSites: async () => [{ ...watched, POOLSCOPE_SITE_BUDGET: 'all' }, AGENT],
    alone: async () => [alone, AGENT],
    sink: async () => [{ ...env, POOLSCOPE_ATTACH_FILE: join(dir, 'sink.json') }, AGENT],
    metrics: async () => [{ ...alone, POOLSCOPE_METRICS_PORT: String(await freePort()) }, AGENT],
    ...(baselineAgent ? { baselineWatched: async () => [watched, baselineAgent], baselineAlone: async () => [alone, baselineAgent] } : {}),
  };
  const launch = async (side: AnySide, name: string) => new AppProcess(name, driver, ...(await setups[side]!()));
  const sides = Object.keys(setups) as AnySide[];
  const apps = Object.fromEntries(sides.map((s) => [s, [] as AppProcess[]])) as Record<AnySide, AppProcess[]>;
  // Started one copy of every side at a time, every other pass in reverse: no side's copies
  // all start (and warm up) first or last: in one dev run the first four started used
  // 10-20% more CPU per request than the rest, for their whole life.
  for (let k = 0; k < cfg.attachCopies; k++) for (const side of k % 2 === 0 ? sides : sides.toReversed()) apps[side].push(await launch(side, `${side} ${k + 1}`));
  const all = sides.flatMap((s) => apps[s]);
  // The copies are started: Poolscope moves to its own core.
  pin?.toPoolscope();
  try {
    // Warmed at the row's own concurrency: at 8 clients, 14 copies held more connections than an
    // embedded PostgreSQL lets a non-superuser have (97), and the last copies' requests failed.
    for (const app of all) await app.run(concurrency, cfg.attachWarmSeconds);
    await attached(engine, (baselineAgent ? 3 : 2) * cfg.attachCopies);
    const sum = Object.fromEntries(sides.map((s) => [s, { requests: 0, seconds: 0, cpuUs: 0, poolscopeCpuUs: 0 }])) as Record<AnySide, SideSum>;
    const perRound = Object.fromEntries(sides.map((s) => [s, [] as number[]])) as Record<AnySide, number[]>;
    for (let r = 0; r < cfg.rounds; r++) {
      // A new random order each round, so neither a drift in the machine's load nor the side run
      // just before favours any side: in the rotated order bare again always followed bare, and
      // read 104-107% of it in four pinned runs.
      const order = shuffled(sides);
      for (const side of order) {
        const before = process.cpuUsage();
        // The side's copies take the rounds in turn.
        const res = await apps[side][r % cfg.attachCopies]!.run(concurrency, cfg.runSeconds);
        const used = process.cpuUsage(before);
        sum[side].poolscopeCpuUs += used.user + used.system;
        sum[side].requests += res.requests;
        sum[side].seconds += res.seconds;
        sum[side].cpuUs += res.cpuUs;
        perRound[side].push(res.requests / res.seconds);
      }
    }
    // Each side against the mean of the two bare sides in the same round: four bare copies rather
    // than two, so one bare copy's luck moves the ratios half as much (bare again read 104-106% of
    // bare in three pinned runs). The noise ratio stays bare again over bare.
    const bare = perRound.bare.map((v, r) => (v + perRound.bareAgain[r]!) / 2);
    const ratio = (side: AnySide): Ratio => ratioOf(perRound[side], bare);
    const perSecond = Object.fromEntries(sides.map((s) => [s, round(sum[s].requests / sum[s].seconds, 1)])) as Record<AnySide, number>;
    const perRequest = (field: 'cpuUs' | 'poolscopeCpuUs') => Object.fromEntries(sides.map((s) => [s, round(sum[s][field] / Math.max(1, sum[s].requests), 1)])) as Record<AnySide, number>;
    const cpuUs = perRequest('cpuUs');
    const poolscopeCpuUs = perRequest('poolscopeCpuUs');
    const dropped = Object.values(engine.log.live.sources).reduce((a, s) => a + s.dropped, 0);
    const notSampled = Object.values(engine.log.live.sources).reduce((a, s) => a + s.notSampled, 0);
    const row: AttachRow = {
      engine: server.engine,
      driver,
      concurrency,
      pinned: pin === null ? null : { app: pin.app, poolscope: pin.poolscope },
      perSecond: pick(perSecond),
      cpuUsPerRequest: pick(cpuUs),
      poolscopeCpuUsPerRequest: pick(poolscopeCpuUs),
      noiseRatio: ratioOf(perRound.bareAgain, perRound.bare),
      watchedRatio: ratio('watched'),
      allSitesRatio: ratio('allSites'),
      aloneRatio: ratio('alone'),
      sinkRatio: ratio('sink'),
      metricsRatio: ratio('metrics'),
      dropped,
      notSampled,
      ...(baselineAgent
        ? {
            baseline: {
              perSecond: { watched: perSecond.baselineWatched, alone: perSecond.baselineAlone },
              cpuUsPerRequest: { watched: cpuUs.baselineWatched, alone: cpuUs.baselineAlone },
              watchedRatio: ratio('baselineWatched'),
              aloneRatio: ratio('baselineAlone'),
            },
          }
        : {}),
    };
    const cpu = row.cpuUsPerRequest;
    const m = (r: Ratio) => r.median;
    log(`attach ${driver} c=${concurrency}${pin ? ` pinned (app and its server on core ${pin.app}, Poolscope on ${pin.poolscope})` : ''} (ratios: medians of per-round ratios to both bare sides' mean): bare ${perSecond.bare}/s, bare again ${perSecond.bareAgain}/s (${m(row.noiseRatio)}), watched (site budget ${SITE_BUDGET}/s) ${perSecond.watched}/s (${m(row.watchedRatio)}, ${notSampled} borrowers not sampled so far), watched with every call site ${perSecond.allSites}/s (${m(row.allSitesRatio)}), nothing listening ${perSecond.alone}/s (${m(row.aloneRatio)}), to a sink ${perSecond.sink}/s (${m(row.sinkRatio)}), with metrics ${perSecond.metrics}/s (${m(row.metricsRatio)}); CPU µs/request ${cpu.bare} / ${cpu.watched} / ${cpu.allSites} / ${cpu.alone} / ${cpu.sink} / ${cpu.metrics}; Poolscope's CPU µs/request bare ${poolscopeCpuUs.bare}, watched ${poolscopeCpuUs.watched}, every site ${poolscopeCpuUs.allSites}; ${dropped} dropped`);
    if (row.baseline) log(`attach ${driver} c=${concurrency}, baseline agent: watched ${perSecond.baselineWatched}/s (${m(row.baseline.watchedRatio)}), nothing listening ${perSecond.baselineAlone}/s (${m(row.baseline.aloneRatio)}); CPU µs/request ${cpuUs.baselineWatched} / ${cpuUs.baselineAlone}`);
    return row;
  } finally {
    await Promise.all(all.map((app) => app.end()));
    await listener.close();
    await new Promise((resolve) => sink.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}
