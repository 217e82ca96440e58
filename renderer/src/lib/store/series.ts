// Time series for the charts: one sample every 500 ms for the last 10 minutes, in
// fixed-size typed-array rings (no allocation per sample). Gauges are read from the
// snapshot as they are at the sample; rates and acquire-wait percentiles describe the
// interval since the previous sample, from the deltas of the snapshot's cumulative
// counters and histogram.

import { HISTOGRAM_BUCKETS, bucketUpperMs, quantile, type Histogram } from '../../../../shared/histogram';
import { poolCounts, type Snapshot } from '../../../../shared/snapshot';

export const SAMPLE_MS = 500;
export const SERIES_CAPACITY = (10 * 60 * 1_000) / SAMPLE_MS;

export const SERIES_KEYS = [
  'total',
  'idle',
  'borrowed',
  'connecting',
  'waiting',
  'p50',
  'p95',
  'p99',
  'throughput',
  'timeouts',
  'errors',
  'opened',
  'closed',
  'serverSessions',
  'maxConnections',
  'planned',
] as const;
export type SeriesKey = (typeof SERIES_KEYS)[number];

/** Chronological columns for a chart: `t` in seconds since the epoch, values null where unknown. */
export type SeriesColumns = { t: number[] } & Record<SeriesKey, (number | null)[]>;

interface Cumulative {
  acquired: number;
  timedOut: number;
  errors: number;
  opened: number;
  closed: number;
  wait: number[];
  waitTotal: number;
}

function cumulative(s: Snapshot): Cumulative {
  const c = s.counters;
  return {
    acquired: c.acquired,
    timedOut: c.timedOut,
    errors: c.statementErrors + c.failed,
    opened: c.opened,
    closed: c.closed,
    wait: s.acquireWait.counts.slice(),
    waitTotal: s.acquireWait.total,
  };
}

/** The histogram of what was recorded between `prev` and `cur` (both cumulative). */
export function histogramDelta(prev: readonly number[], cur: Histogram): Histogram {
  const counts = new Array<number>(HISTOGRAM_BUCKETS).fill(0);
  let total = 0;
  let top = -1;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    const d = (cur.counts[i] ?? 0) - (prev[i] ?? 0);
    if (d > 0) {
      counts[i] = d;
      total += d;
      top = i;
    }
  }
  // The interval's max is not known; the upper bound of its highest bucket (capped by the
  // max ever seen) is what quantile() would report for it anyway.
  const maxMs = top < 0 ? 0 : Math.min(bucketUpperMs(top), cur.maxMs);
  return { counts, total, maxMs };
}

export class SeriesSampler {
  readonly capacity: number;
  readonly #t: Float64Array;
  readonly #cols: Record<SeriesKey, Float64Array>;
  #head = 0;
  #length = 0;
  #prev: Cumulative | null = null;
  #prevT = 0;
  #poolId: string | null = null;

  constructor(capacity = SERIES_CAPACITY) {
    this.capacity = capacity;
    this.#t = new Float64Array(capacity);
    this.#cols = Object.fromEntries(SERIES_KEYS.map((k) => [k, new Float64Array(capacity).fill(NaN)])) as Record<SeriesKey, Float64Array>;
  }

  get length(): number {
    return this.#length;
  }

  /** Forget the baseline: the next sample has gauges but no rates (after a host restart, say). */
  resetBaseline(): void {
    this.#prev = null;
  }

  /** Records one sample at time `t` (ms) from the snapshot as it is now. */
  sample(t: number, s: Snapshot): void {
    const i = this.#head;
    this.#head = (this.#head + 1) % this.capacity;
    if (this.#length < this.capacity) this.#length++;
    this.#t[i] = t;

    const poolId = s.activePoolId;
    const counts = poolId === null ? null : poolCounts(s, poolId);
    const cols = this.#cols;
    cols.total[i] = counts ? counts.total : NaN;
    cols.idle[i] = counts ? counts.idle : NaN;
    cols.borrowed[i] = counts ? counts.borrowed : NaN;
    cols.connecting[i] = counts ? counts.connecting : NaN;
    cols.waiting[i] = counts ? counts.waiting : NaN;
    // The server's side: every session it lists, against its limit and what the running
    // app instances would open (instances × pool size). The monitor always lists its own
    // session, so an empty list is a failed read: a gap, not a drop to zero.
    cols.serverSessions[i] = s.server && s.server.sessions.length > 0 ? s.server.sessions.length : NaN;
    cols.maxConnections[i] = s.server?.maxConnections ?? NaN;
    cols.planned[i] = s.instances?.running ? s.instances.count * s.instances.poolSize : NaN;

    const cur = cumulative(s);
    const prev = this.#prev;
    const dt = (t - this.#prevT) / 1_000;
    const restarted =
      prev !== null &&
      (cur.acquired < prev.acquired || cur.timedOut < prev.timedOut || cur.errors < prev.errors || cur.opened < prev.opened || cur.closed < prev.closed || cur.waitTotal < prev.waitTotal);
    if (prev === null || restarted || !(dt > 0)) {
      for (const k of ['throughput', 'timeouts', 'errors', 'opened', 'closed', 'p50', 'p95', 'p99'] as const) cols[k][i] = NaN;
    } else {
      cols.throughput[i] = (cur.acquired - prev.acquired) / dt;
      cols.timeouts[i] = (cur.timedOut - prev.timedOut) / dt;
      cols.errors[i] = (cur.errors - prev.errors) / dt;
      cols.opened[i] = (cur.opened - prev.opened) / dt;
      cols.closed[i] = (cur.closed - prev.closed) / dt;
      const h = histogramDelta(prev.wait, s.acquireWait);
      cols.p50[i] = quantile(h, 0.5) ?? NaN;
      cols.p95[i] = quantile(h, 0.95) ?? NaN;
      cols.p99[i] = quantile(h, 0.99) ?? NaN;
    }
    this.#prev = cur;
    this.#prevT = t;
    this.#poolId = poolId;
  }

  /** The pool the last sample's gauges describe. */
  get poolId(): string | null {
    return this.#poolId;
  }

  /** The most recent value of a series (null when unknown or no sample yet). */
  latest(key: SeriesKey): number | null {
    if (this.#length === 0) return null;
    const v = this.#cols[key][(this.#head - 1 + this.capacity) % this.capacity] as number;
    return Number.isNaN(v) ? null : v;
  }

  /** Oldest first, as plain arrays a chart can take (NaN becomes null: a gap in the line). */
  columns(): SeriesColumns {
    const n = this.#length;
    const start = (this.#head - n + this.capacity) % this.capacity;
    const t = new Array<number>(n);
    for (let j = 0; j < n; j++) t[j] = (this.#t[(start + j) % this.capacity] as number) / 1_000;
    const out = { t } as SeriesColumns;
    for (const k of SERIES_KEYS) {
      const col = this.#cols[k];
      const a = new Array<number | null>(n);
      for (let j = 0; j < n; j++) {
        const v = col[(start + j) % this.capacity] as number;
        a[j] = Number.isNaN(v) ? null : v;
      }
      out[k] = a;
    }
    return out;
  }
}
