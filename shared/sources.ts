import { type PoolCounts, type Snapshot, type SourceView, poolCounts } from './snapshot';

// Attached apps (`poolscope attach`) as the UI shows them, and the rule that keeps Poolscope's
// hands off their pools: it watches them, and only the app borrows, releases or destroys.

/** The attached app a pool belongs to, or null for Poolscope's own pools. */
export function sourceOfPool(s: Snapshot, poolId: string): SourceView | null {
  for (const src of Object.values(s.sources)) if (src.poolIds.includes(poolId)) return src;
  return null;
}

/** How an attached app is named on screen: "app pid 4242", "app pid 4242 thread 2". */
export function appName(src: SourceView): string {
  return `app pid ${src.pid}${src.thread === null ? '' : ` thread ${src.thread}`}`;
}

/** The attached app a borrower's pool belongs to (the pool is the id's prefix, `p3.b7` → `p3`). */
export function sourceOfBorrower(s: Snapshot, borrowerId: string): SourceView | null {
  const dot = borrowerId.indexOf('.');
  return dot > 0 ? sourceOfPool(s, borrowerId.slice(0, dot)) : null;
}

export interface AttachedHolder {
  borrowerId: string;
  site: string;
  acquiredAt: number | null;
  flagged: boolean;
}

export interface AttachedPoolRow {
  poolId: string;
  display: string;
  status: string;
  counts: PoolCounts;
  /** Holders, oldest first: where the app holds its connections. */
  holders: AttachedHolder[];
}

export interface AttachedSourceRow {
  source: SourceView;
  pools: AttachedPoolRow[];
}

export function attachedRows(s: Snapshot): AttachedSourceRow[] {
  return Object.values(s.sources).map((source) => ({
    source,
    pools: source.poolIds.map((poolId) => {
      const holders: AttachedHolder[] = [];
      for (const b of Object.values(s.borrowers)) {
        if (b.poolId === poolId && b.state === 'holding') holders.push({ borrowerId: b.id, site: b.site, acquiredAt: b.acquiredAt, flagged: b.flagged });
      }
      holders.sort((a, b) => (a.acquiredAt ?? 0) - (b.acquiredAt ?? 0));
      const pool = s.pools[poolId];
      return { poolId, display: pool?.target.display ?? poolId, status: pool?.status ?? 'ended', counts: poolCounts(s, poolId), holders };
    }),
  }));
}
