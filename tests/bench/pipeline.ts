// Part 3: the event pipeline alone. Synthetic pool traffic goes through the engine's own
// path (EventLog: stamp, ring, shared reducer; the leak detector; the transport's
// coalescer, whose batches are serialised as the browser host sends them) at rising
// rates, while the event loop's delay is watched. The highest rate kept with a p99
// delay under 20 ms is the figure.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Batch } from '../../shared/api';
import { systemClock } from '../../main/engine/clock';
import { Coalescer } from '../../main/engine/coalescer';
import { EventLog } from '../../main/engine/event-log';
import { LeakDetector } from '../../main/engine/leak-detector';
import type { BenchConfig } from './config';
import { SyntheticTraffic, paced } from './synthetic';
import { round, sleep } from './stats';

export const DELAY_LIMIT_MS = 20;

export interface PipelineStep {
  targetPerSecond: number;
  achievedPerSecond: number;
  loopDelayP99Ms: number;
  batchesPerSecond: number;
  bytesPerBatch: number;
  /** Events per batch as sent (statement runs folded into summaries). */
  eventsPerBatch: number;
  sustained: boolean;
}

export interface PipelineResult {
  /** Highest target rate sustained (achieved ≥ 95% of it, loop delay p99 under the limit); 0 if none. */
  maxSustainedPerSecond: number;
  /** Batches per second and bytes per batch at that rate. */
  batchesPerSecond: number;
  bytesPerBatch: number;
  loopDelayP99Ms: number;
  steps: PipelineStep[];
}

async function step(rate: number, seconds: number): Promise<PipelineStep> {
  const log = new EventLog(systemClock);
  let batches = 0;
  let bytes = 0;
  let events = 0;
  const coalescer = new Coalescer(log, systemClock, (batch: Batch) => {
    batches++;
    events += batch.events.length;
    bytes += Buffer.byteLength(JSON.stringify({ batch }));
    return true;
  });
  const leaks = new LeakDetector(log, systemClock);
  const traffic = new SyntheticTraffic(log, { connections: 50, waiting: 0 });
  coalescer.flush();
  batches = bytes = events = 0;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const started = performance.now();
  delay.enable();
  const producer = paced(rate, (n) => traffic.emit(n));
  await sleep(seconds * 1_000);
  producer.stop();
  delay.disable();
  const elapsed = (performance.now() - started) / 1_000;
  coalescer.stop();
  leaks.stop();
  const achieved = producer.sent / elapsed;
  const p99 = delay.percentile(99) / 1e6;
  return {
    targetPerSecond: rate,
    achievedPerSecond: round(achieved, 0),
    loopDelayP99Ms: round(p99, 2),
    batchesPerSecond: round(batches / elapsed, 1),
    bytesPerBatch: round(batches ? bytes / batches : 0, 0),
    eventsPerBatch: round(batches ? events / batches : 0, 0),
    sustained: achieved >= rate * 0.95 && p99 < DELAY_LIMIT_MS,
  };
}

export async function measurePipeline(cfg: BenchConfig['pipeline'], log: (line: string) => void): Promise<PipelineResult> {
  const steps: PipelineStep[] = [];
  for (const rate of cfg.rates) {
    const s = await step(rate, cfg.stepSeconds);
    steps.push(s);
    log(`pipeline ${rate}/s: achieved ${s.achievedPerSecond}/s, loop delay p99 ${s.loopDelayP99Ms} ms, ${s.batchesPerSecond} batches/s of ${s.bytesPerBatch} B`);
    // Rates above one that was not sustained only take longer to fail.
    if (!s.sustained) break;
  }
  const best = [...steps].reverse().find((s) => s.sustained);
  return {
    maxSustainedPerSecond: best?.targetPerSecond ?? 0,
    batchesPerSecond: best?.batchesPerSecond ?? Number.NaN,
    bytesPerBatch: best?.bytesPerBatch ?? Number.NaN,
    loopDelayP99Ms: best?.loopDelayP99Ms ?? Number.NaN,
    steps,
  };
}
