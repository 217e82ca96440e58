// A log-scale latency histogram: four buckets per doubling from 10 µs to ~80 s, so a
// percentile is read to within ~19% with a fixed, small array (no samples kept).

const MIN_MS = 0.01;
const PER_DOUBLING = 4;
export const HISTOGRAM_BUCKETS = 92;

export interface Histogram {
  counts: number[];
  total: number;
  maxMs: number;
}

export function emptyHistogram(): Histogram {
  return { counts: new Array<number>(HISTOGRAM_BUCKETS).fill(0), total: 0, maxMs: 0 };
}

function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  const i = Math.ceil(PER_DOUBLING * Math.log2(ms / MIN_MS));
  return Math.min(i, HISTOGRAM_BUCKETS - 1);
}

/** Upper bound of bucket i in milliseconds. */
export function bucketUpperMs(i: number): number {
  return MIN_MS * 2 ** (i / PER_DOUBLING);
}

export function record(h: Histogram, ms: number): void {
  const i = bucketOf(ms);
  h.counts[i] = (h.counts[i] ?? 0) + 1;
  h.total++;
  if (ms > h.maxMs) h.maxMs = ms;
}

/** The value at quantile q (0..1), as the upper bound of its bucket capped at the max seen; null when empty. */
export function quantile(h: Histogram, q: number): number | null {
  if (h.total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * h.total));
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i] ?? 0;
    if (seen >= rank) return Math.min(bucketUpperMs(i), h.maxMs);
  }
  return h.maxMs;
}
