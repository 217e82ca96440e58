// Part 4: the view under load. The real renderer (built) in Chromium, through the browser
// host, on an engine whose event log is fed synthetic pool traffic: `connections` open
// connections, `waiting` borrowers in line and `eventsPerSecond` events. Frame times and
// long tasks are the page's own (requestAnimationFrame, PerformanceObserver). The pool
// picture is on top of the page, as always: the measurement includes it.

import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { startWebHost } from '../../main/web/web-host';
import type { BenchConfig } from './config';
import { reveal } from '../e2e/helpers/workspace';
import { RENDERER_ROOT, openPage, startFrameProbe, stopFrameProbe } from './page';
import { SyntheticTraffic, paced } from './synthetic';
import { Samples, round, sleep } from './stats';

export const LONG_TASK_MS = 50;
/** A frame interval past 1.5 refreshes at 60 Hz: a frame the page did not draw in time. */
const MISSED_FRAME_MS = 25;

export interface ViewResult {
  connections: number;
  waiting: number;
  eventsPerSecond: number;
  /** Events per second actually fed during the measurement. */
  achievedPerSecond: number;
  frames: number;
  frameP50Ms: number;
  frameP95Ms: number;
  frameMaxMs: number;
  /**
   * Frame intervals over MISSED_FRAME_MS. rAF intervals at 60 Hz are 16.67 ms with the headless
   * compositor's timer jitter (16.6 to 16.8), so a p95 of 16.8 with none missed is every frame drawn.
   */
  missedFrames: number;
  /** Long tasks (> 50 ms) during the measurement, and the longest. */
  longTasks: number;
  longestTaskMs: number;
}

export async function measureView(cfg: BenchConfig['view'], log: (line: string) => void): Promise<ViewResult> {
  const engine = new Engine();
  const service = new PoolscopeService(engine);
  const host = await startWebHost({ service, root: RENDERER_ROOT });
  const traffic = new SyntheticTraffic(engine.log, { connections: cfg.connections, waiting: cfg.waiting });
  const { browser, page } = await openPage(host.url);
  try {
    // The page shows the whole pool and the whole line before anything is measured: the
    // Waiting tab (the 10,000-row list) is the heavier of the detail tabs, so it is the one shown.
    await reveal(page, 'waiters-count', 30_000);
    await page.getByTestId('waiters-count').filter({ hasText: String(cfg.waiting) }).waitFor({ timeout: 30_000 });
    // The pool picture is on, aggregated: its line counts every waiter.
    await page.locator(`[data-testid="waiting-line"][data-count="${cfg.waiting}"]`).waitFor({ timeout: 30_000 });
    const producer = paced(cfg.eventsPerSecond, (n) => traffic.emit(n));
    try {
      await sleep(cfg.settleSeconds * 1_000);
      const sentBefore = producer.sent;
      const started = performance.now();
      await startFrameProbe(page);
      await sleep(cfg.measureSeconds * 1_000);
      const { frames, longTasks } = await stopFrameProbe(page);
      const achieved = (producer.sent - sentBefore) / ((performance.now() - started) / 1_000);
      const f = new Samples();
      for (const d of frames) f.add(d);
      const r: ViewResult = {
        connections: cfg.connections,
        waiting: cfg.waiting,
        eventsPerSecond: cfg.eventsPerSecond,
        achievedPerSecond: round(achieved, 0),
        frames: f.count,
        frameP50Ms: round(f.quantile(0.5), 2),
        frameP95Ms: round(f.quantile(0.95), 2),
        frameMaxMs: round(f.quantile(1), 2),
        missedFrames: frames.filter((d) => d > MISSED_FRAME_MS).length,
        longTasks: longTasks.filter((d) => d > LONG_TASK_MS).length,
        longestTaskMs: round(longTasks.length ? Math.max(...longTasks) : 0, 1),
      };
      log(`view: ${r.frames} frames (${r.missedFrames} missed), p95 ${r.frameP95Ms} ms, max ${r.frameMaxMs} ms, ${r.longTasks} long tasks (longest ${r.longestTaskMs} ms) at ${r.achievedPerSecond} events/s`);
      return r;
    } finally {
      producer.stop();
    }
  } finally {
    await browser.close();
    await host.close();
    await service.stop();
  }
}
