// The attach agent's cost to the app it runs in. Four copies of one small app
// (attach-app.cjs: a pool of 10 serving SELECT 1) take turns: bare, with the agent while
// Poolscope watches (an engine with the agents' listener in this process, folding every
// event into its snapshot), with the agent and nothing listening, and the same with pool
// metrics on (a Prometheus endpoint nobody scrapes: gauges cost only when collected). Throughput ratios
// are each side's requests per second over the bare side's, measured in interleaved rounds.

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { EngineKind } from '../../shared/events';
import { Engine } from '../../main/engine/engine';
import { startAttachServer } from '../../main/engine/attach/attach-server';
import type { TargetSpec } from '../../main/engine/target-spec';
import type { BenchConfig } from './config';
import type { BenchServer } from './servers';
import { round } from './stats';
import { freePort } from '../integration/helpers/free-port';

const ROOT = join(import.meta.dirname, '..', '..');
const APP = join(ROOT, 'tests', 'bench', 'attach-app.cjs');
const AGENT = join(ROOT, 'main', 'agent', 'agent.cjs');
const SIDES = ['bare', 'watched', 'alone', 'metrics'] as const;
type Side = (typeof SIDES)[number];

export interface AttachRow {
  engine: EngineKind;
  driver: 'pg' | 'mysql2';
  concurrency: number;
  /** Requests per second of each side. */
  perSecond: Record<Side, number>;
  /** CPU time of the app's process per request, µs (user + system): steadier than throughput on a busy machine. */
  cpuUsPerRequest: Record<Side, number>;
  /** watched / bare, alone / bare, metrics / bare. */
  watchedRatio: number;
  aloneRatio: number;
  metricsRatio: number;
  /** Events the watched agent dropped (Poolscope too slow): 0 means the picture was complete. */
  dropped: number;
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

class AppProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #replies: ((line: string) => void)[] = [];

  constructor(driver: string, env: NodeJS.ProcessEnv, agent: boolean) {
    this.#child = spawn(process.execPath, [...(agent ? ['--require', AGENT] : []), APP, driver], { env: { ...process.env, NODE_OPTIONS: '', ...env } });
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

/** The watched side reports to this engine; a ratio measured without it would measure nothing. */
async function attached(engine: Engine): Promise<void> {
  for (let waited = 0; Object.keys(engine.log.live.sources).length === 0; waited += 50) {
    if (waited > 10_000) throw new Error('bench: the watched app did not attach to Poolscope within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function measureAttach(cfg: BenchConfig['overhead'], server: BenchServer, log: (line: string) => void): Promise<AttachRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'poolscope-attach-bench-'));
  const engine = new Engine({});
  const listener = await startAttachServer({ log: engine.log, clock: engine.clock, newPoolId: () => engine.newPoolId(), file: join(dir, 'attach.json') });
  const driver = server.engine === 'postgres' ? 'pg' : 'mysql2';
  const env = { APP_DB_URL: urlOf(server.spec) };
  const apps: Record<Side, AppProcess> = {
    bare: new AppProcess(driver, env, false),
    watched: new AppProcess(driver, { ...env, POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json') }, true),
    alone: new AppProcess(driver, { ...env, POOLSCOPE_ATTACH_FILE: join(dir, 'nobody.json') }, true),
    metrics: new AppProcess(driver, { ...env, POOLSCOPE_ATTACH_FILE: join(dir, 'nobody.json'), POOLSCOPE_METRICS_PORT: String(await freePort()) }, true),
  };
  const rows: AttachRow[] = [];
  try {
    for (const concurrency of cfg.concurrency.filter((c) => c <= 8)) {
      for (const side of SIDES) await apps[side].run(concurrency, cfg.warmSeconds);
      await attached(engine);
      const sum = Object.fromEntries(SIDES.map((s) => [s, { requests: 0, seconds: 0, cpuUs: 0 }])) as Record<Side, AppRun>;
      for (let r = 0; r < cfg.rounds; r++) {
        // Each side goes first in turn, so a drift in the machine's load favours none.
        const order = SIDES.map((_, i) => SIDES[(i + r) % SIDES.length]!);
        for (const side of order) {
          const res = await apps[side].run(concurrency, cfg.runSeconds);
          sum[side].requests += res.requests;
          sum[side].seconds += res.seconds;
          sum[side].cpuUs += res.cpuUs;
        }
      }
      const perSecond = Object.fromEntries(SIDES.map((s) => [s, round(sum[s].requests / sum[s].seconds, 1)])) as Record<Side, number>;
      const dropped = Object.values(engine.log.live.sources).reduce((a, s) => a + s.dropped, 0);
      const row: AttachRow = {
        engine: server.engine,
        driver,
        concurrency,
        perSecond,
        cpuUsPerRequest: Object.fromEntries(SIDES.map((s) => [s, round(sum[s].cpuUs / Math.max(1, sum[s].requests), 1)])) as Record<Side, number>,
        watchedRatio: round(perSecond.watched / perSecond.bare, 4),
        aloneRatio: round(perSecond.alone / perSecond.bare, 4),
        metricsRatio: round(perSecond.metrics / perSecond.bare, 4),
        dropped,
      };
      const cpu = row.cpuUsPerRequest;
      log(`attach ${driver} c=${concurrency}: bare ${perSecond.bare}/s, watched ${perSecond.watched}/s (${row.watchedRatio}), nothing listening ${perSecond.alone}/s (${row.aloneRatio}), with metrics ${perSecond.metrics}/s (${row.metricsRatio}); CPU µs/request ${cpu.bare} / ${cpu.watched} / ${cpu.alone} / ${cpu.metrics}; ${dropped} dropped`);
      rows.push(row);
    }
  } finally {
    await Promise.all(SIDES.map((s) => apps[s].end()));
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
