import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// The attach agent's call-site budget (main/agent/site-budget.cjs): N captures a second,
// refilled by the time that passed at each of the channel's 50 ms ticks.
interface SiteBudget {
  perSecond: number;
  take(): boolean;
  refill(): void;
}
const { SiteBudget, siteBudgetFrom } = createRequire(import.meta.url)('../../main/agent/site-budget.cjs') as {
  SiteBudget: new (perSecond: number, now: () => number) => SiteBudget;
  siteBudgetFrom: (value: string | undefined) => { budget: SiteBudget | null; refused: string | null };
};

const takes = (b: SiteBudget, n: number) => Array.from({ length: n }, () => b.take()).filter(Boolean).length;

describe("the agent's site budget", () => {
  it('allows a burst of one second’s budget, then nothing until time refills it', () => {
    let t = 0;
    const b = new SiteBudget(5, () => t);
    expect(takes(b, 20)).toBe(5);
    t = 50;
    b.refill();
    // 50 ms of 5/s is a quarter of a capture: none yet.
    expect(takes(b, 20)).toBe(0);
    t = 450;
    b.refill();
    expect(takes(b, 20)).toBe(2);
  });

  it('keeps no more than one second’s budget however long it idles', () => {
    let t = 0;
    const b = new SiteBudget(100, () => t);
    t = 60_000;
    b.refill();
    expect(takes(b, 1_000)).toBe(100);
  });

  it('reads POOLSCOPE_SITE_BUDGET: absent means 100 a second, all means every borrow, a bad value is refused with why', () => {
    expect(siteBudgetFrom(undefined)).toMatchObject({ budget: { perSecond: 100 }, refused: null });
    expect(siteBudgetFrom('all')).toEqual({ budget: null, refused: null });
    expect(siteBudgetFrom('250').budget?.perSecond).toBe(250);
    for (const bad of ['0', '-1', '1.5', 'lots', 'ALL']) {
      const { budget, refused } = siteBudgetFrom(bad);
      expect(budget?.perSecond).toBe(100);
      expect(refused).toContain(`POOLSCOPE_SITE_BUDGET must be a whole number of call sites per second from 1 or "all", not "${bad}": 100 a second are captured`);
    }
  });
});
