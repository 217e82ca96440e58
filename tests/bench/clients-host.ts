// The browser host for the clients part (clients.ts), in a process of its own so that its
// event loop delay and its memory are the host's alone, not the clients'. Driven over IPC:
// `start` (the target, the built renderer) → `listening` {url}; `spike` {count, settleMs}
// → `spiked` (the figures); `stop` → exits. Imports only what every version of the host
// has (Engine, PoolscopeService, startWebHost): `npm run bench -- --baseline DIR` bundles
// this same file against another checkout's main/ to measure it side by side.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { startWebHost } from '../../main/web/web-host';

export type HostCommand = { type: 'start'; target: Record<string, unknown>; root: string } | { type: 'spike'; count: number; settleMs: number; maxMs: number } | { type: 'stop' };

export interface SpikeFigures {
  /** From the spike's request to its last borrower done; null when it did not finish within maxMs. */
  spikeMs: number | null;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  rssBeforeMb: number;
  rssPeakMb: number;
}

export type HostReport = { type: 'listening'; url: string } | ({ type: 'spiked' } & SpikeFigures) | { type: 'failed'; message: string };

const MB = 2 ** 20;
const report = (r: HostReport) => process.send?.(r);
const round = (v: number) => Math.round(v * 100) / 100;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let engine: Engine | null = null;
let service: PoolscopeService | null = null;
let close: (() => Promise<void>) | null = null;

async function spike(count: number, settleMs: number, maxMs: number): Promise<SpikeFigures> {
  if (!engine || !service) throw new Error('spike before start');
  const e = engine;
  const done = () => {
    const c = e.log.live.counters;
    return c.released + c.destroyed + c.timedOut + c.failed;
  };
  (globalThis as { gc?: () => void }).gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const before = done();
  const started = performance.now();
  const r = await service.handle('load.spike', { count });
  if (!r.ok) throw new Error(`load.spike: ${r.error.message}`);
  let spikeMs: number | null = null;
  while (performance.now() - started < maxMs) {
    if (done() - before >= count) {
      spikeMs = performance.now() - started;
      break;
    }
    await sleep(20);
  }
  // What was queued for the clients goes out after the spike: that is measured too.
  await sleep(settleMs);
  delay.disable();
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  return {
    spikeMs: spikeMs === null ? null : Math.round(spikeMs),
    loopDelayP99Ms: round(delay.percentile(99) / 1e6),
    loopDelayMaxMs: round(delay.max / 1e6),
    rssBeforeMb: round(rssBefore / MB),
    rssPeakMb: round(rssPeak / MB),
  };
}

process.on('message', (cmd: HostCommand) => {
  void (async () => {
    try {
      if (cmd.type === 'start') {
        engine = await Engine.start({ target: cmd.target });
        service = new PoolscopeService(engine);
        const host = await startWebHost({ service, root: cmd.root });
        const s = service;
        close = async () => {
          await host.close();
          await s.stop();
        };
        report({ type: 'listening', url: host.url });
      } else if (cmd.type === 'spike') {
        report({ type: 'spiked', ...(await spike(cmd.count, cmd.settleMs, cmd.maxMs)) });
      } else {
        await close?.();
        process.exit(0);
      }
    } catch (err) {
      report({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
