// Part 2: the connection tax. Bare drivers: a pool versus a new connection per request
// (connect, authenticate, query, close), taking turns. Then the app's own comparison
// (main/engine/load/comparison.ts, as the Compare panel runs it) on the same server, read
// the way the panel reads it (renderer/src/lib/compare/smoothing.ts), to check that what
// the app shows agrees with the bench.

import mysql from 'mysql2';
import pg from 'pg';
import type { EngineKind, EventOf } from '../../shared/events';
import { smoothSide, throughputRatio } from '../../renderer/src/lib/compare/smoothing';
import { Engine } from '../../main/engine/engine';
import { Comparison } from '../../main/engine/load/comparison';
import { type TargetSpec, specToFields } from '../../main/engine/target-spec';
import type { BenchConfig } from './config';
import type { BenchServer } from './servers';
import { type RunResult, type SideFigures, barePool, closedLoop, figures } from './workload';
import { round, sleep } from './stats';

export interface TaxRow {
  engine: EngineKind;
  concurrency: number;
  pooled: SideFigures;
  perRequest: SideFigures;
  /** pooled / per-request throughput. */
  throughputRatio: number;
  /** per-request p50 / pooled p50. */
  p50Ratio: number;
  /** What the app's comparison panel shows on the same server: its throughput ratio and p50 ratio. */
  app: { throughputRatio: number; p50Ratio: number; intervals: number };
  /** app ratio / bench ratio (1 = exact agreement; the target is within ±20%). */
  agreement: number;
}

/** One request on a connection of its own, closed after. */
function perRequest(spec: TargetSpec): () => Promise<void> {
  if (spec.engine === 'postgres') {
    return async () => {
      const client = new pg.Client({ host: spec.host, port: spec.port, database: spec.database, user: spec.user, password: spec.password ?? undefined, application_name: 'poolscope' });
      try {
        await client.connect();
        await client.query('SELECT 1');
      } finally {
        await client.end();
      }
    };
  }
  return () =>
    new Promise<void>((resolve, reject) => {
      const conn = mysql.createConnection({ host: spec.host, port: spec.port, user: spec.user, password: spec.password ?? undefined, database: spec.database });
      conn.query('SELECT 1', (err) => {
        conn.end(() => (err ? reject(err) : resolve()));
      });
    });
}

/**
 * The app's own comparison, as the Compare panel runs it, on one engine. It runs in
 * segments between the bench's rounds so that the same spells of machine noise fall on
 * both: run after the bench instead, it read 0.79 to 0.93 of the bench's ratio in four
 * runs, because the per-request rate alone moves by 10% from one half-minute to the next.
 */
class AppComparison {
  readonly #stats: EventOf<'compare.stats'>[] = [];
  readonly #engine: Engine;
  readonly #comparison: Comparison;

  private constructor(engine: Engine) {
    this.#engine = engine;
    this.#comparison = new Comparison(engine);
  }

  static async start(spec: TargetSpec): Promise<AppComparison> {
    return new AppComparison(await Engine.start({ target: specToFields(spec, { secrets: true }) }));
  }

  /** Runs the comparison for `seconds` and keeps its reports but the first (the pool's own first connections). */
  async segment(concurrency: number, seconds: number): Promise<void> {
    const stats: EventOf<'compare.stats'>[] = [];
    const unsubscribe = this.#engine.log.subscribe((e) => {
      if (e.type === 'compare.stats') stats.push(e);
    });
    try {
      await this.#comparison.start(concurrency, 'select1');
      await sleep(seconds * 1_000);
    } finally {
      await this.#comparison.stop();
      unsubscribe();
    }
    this.#stats.push(...stats.slice(1));
  }

  /** What the panel shows over all the segments' reports, read as it reads them. */
  figures(): TaxRow['app'] {
    const pooled = smoothSide(this.#stats.map((s) => ({ intervalMs: s.intervalMs, side: s.pooled })));
    const side = smoothSide(this.#stats.map((s) => ({ intervalMs: s.intervalMs, side: s.perRequest })));
    return {
      throughputRatio: round(throughputRatio(pooled.perSecond, side.perSecond) ?? Number.NaN, 2),
      p50Ratio: round(side.p50Ms !== null && pooled.p50Ms ? side.p50Ms / pooled.p50Ms : Number.NaN, 2),
      intervals: this.#stats.length,
    };
  }

  stop(): Promise<void> {
    return this.#engine.stop();
  }
}

export async function measureTax(cfg: BenchConfig['tax'], server: BenchServer, log: (line: string) => void): Promise<TaxRow> {
  const pool = barePool(server.spec, cfg.concurrency, 'select1');
  const single = perRequest(server.spec);
  const runs = { pooled: [] as RunResult[], perRequest: [] as RunResult[] };
  const app = await AppComparison.start(server.spec);
  try {
    await closedLoop(pool.request, cfg.concurrency, 0.2);
    for (let r = 0; r < cfg.rounds; r++) {
      runs.pooled.push(await closedLoop(pool.request, cfg.concurrency, cfg.runSeconds));
      runs.perRequest.push(await closedLoop(single, cfg.concurrency, cfg.runSeconds));
      await app.segment(cfg.concurrency, cfg.appSeconds / cfg.rounds);
    }
  } finally {
    await pool.end();
    await app.stop();
  }
  const pooled = figures(runs.pooled);
  const side = figures(runs.perRequest);
  const throughput = round(pooled.perSecond / side.perSecond, 2);
  const shown = app.figures();
  const row: TaxRow = {
    engine: server.engine,
    concurrency: cfg.concurrency,
    pooled,
    perRequest: side,
    throughputRatio: throughput,
    p50Ratio: round(side.p50Us / pooled.p50Us, 2),
    app: shown,
    agreement: round(shown.throughputRatio / throughput, 3),
  };
  log(`tax ${server.engine}: pooled ${pooled.perSecond}/s, per-request ${side.perSecond}/s, ratio ${throughput}x; app shows ${shown.throughputRatio}x`);
  return row;
}
