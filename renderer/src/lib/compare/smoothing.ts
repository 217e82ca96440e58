// Smoothing for the comparison and pattern panels: the engine reports 500 ms intervals,
// too jumpy to read, so the panels show the run's last few intervals (SMOOTH_INTERVALS, kept by
// the shared reducer) taken together. Pure, no DOM.

import type { PatternSide, SideStats } from '../../../../shared/events';

/** A side's figures over the window: throughput from the sums, percentiles averaged. */
export interface SmoothedSide {
  /** Successful requests per second. */
  perSecond: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  failed: number;
}

export interface SmoothedPatternSide extends SmoothedSide {
  holding: number | null;
  waiting: number | null;
}

function mean(values: (number | null)[]): number | null {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    sum += v;
    n++;
  }
  return n === 0 ? null : sum / n;
}

/** Throughput over the window is the ok requests over the time they took, not an average of rates. */
export function smoothSide(samples: { intervalMs: number; side: SideStats }[]): SmoothedSide {
  let ok = 0;
  let ms = 0;
  let failed = 0;
  for (const s of samples) {
    ok += s.side.ok;
    ms += s.intervalMs;
    failed += s.side.failed;
  }
  return {
    perSecond: ms > 0 ? (ok * 1_000) / ms : null,
    p50Ms: mean(samples.map((s) => s.side.p50Ms)),
    p99Ms: mean(samples.map((s) => s.side.p99Ms)),
    failed,
  };
}

export function smoothPatternSide(samples: { intervalMs: number; side: PatternSide }[]): SmoothedPatternSide {
  return {
    ...smoothSide(samples),
    holding: mean(samples.map((s) => s.side.holding)),
    waiting: mean(samples.map((s) => s.side.waiting)),
  };
}

/** The time the panels' figures cover: the window's intervals together (a run's first ones cover less). */
export function windowMs(samples: { intervalMs: number }[]): number {
  return samples.reduce((sum, s) => sum + s.intervalMs, 0);
}

/** How many times the pool's throughput the per-request side's is; null when either is unknown or the divisor is 0. */
export function throughputRatio(pooled: number | null, perRequest: number | null): number | null {
  if (pooled === null || perRequest === null || !Number.isFinite(pooled) || !Number.isFinite(perRequest)) return null;
  if (perRequest <= 0) return null;
  return pooled / perRequest;
}

/** "17.7×", "–" when unknown. */
export function formatRatio(r: number | null): string {
  if (r === null || !Number.isFinite(r)) return '–';
  return r >= 100 ? `${Math.round(r)}×` : `${r.toFixed(1)}×`;
}

export interface WaterfallSegment {
  key: 'socket' | 'ssh' | 'tls' | 'auth' | 'ready';
  label: string;
  ms: number;
  /** Share of the bar, 0..100. */
  percent: number;
}

/**
 * The handshake phases as bar segments, TLS only when the connection used it. Through an
 * SSH tunnel the first leg is the SSH channel (the bastion's connect included), not a socket.
 */
export function waterfallSegments(h: { socketMs: number; sshMs: number | null; tlsMs: number | null; authMs: number; readyMs: number }): WaterfallSegment[] {
  const parts: Omit<WaterfallSegment, 'percent'>[] = [
    h.sshMs === null ? { key: 'socket', label: 'socket', ms: h.socketMs } : { key: 'ssh', label: 'SSH channel', ms: h.sshMs },
    ...(h.tlsMs === null ? [] : [{ key: 'tls' as const, label: 'TLS', ms: h.tlsMs }]),
    { key: 'auth', label: 'authentication', ms: h.authMs },
    { key: 'ready', label: 'ready', ms: h.readyMs },
  ];
  const total = parts.reduce((a, p) => a + Math.max(0, p.ms), 0);
  return parts.map((p) => ({ ...p, percent: total > 0 ? (Math.max(0, p.ms) / total) * 100 : 100 / parts.length }));
}
