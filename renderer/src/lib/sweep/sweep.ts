// The pool-size sweep: throughput measured at each size, and the sweet spot, the size past
// which more connections stop paying (the server's cores and disks are the limit, not the pool).

import type { Snapshot } from '../../../../shared/snapshot';

export type SweepPoint = NonNullable<Snapshot['sweep']>['points'][number];

/** A size within this share of the best throughput counts as as good as the best. */
export const SWEET_SPOT_SHARE = 0.95;

/**
 * The smallest pool size that reaches SWEET_SPOT_SHARE of the best throughput measured:
 * a bigger pool costs server memory and contention for (almost) nothing. Null without a
 * point that served anything.
 */
export function sweetSpot(points: readonly SweepPoint[]): SweepPoint | null {
  let best = 0;
  for (const p of points) best = Math.max(best, p.throughput);
  if (!(best > 0)) return null;
  let pick: SweepPoint | null = null;
  for (const p of points) if (p.throughput >= best * SWEET_SPOT_SHARE && (pick === null || p.size < pick.size)) pick = p;
  return pick;
}

/** Smallest pool size first (a restarted size is measured again: its latest point counts). */
export function bySize(points: readonly SweepPoint[]): SweepPoint[] {
  const latest = new Map<number, SweepPoint>();
  for (const p of points) latest.set(p.size, p);
  return [...latest.values()].sort((a, b) => a.size - b.size);
}

/** Chart columns by pool size: x, throughput, p50, and the sweet spot alone (a marker). */
export function sweepColumns(points: readonly SweepPoint[]): [number[], (number | null)[], (number | null)[], (number | null)[]] {
  const sorted = bySize(points);
  const spot = sweetSpot(sorted);
  return [
    sorted.map((p) => p.size),
    sorted.map((p) => p.throughput),
    sorted.map((p) => p.p50Ms),
    sorted.map((p) => (p === spot ? p.throughput : null)),
  ];
}
