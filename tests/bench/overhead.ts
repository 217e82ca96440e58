// Part 1: what the instrumentation costs. For every server, statement and concurrency,
// the bare pool and the inspected one take turns (bare, inspected, inspected, bare, ...)
// so that whatever else the machine does hits both sides alike.

import type { EngineKind } from '../../shared/events';
import type { BenchConfig } from './config';
import type { BenchServer } from './servers';
import { type Query, type RunResult, type SideFigures, barePool, closedLoop, figures, inspectedPool } from './workload';
import { round } from './stats';

export interface OverheadRow {
  engine: EngineKind;
  query: Query;
  concurrency: number;
  bare: SideFigures;
  inspected: SideFigures;
  /** inspected / bare throughput. */
  throughputRatio: number;
  /** inspected p50 − bare p50, microseconds. */
  addedP50Us: number;
}

export async function measureOverhead(cfg: BenchConfig['overhead'], server: BenchServer, log: (line: string) => void): Promise<OverheadRow[]> {
  const rows: OverheadRow[] = [];
  for (const query of ['select1', 'point'] as const) {
    const bare = barePool(server.spec, cfg.poolMax, query);
    const inspected = inspectedPool(server.spec, cfg.poolMax, query);
    try {
      for (const concurrency of cfg.concurrency) {
        // Both pools open their connections before anything is timed.
        await closedLoop(bare.request, concurrency, cfg.warmSeconds);
        await closedLoop(inspected.request, concurrency, cfg.warmSeconds);
        const runs = { bare: [] as RunResult[], inspected: [] as RunResult[] };
        for (let r = 0; r < cfg.rounds; r++) {
          // Alternate who goes first, so a drift in the machine's load favours neither.
          const order = r % 2 === 0 ? (['bare', 'inspected'] as const) : (['inspected', 'bare'] as const);
          for (const side of order) {
            const pool = side === 'bare' ? bare : inspected;
            runs[side].push(await closedLoop(pool.request, concurrency, cfg.runSeconds));
          }
        }
        const b = figures(runs.bare);
        const i = figures(runs.inspected);
        const row: OverheadRow = {
          engine: server.engine,
          query,
          concurrency,
          bare: b,
          inspected: i,
          throughputRatio: round(i.perSecond / b.perSecond, 4),
          addedP50Us: round(i.p50Us - b.p50Us, 1),
        };
        log(`overhead ${server.engine} ${query} c=${concurrency}: bare ${b.perSecond}/s p50 ${b.p50Us} µs, inspected ${i.perSecond}/s p50 ${i.p50Us} µs, ratio ${row.throughputRatio}`);
        rows.push(row);
      }
    } finally {
      await Promise.all([bare.end(), inspected.end()]);
    }
  }
  return rows;
}
