// Part 7: spikes. A spike of `count` borrowers on a pool of 10 (each holder sleeps `sleepMs`),
// on each server, through the service as the app runs it; the host's event loop is watched
// the whole time. Two runs per server: the spike left to time out (acquire timeout
// `timeoutMs`: most of the line times out at once), and a spike stopped with load.stop once
// all of it asked (the line is cancelled at once). The figure is the longest stall: how
// long the host answered nothing (its sockets, the UI's batches) at worst.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { specToFields } from '../../main/engine/target-spec';
import type { EngineKind } from '../../shared/events';
import { poolCounts } from '../../shared/snapshot';
import type { BenchConfig } from './config';
import type { BenchServer } from './servers';
import { round, sleep } from './stats';

const POOL_MAX = 10;

export interface SpikeRow {
  engine: EngineKind;
  count: number;
  /** The spike left to time out: from load.spike until every borrower was answered. */
  answeredMs: number;
  timedOut: number;
  /** Longest event-loop stall during it, and the delay's p99. */
  longestStallMs: number;
  loopDelayP99Ms: number;
  /** The spike stopped with load.stop once all of it asked: how long stop took, and the longest stall from the spike to the stop's end. */
  stopMs: number;
  /** Borrowers in line when load.stop was asked (those still in their handshake too), and how many left it cancelled. */
  waitingAtStop: number;
  cancelled: number;
  stopLongestStallMs: number;
}

async function until(done: () => boolean, maxMs: number): Promise<boolean> {
  const deadline = performance.now() + maxMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

async function measureOne(cfg: BenchConfig['spikes'], server: BenchServer, log: (line: string) => void): Promise<SpikeRow> {
  const target = specToFields(server.spec, { secrets: true });
  const spike = { count: cfg.count, query: 'sleep' as const, sleepMs: cfg.sleepMs };

  // Left to time out.
  let service = new PoolscopeService(await Engine.start({ target, settings: { max: POOL_MAX, acquireTimeoutMs: cfg.timeoutMs } }));
  let delay = monitorEventLoopDelay({ resolution: 1 });
  let answeredMs: number;
  let timedOut: number;
  let longestStallMs: number;
  let loopDelayP99Ms: number;
  try {
    const c0 = { ...service.engine.log.live.counters };
    const answered = () => {
      const c = service.engine.log.live.counters;
      return c.released + c.timedOut + c.failed - (c0.released + c0.timedOut + c0.failed) >= cfg.count;
    };
    delay.enable();
    const t0 = performance.now();
    const r = await service.handle('load.spike', spike);
    if (!r.ok) throw new Error(`load.spike: ${r.error.message}`);
    if (!(await until(answered, cfg.timeoutMs + 120_000))) throw new Error(`spikes (${server.engine}): the spike was not answered`);
    answeredMs = round(performance.now() - t0, 0);
    delay.disable();
    timedOut = service.engine.log.live.counters.timedOut - c0.timedOut;
    longestStallMs = round(delay.max / 1e6, 1);
    loopDelayP99Ms = round(delay.percentile(99) / 1e6, 1);
  } finally {
    delay.disable();
    await service.stop();
  }
  log(`spikes (${server.engine}): ${cfg.count} answered in ${answeredMs} ms, ${timedOut} timed out; longest stall ${longestStallMs} ms, loop delay p99 ${loopDelayP99Ms} ms`);

  // Stopped while all of it waits.
  service = new PoolscopeService(await Engine.start({ target, settings: { max: POOL_MAX, acquireTimeoutMs: 600_000 } }));
  delay = monitorEventLoopDelay({ resolution: 1 });
  let stopMs: number;
  let waitingAtStop: number;
  let cancelled = 0;
  let stopLongestStallMs: number;
  const off = service.engine.log.subscribe((e) => {
    if (e.type === 'load.stats') cancelled += e.cancelled;
  });
  try {
    const poolId = service.engine.pool.id;
    const enqueued0 = service.engine.log.live.counters.enqueued;
    delay.enable();
    const r = await service.handle('load.spike', spike);
    if (!r.ok) throw new Error(`load.spike: ${r.error.message}`);
    // The spike arrives over a few turns; stopped once all of it asked (the first served meanwhile).
    if (!(await until(() => service.engine.log.live.counters.enqueued - enqueued0 >= cfg.count, 120_000))) throw new Error(`spikes (${server.engine}): the spike never all arrived`);
    waitingAtStop = poolCounts(service.engine.log.live, poolId).waiting;
    const t0 = performance.now();
    const stopped = await service.handle('load.stop', undefined);
    if (!stopped.ok) throw new Error(`load.stop: ${stopped.error.message}`);
    stopMs = round(performance.now() - t0, 1);
    delay.disable();
    stopLongestStallMs = round(delay.max / 1e6, 1);
  } finally {
    off();
    delay.disable();
    await service.stop();
  }
  log(`spikes (${server.engine}): load.stop with ${waitingAtStop} waiting took ${stopMs} ms, ${cancelled} cancelled; longest stall ${stopLongestStallMs} ms`);
  return { engine: server.engine, count: cfg.count, answeredMs, timedOut, longestStallMs, loopDelayP99Ms, stopMs, waitingAtStop, cancelled, stopLongestStallMs };
}

export async function measureSpikes(cfg: BenchConfig['spikes'], servers: BenchServer[], log: (line: string) => void): Promise<SpikeRow[]> {
  const rows: SpikeRow[] = [];
  for (const server of servers) rows.push(await measureOne(cfg, server, log));
  return rows;
}
