import { describe, expect, it } from 'vitest';
import { ClockSync } from '../../renderer/src/lib/store/clock-sync';

describe('engine time in the renderer', () => {
  it('is local time until a batch arrived', () => {
    expect(new ClockSync().engineNow(5_000)).toBe(5_000);
  });

  it('takes the smallest delay seen as the offset, so a delayed batch does not age everything', () => {
    const c = new ClockSync(5_000);
    c.observe(10_000, 9_300); // 700 ms behind a busy engine
    c.observe(10_100, 10_080); // 20 ms
    c.observe(10_200, 9_900); // an old batch applied late
    expect(c.offset).toBe(20);
    expect(c.engineNow(10_300)).toBe(10_280);
  });

  it('follows a clock skew in either direction', () => {
    const ahead = new ClockSync();
    ahead.observe(10_000, 12_000); // the engine's clock is 2 s ahead
    expect(ahead.engineNow(10_500)).toBe(12_500);
  });

  it('lets the estimate grow again after a window when delays grew for good', () => {
    const c = new ClockSync(1_000);
    c.observe(0, -10);
    c.observe(500, 490);
    expect(c.offset).toBe(10);
    // Next window: the engine is now always 300 ms late.
    c.observe(1_000, 700);
    c.observe(1_500, 1_200);
    expect(c.offset).toBe(10);
    c.observe(2_000, 1_700);
    expect(c.offset).toBe(300);
  });
});
