// The last stretch of the sampled series, for the picture's one-minute chart.

import { SAMPLE_MS, type SeriesColumns, type SeriesKey } from '../store/series';

/** [t, ...keys] over the last `ms` of samples (the sampler keeps ten minutes). */
export function recentColumns(series: SeriesColumns, keys: readonly SeriesKey[], ms: number): [number[], ...(number | null)[][]] {
  const from = Math.max(0, series.t.length - Math.ceil(ms / SAMPLE_MS));
  return [series.t.slice(from), ...keys.map((k) => series[k].slice(from))];
}
