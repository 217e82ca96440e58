import { describe, expect, it } from 'vitest';
import type { SideStats } from '../../shared/events';
import { ManualClock } from '../../main/engine/clock';
import { SideBySide } from '../../main/engine/load/side-by-side';
import { smoothSide } from '../../renderer/src/lib/compare/smoothing';
import { SMOOTH_INTERVALS } from '../../shared/snapshot';

const flush = () => new Promise((r) => setImmediate(r));

async function advance(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 50) {
    clock.advance(50);
    await flush();
  }
}

describe('window accounting: a request counts in the window where it ends', () => {
  it('a 2 s request in 0.5 s windows shows in req/s, p50 and p99', async () => {
    const clock = new ManualClock();
    const reports: { intervalMs: number; side: SideStats }[] = [];
    const runner = new SideBySide(clock);
    const slow = { name: 'slow', request: () => new Promise<void>((r) => clock.setTimer(() => r(), 2_000)) };
    runner.start(1, [slow], (bySide, intervalMs) => {
      const side = bySide.slow;
      if (side) reports.push({ intervalMs, side });
    });
    await advance(clock, 4_500);
    const stopped = runner.stop();
    await advance(clock, 2_000);
    await stopped;

    // 9 windows, a request ending every 2 s: two windows hold one finished request each.
    const withRequests = reports.filter((r) => r.side.ok > 0);
    expect(withRequests.length).toBe(2);
    for (const r of withRequests) {
      expect(r.side.requests).toBe(1);
      expect(r.side.p50Ms).toBeGreaterThanOrEqual(1_900);
      expect(r.side.p99Ms).toBeGreaterThanOrEqual(1_900);
      expect(r.side.p99Ms).toBeLessThanOrEqual(2_100);
    }
    // No window counts a request that has not ended.
    expect(reports.reduce((n, r) => n + r.side.requests, 0)).toBe(2);

    // The panel's smoothing over its last windows, fed every report: req/s and latency show
    // whenever a request ended within the smoothed span.
    const shown = reports.map((_, i) => smoothSide(reports.slice(Math.max(0, i + 1 - SMOOTH_INTERVALS), i + 1)));
    const first = reports.findIndex((r) => r.side.ok > 0);
    const afterFirst = shown[first];
    expect(afterFirst?.perSecond).toBeGreaterThan(0);
    expect(afterFirst?.p50Ms).toBeGreaterThanOrEqual(1_900);
    expect(afterFirst?.p99Ms).toBeGreaterThanOrEqual(1_900);
  });

  it('a failed long request counts as failed where it ends', async () => {
    const clock = new ManualClock();
    const reports: SideStats[] = [];
    const runner = new SideBySide(clock);
    const failing = { name: 'f', request: () => new Promise<void>((_, reject) => clock.setTimer(() => reject(new Error('no')), 1_200)) };
    runner.start(1, [failing], (bySide) => bySide.f && reports.push(bySide.f));
    await advance(clock, 1_600);
    await Promise.all([runner.stop(), advance(clock, 2_000)]);
    expect(reports.slice(0, 2).every((r) => r.requests === 0)).toBe(true);
    expect(reports[2]).toMatchObject({ requests: 1, failed: 1, ok: 0 });
  });
});
