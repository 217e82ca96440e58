// Part 1: what the instrumentation costs. For every server, statement and concurrency,
// the bare pool, a second bare pool and the inspected one take turns, each going first in
// turn, so that whatever else the machine does hits all sides alike. The second bare pool's
// ratio to the first is the machine's own noise; ratios are medians of the rounds' own
// ratios to bare, with their interquartile range (as the attach part's).

import type { EngineKind } from '../../shared/events';
import type { BenchConfig } from './config';
import type { BenchServer } from './servers';
import { type Ratio, ratioOf, round } from './stats';
import { type Query, type RunResult, type SideFigures, barePool, closedLoop, figures, inspectedPool } from './workload';

/** Another checkout's inspected pool (its tests/bench/workload.ts, bundled by scripts/bench.mjs). */
export type BaselinePool = (spec: BenchServer['spec'], max: number, query: Query) => { request(): Promise<void>; end(): Promise<void> };

export interface OverheadRow {
  engine: EngineKind;
  query: Query;
  concurrency: number;
  bare: SideFigures;
  inspected: SideFigures;
  /** The second bare pool over the first: what the machine's noise alone reads. */
  noiseRatio: Ratio;
  /** inspected / bare throughput. */
  throughputRatio: Ratio;
  /** inspected p50 − bare p50, microseconds. */
  addedP50Us: number;
  /** The baseline checkout's inspected pool in the same rounds (`--baseline DIR`). */
  baseline?: { inspected: SideFigures; throughputRatio: Ratio };
}

export async function measureOverhead(cfg: BenchConfig['overhead'], server: BenchServer, log: (line: string) => void, baselinePool?: BaselinePool): Promise<OverheadRow[]> {
  const rows: OverheadRow[] = [];
  for (const query of ['select1', 'point'] as const) {
    const pools = {
      bare: barePool(server.spec, cfg.poolMax, query),
      bareAgain: barePool(server.spec, cfg.poolMax, query),
      inspected: inspectedPool(server.spec, cfg.poolMax, query),
      ...(baselinePool ? { baseline: baselinePool(server.spec, cfg.poolMax, query) } : {}),
    };
    const sides = Object.keys(pools) as (keyof typeof pools)[];
    try {
      for (const concurrency of cfg.concurrency) {
        // Every pool opens its connections before anything is timed.
        for (const side of sides) await closedLoop(pools[side]!.request, concurrency, cfg.warmSeconds);
        const runs = Object.fromEntries(sides.map((side) => [side, [] as RunResult[]])) as Record<(typeof sides)[number], RunResult[]>;
        for (let r = 0; r < cfg.rounds; r++) {
          // Each side goes first in turn, so a drift in the machine's load favours none.
          for (let k = 0; k < sides.length; k++) {
            const side = sides[(k + r) % sides.length]!;
            runs[side].push(await closedLoop(pools[side]!.request, concurrency, cfg.runSeconds));
          }
        }
        const b = figures(runs.bare);
        const i = figures(runs.inspected);
        const base = runs.baseline ? figures(runs.baseline) : null;
        const perSecond = (side: (typeof sides)[number]) => runs[side]!.map((x) => x.requests / x.seconds);
        const ratio = (side: (typeof sides)[number]) => ratioOf(perSecond(side), perSecond('bare'));
        const row: OverheadRow = {
          engine: server.engine,
          query,
          concurrency,
          bare: b,
          inspected: i,
          noiseRatio: ratio('bareAgain'),
          throughputRatio: ratio('inspected'),
          addedP50Us: round(i.p50Us - b.p50Us, 1),
          ...(base ? { baseline: { inspected: base, throughputRatio: ratio('baseline') } } : {}),
        };
        log(`overhead ${server.engine} ${query} c=${concurrency}: bare ${b.perSecond}/s p50 ${b.p50Us} µs, inspected ${i.perSecond}/s p50 ${i.p50Us} µs, ratio ${row.throughputRatio.median} (bare again ${row.noiseRatio.median})${row.baseline ? `; baseline inspected ${base!.perSecond}/s, ratio ${row.baseline.throughputRatio.median}` : ''}`);
        rows.push(row);
      }
    } finally {
      await Promise.all(sides.map((side) => pools[side]!.end()));
    }
  }
  return rows;
}
