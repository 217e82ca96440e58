import { describe, expect, it } from 'vitest';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { record } from '../../shared/histogram';
import { reduceAll } from '../../shared/reducer';
import { emptySnapshot, type Snapshot } from '../../shared/snapshot';
import { SAMPLE_MS, SERIES_CAPACITY, SeriesSampler, histogramDelta } from '../../renderer/src/lib/store/series';
import { handshake, pgSettings, target } from './helpers/fixtures';

const settings = pgSettings({ max: 5, idleTimeoutMs: 10_000 });

function pool(): Snapshot {
  let seq = 0;
  const ev = (b: PoolEventBody) => ({ ...b, seq: ++seq, t: 1_000 + seq }) as PoolEvent;
  return reduceAll(emptySnapshot(), [
    ev({ type: 'pool.created', poolId: 'p1', target, settings }),
    ev({ type: 'pool.verified', poolId: 'p1', serverVersion: '18.4', tls: null }),
    ev({ type: 'connection.connecting', poolId: 'p1', connId: 'c1' }),
    ev({ type: 'connection.opened', connId: 'c1', serverId: 1, handshake }),
    ev({ type: 'connection.connecting', poolId: 'p1', connId: 'c2' }),
    ev({ type: 'connection.opened', connId: 'c2', serverId: 2, handshake }),
    ev({ type: 'connection.connecting', poolId: 'p1', connId: 'c3' }),
    ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'b1', label: 'x', site: 's', deadline: null }),
    ev({ type: 'borrower.acquired', borrowerId: 'b1', connId: 'c1', waitedMs: 0 }),
    ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'b2', label: 'y', site: 's', deadline: null }),
  ]);
}

/** What the engine would have counted: `n` acquisitions that each waited `ms`. */
function acquired(s: Snapshot, n: number, ms: number): void {
  for (let i = 0; i < n; i++) record(s.acquireWait, ms);
  s.counters.acquired += n;
}

describe('the series sampler', () => {
  it('keeps 10 minutes at 500 ms', () => {
    expect(SAMPLE_MS).toBe(500);
    expect(SERIES_CAPACITY).toBe(1_200);
  });

  it('samples the active pool gauges as they are', () => {
    const sampler = new SeriesSampler(8);
    sampler.sample(10_000, pool());
    const c = sampler.columns();
    expect(c.t).toEqual([10]);
    expect(c.total).toEqual([3]);
    expect(c.idle).toEqual([1]);
    expect(c.borrowed).toEqual([1]);
    expect(c.connecting).toEqual([1]);
    expect(c.waiting).toEqual([1]);
    // No interval yet: no rates and no percentiles.
    expect(c.throughput).toEqual([null]);
    expect(c.p50).toEqual([null]);
  });

  it('turns cumulative counters into per-second rates over each interval', () => {
    const s = pool();
    const sampler = new SeriesSampler(8);
    sampler.sample(10_000, s);
    acquired(s, 100, 1);
    s.counters.timedOut += 3;
    s.counters.statementErrors += 2;
    s.counters.failed += 1;
    s.counters.opened += 4;
    s.counters.closed += 2;
    sampler.sample(10_500, s);
    expect(sampler.latest('throughput')).toBe(200);
    expect(sampler.latest('timeouts')).toBe(6);
    expect(sampler.latest('errors')).toBe(6);
    expect(sampler.latest('opened')).toBe(8);
    expect(sampler.latest('closed')).toBe(4);

    // A late timer (a throttled tab): rates are still per second of the real interval.
    acquired(s, 100, 1);
    sampler.sample(12_500, s);
    expect(sampler.latest('throughput')).toBe(50);
    expect(sampler.latest('timeouts')).toBe(0);
  });

  it('reads acquire-wait percentiles from the interval, not from all time', () => {
    const s = pool();
    const sampler = new SeriesSampler(8);
    sampler.sample(0, s);
    acquired(s, 90, 1);
    acquired(s, 10, 100);
    sampler.sample(500, s);
    // Buckets are ~19% wide: read within that.
    expect(sampler.latest('p50')).toBeGreaterThanOrEqual(1);
    expect(sampler.latest('p50')).toBeLessThan(1.2);
    expect(sampler.latest('p95')).toBeGreaterThanOrEqual(100 / 1.2);
    expect(sampler.latest('p95')).toBeLessThanOrEqual(100);
    expect(sampler.latest('p99')).toBeLessThanOrEqual(100);

    // Next interval: only 5 ms waits. All-time p99 would still be ~100 ms.
    acquired(s, 20, 5);
    sampler.sample(1_000, s);
    expect(sampler.latest('p50')).toBeGreaterThanOrEqual(5);
    expect(sampler.latest('p50')).toBeLessThan(6);
    expect(sampler.latest('p99')).toBeLessThan(6);

    // Nobody acquired anything: no percentile (a gap in the chart), not zero.
    sampler.sample(1_500, s);
    expect(sampler.latest('p50')).toBeNull();
    expect(sampler.latest('throughput')).toBe(0);
  });

  it('computes the histogram of an interval from two cumulative ones', () => {
    const s = pool();
    acquired(s, 3, 2);
    const before = s.acquireWait.counts.slice();
    acquired(s, 4, 50);
    const d = histogramDelta(before, s.acquireWait);
    expect(d.total).toBe(4);
    expect(d.maxMs).toBeLessThanOrEqual(50);
    expect(d.maxMs).toBeGreaterThan(40);
  });

  it('forgets the baseline when counters go backwards (a restarted engine)', () => {
    const s = pool();
    const sampler = new SeriesSampler(8);
    acquired(s, 500, 1);
    sampler.sample(0, s);
    const fresh = pool();
    acquired(fresh, 10, 1);
    sampler.sample(500, fresh);
    expect(sampler.latest('throughput')).toBeNull();
    acquired(fresh, 10, 1);
    sampler.sample(1_000, fresh);
    expect(sampler.latest('throughput')).toBe(20);
  });

  it('is a bounded ring: the oldest samples go, the columns stay in time order', () => {
    const s = pool();
    const sampler = new SeriesSampler(4);
    for (let i = 0; i < 7; i++) {
      s.counters.acquired += i;
      sampler.sample(i * 500, s);
    }
    const c = sampler.columns();
    expect(sampler.length).toBe(4);
    expect(c.t).toEqual([1.5, 2, 2.5, 3]);
    expect(c.throughput).toEqual([6, 8, 10, 12]);
  });

  it('has no gauges before any pool answered', () => {
    const sampler = new SeriesSampler(4);
    sampler.sample(0, emptySnapshot());
    expect(sampler.latest('total')).toBeNull();
  });
});
