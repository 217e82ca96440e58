import { describe, expect, it } from 'vitest';
import type { SideStats } from '../../shared/events';
import { ManualClock } from '../../main/engine/clock';
import { SideBySide } from '../../main/engine/load/side-by-side';

const flush = () => new Promise((r) => setImmediate(r));

describe('sides taking turns', () => {
  it('never run two sides at once, and report each side for its own turn', async () => {
    const clock = new ManualClock();
    const running = { a: 0, b: 0 };
    let overlapped = false;
    // Each request takes 10 ms of the manual clock.
    const side = (name: 'a' | 'b') => ({
      name,
      request: async () => {
        running[name]++;
        if (running.a > 0 && running.b > 0) overlapped = true;
        await new Promise((r) => clock.setTimer(() => r(undefined), 10));
        running[name]--;
      },
    });
    const reports: Record<string, SideStats>[] = [];
    const runner = new SideBySide(clock);
    runner.start(2, [side('a'), side('b')], (bySide) => reports.push(bySide), { alternate: true });
    for (let i = 0; i < 300; i++) {
      clock.advance(5);
      await flush();
    }
    // Requests in flight finish on the manual clock too.
    const stopped = runner.stop();
    for (let i = 0; i < 10; i++) {
      clock.advance(5);
      await flush();
    }
    await stopped;
    expect(overlapped).toBe(false);
    expect(reports.length).toBeGreaterThanOrEqual(1);
    // 2 clients x 500 ms / 10 ms per request = about 100 requests per side per turn.
    for (const r of reports) {
      expect(r.a?.ok).toBeGreaterThanOrEqual(90);
      expect(r.b?.ok).toBeGreaterThanOrEqual(90);
    }
  });
});
