// The attach agent's cost to the app it runs in. Five copies of one small app
// (attach-app.cjs: a pool of 10 serving SELECT 1) take turns: bare, with the agent while
// Poolscope watches (an engine with the agents' listener in this process, folding every
// event into its snapshot; the agent's default site budget, 100 call sites a second), that
// with every call site captured (`attach --site-budget all`), with the agent and nothing
// listening, with the agent sending to a sink (a loopback socket that reads and discards: the
// agent's whole cost in the app, without Poolscope's CPU competing on the machine's cores),
// and with nothing listening and pool metrics on (a Prometheus endpoint nobody scrapes: gauges cost only when collected). Throughput ratios
// are each side's requests per second over the bare side's, measured in interleaved rounds.
// With a baseline agent (another checkout's, `npm run bench -- --baseline DIR`), its watched
// and nothing-listening sides take their turns in the same rounds, against the same bare side.

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
import type { BenchServer } from './servers';
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

/** The baseline agent's sides of a row, against the same bare side. */
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
  /** watched / bare, allSites / bare, alone / bare, sink / bare, metrics / bare. */
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
interface SideSum extends AppRun {
  poolscopeCpuUs: number;
}

class AppProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #replies: ((line: string) => void)[] = [];

  constructor(driver: string, env: NodeJS.ProcessEnv, agent: string | null) {
    this.#child = spawn(process.execPath, [...(agent ? ['--require', agent] : []), APP, driver], { env: { ...process.env, NODE_OPTIONS: '', ...env } });
    this.#child.stderr.pipe(process.stderr);
    createInterface({ input: this.#child.stdout }).on('line', (line) => this.#replies.shift()?.(line));
  }

  run(concurrency: number, seconds: number): Promise<AppRun> {
    return new Promise((resolve) => {
      this.#replies.push((line) => resolve(JSON.parse(line) as AppRun));
      this.#child.stdin.write(`${JSON.stringify({ c: concurrency, s: seconds })}\n`);
    });
  }

  async end(): Promise<void> {
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.stdin.end();
    await exited;
  }
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

/** `baselineAgent`: another checkout's main/agent/agent.cjs (its node_modules installed), measured side by side. */
export async function measureAttach(cfg: BenchConfig['overhead'], server: BenchServer, log: (line: string) => void, baselineAgent?: string): Promise<AttachRow[]> {
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
  const apps: Partial<Record<AnySide, AppProcess>> = {
    bare: new AppProcess(driver, env, null),
    bareAgain: new AppProcess(driver, env, null),
    watched: new AppProcess(driver, watched, AGENT),
    allSites: new AppProcess(driver, { ...watched, POOLSCOPE_SITE_BUDGET: 'all' }, AGENT),
    alone: new AppProcess(driver, alone, AGENT),
    sink: new AppProcess(driver, { ...env, POOLSCOPE_ATTACH_FILE: join(dir, 'sink.json') }, AGENT),
    metrics: new AppProcess(driver, { ...alone, POOLSCOPE_METRICS_PORT: String(await freePort()) }, AGENT),
    ...(baselineAgent ? { baselineWatched: new AppProcess(driver, watched, baselineAgent), baselineAlone: new AppProcess(driver, alone, baselineAgent) } : {}),
  };
  const sides = Object.keys(apps) as AnySide[];
  const rows: AttachRow[] = [];
  try {
    for (const side of sides) await apps[side]!.run(8, cfg.attachWarmSeconds);
    for (const concurrency of cfg.concurrency.filter((c) => c <= 8)) {
      for (const side of sides) await apps[side]!.run(concurrency, cfg.warmSeconds);
      await attached(engine, baselineAgent ? 3 : 2);
      const sum = Object.fromEntries(sides.map((s) => [s, { requests: 0, seconds: 0, cpuUs: 0, poolscopeCpuUs: 0 }])) as Record<AnySide, SideSum>;
      const perRound = Object.fromEntries(sides.map((s) => [s, [] as number[]])) as Record<AnySide, number[]>;
      for (let r = 0; r < cfg.rounds; r++) {
        // Each side goes first in turn, so a drift in the machine's load favours none.
        const order = sides.map((_, i) => sides[(i + r) % sides.length]!);
        for (const side of order) {
          const before = process.cpuUsage();
          const res = await apps[side]!.run(concurrency, cfg.runSeconds);
          const used = process.cpuUsage(before);
          sum[side].poolscopeCpuUs += used.user + used.system;
          sum[side].requests += res.requests;
          sum[side].seconds += res.seconds;
          sum[side].cpuUs += res.cpuUs;
          perRound[side].push(res.requests / res.seconds);
        }
      }
      const ratio = (side: AnySide): Ratio => ratioOf(perRound[side], perRound.bare);
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
        perSecond: pick(perSecond),
        cpuUsPerRequest: pick(cpuUs),
        poolscopeCpuUsPerRequest: pick(poolscopeCpuUs),
        noiseRatio: ratio('bareAgain'),
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
      log(`attach ${driver} c=${concurrency} (ratios: medians of per-round ratios): bare ${perSecond.bare}/s, bare again ${perSecond.bareAgain}/s (${m(row.noiseRatio)}), watched (site budget ${SITE_BUDGET}/s) ${perSecond.watched}/s (${m(row.watchedRatio)}, ${notSampled} borrowers not sampled so far), watched with every call site ${perSecond.allSites}/s (${m(row.allSitesRatio)}), nothing listening ${perSecond.alone}/s (${m(row.aloneRatio)}), to a sink ${perSecond.sink}/s (${m(row.sinkRatio)}), with metrics ${perSecond.metrics}/s (${m(row.metricsRatio)}); CPU µs/request ${cpu.bare} / ${cpu.watched} / ${cpu.allSites} / ${cpu.alone} / ${cpu.sink} / ${cpu.metrics}; Poolscope's CPU µs/request bare ${poolscopeCpuUs.bare}, watched ${poolscopeCpuUs.watched}, every site ${poolscopeCpuUs.allSites}; ${dropped} dropped`);
      if (row.baseline) log(`attach ${driver} c=${concurrency}, baseline agent: watched ${perSecond.baselineWatched}/s (${m(row.baseline.watchedRatio)}), nothing listening ${perSecond.baselineAlone}/s (${m(row.baseline.aloneRatio)}); CPU µs/request ${cpuUs.baselineWatched} / ${cpuUs.baselineAlone}`);
      rows.push(row);
    }
  } finally {
    await Promise.all(sides.map((s) => apps[s]!.end()));
    await listener.close();
    await new Promise((resolve) => sink.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
