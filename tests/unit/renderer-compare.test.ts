import { describe, expect, it } from 'vitest';
import {
  formatRatio,
  smoothPatternSide,
  smoothSide,
  throughputRatio,
  waterfallSegments,
} from '../../renderer/src/lib/compare/smoothing';

const side = (ok: number, p50: number | null = 1, p99: number | null = 2, failed = 0) => ({ requests: ok + failed, ok, failed, p50Ms: p50, p99Ms: p99 });

describe('smoothed figures', () => {
  it('takes throughput from the sums, not an average of rates', () => {
    const s = smoothSide([
      { intervalMs: 500, side: side(100, 1, 3) },
      { intervalMs: 1_000, side: side(50, 3, null) },
    ]);
    expect(s.perSecond).toBeCloseTo((150 * 1_000) / 1_500);
    expect(s.p50Ms).toBe(2);
    expect(s.p99Ms).toBe(3);
  });

  it('is unknown without samples', () => {
    expect(smoothSide([])).toEqual({ perSecond: null, p50Ms: null, p99Ms: null, failed: 0 });
  });

  it('averages what a pattern side holds and waits for', () => {
    const s = smoothPatternSide([
      { intervalMs: 500, side: { ...side(10), holding: 3, waiting: 1 } },
      { intervalMs: 500, side: { ...side(10), holding: 2, waiting: 0 } },
    ]);
    expect(s.holding).toBe(2.5);
    expect(s.waiting).toBe(0.5);
    expect(s.perSecond).toBe(20);
  });
});

describe('the pooled/per-request ratio', () => {
  it('divides pooled by per-request throughput', () => {
    expect(throughputRatio(1_770, 100)).toBeCloseTo(17.7);
    expect(formatRatio(throughputRatio(1_770, 100))).toBe('17.7×');
    expect(formatRatio(250)).toBe('250×');
  });

  it('is unknown when the per-request side served nothing or a side is unknown', () => {
    expect(throughputRatio(100, 0)).toBeNull();
    expect(throughputRatio(null, 10)).toBeNull();
    expect(throughputRatio(10, null)).toBeNull();
    expect(formatRatio(null)).toBe('–');
  });
});

describe('the handshake waterfall', () => {
  it('splits the bar by phase, TLS only when used', () => {
    const plain = waterfallSegments({ socketMs: 1, sshMs: null, tlsMs: null, authMs: 2, readyMs: 1 });
    expect(plain.map((s) => s.key)).toEqual(['socket', 'auth', 'ready']);
    expect(plain.map((s) => s.percent)).toEqual([25, 50, 25]);
    const tls = waterfallSegments({ socketMs: 1, sshMs: null, tlsMs: 1, authMs: 1, readyMs: 1 });
    expect(tls.map((s) => s.label)).toEqual(['socket', 'TLS', 'authentication', 'ready']);
  });

  it('shows the SSH leg in place of the socket when the connection went through a tunnel', () => {
    const ssh = waterfallSegments({ socketMs: 0, sshMs: 6, tlsMs: 2, authMs: 1, readyMs: 1 });
    expect(ssh.map((s) => `${s.label} ${s.percent}`)).toEqual(['SSH channel 60', 'TLS 20', 'authentication 10', 'ready 10']);
  });

  it('shares the bar evenly when every phase took 0 ms', () => {
    expect(waterfallSegments({ socketMs: 0, sshMs: null, tlsMs: null, authMs: 0, readyMs: 0 }).map((s) => s.percent)).toEqual([100 / 3, 100 / 3, 100 / 3]);
  });
});
