// Latency samples and the figures drawn from them. Samples are kept whole (a run of a
// few seconds holds at most some hundred thousand) so percentiles are exact, not binned.

export class Samples {
  #data = new Float64Array(4_096);
  #n = 0;

  add(v: number): void {
    if (this.#n === this.#data.length) {
      const grown = new Float64Array(this.#data.length * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#data[this.#n++] = v;
  }

  addAll(other: Samples): void {
    for (const v of other.values()) this.add(v);
  }

  get count(): number {
    return this.#n;
  }

  values(): Float64Array {
    return this.#data.subarray(0, this.#n);
  }

  /** Nearest-rank percentile (q in 0..1); NaN without samples. */
  quantile(q: number): number {
    if (this.#n === 0) return Number.NaN;
    const sorted = this.values().slice().sort();
    return sorted[Math.min(this.#n - 1, Math.max(0, Math.ceil(q * this.#n) - 1))] as number;
  }
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The median and the interquartile range (nearest-rank 25th and 75th percentiles) of `xs`. */
function quartiles(xs: readonly number[]): { low: number; median: number; high: number } {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
  return { low: rank(0.25), median: median(s), high: rank(0.75) };
}

/** A side's ratios to bare, one per interleaved round: their median and interquartile range. */
export interface Ratio {
  median: number;
  low: number;
  high: number;
}

/** `side[r] / bare[r]` for each round r, summed up as a Ratio. */
export function ratioOf(side: readonly number[], bare: readonly number[]): Ratio {
  const q = quartiles(side.map((v, r) => v / (bare[r] as number)));
  return { median: round(q.median, 4), low: round(q.low, 4), high: round(q.high, 4) };
}

export const round = (v: number, digits = 2): number => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
