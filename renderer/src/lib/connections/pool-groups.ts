// The connections table's rows grouped under their pool: the active pool first, then attached
// apps' pools, then pools a new target or new settings replaced (draining, each can be ended),
// then Poolscope's side pools. Replaced pools' rows piled up above the active pool's; now each group says what it
// is and can be collapsed. Pure, no DOM.

import type { PoolView, SourceView } from '../../../../shared/snapshot';
import { appName } from '../../../../shared/sources';
import type { ConnRow } from '../store/view';

export type PoolRole = 'active' | 'app' | 'replaced' | 'side';

export interface PoolGroup {
  poolId: string;
  role: PoolRole;
  /** What the pool is, in words: "active pool", "app pid 4242". */
  label: string;
  /** The pool's target as shown, for an app's pool and a replaced pool on another target. */
  target: string;
  connections: number;
  leaked: number;
  collapsed: boolean;
}

export type TableItem = { kind: 'group'; group: PoolGroup } | { kind: 'row'; row: ConnRow };

const ORDER: Record<PoolRole, number> = { active: 0, app: 1, replaced: 2, side: 3 };

/** An app's pool is never "replaced" (its own end() drains it) nor offered an end. */
function describe(pool: PoolView | undefined, app: SourceView | null, activePoolId: string | null): { role: PoolRole; label: string } {
  if (app !== null) return { role: 'app', label: appName(app) };
  if (pool?.id === activePoolId) return { role: 'active', label: 'active pool' };
  if (pool && (pool.status === 'draining' || pool.status === 'ending')) return { role: 'replaced', label: 'replaced, draining' };
  return { role: 'side', label: "Poolscope's side pool" };
}

/** Group headers and the rows of expanded groups, in table order. */
export function groupRows(rows: readonly ConnRow[], pools: readonly PoolView[], activePoolId: string | null, collapsed: ReadonlySet<string>): TableItem[] {
  const byPool = new Map<string, ConnRow[]>();
  for (const r of rows) {
    const list = byPool.get(r.poolId);
    if (list) list.push(r);
    else byPool.set(r.poolId, [r]);
  }
  const poolOf = new Map(pools.map((p) => [p.id, p]));
  const groups = [...byPool].map(([poolId, list]) => {
    const pool = poolOf.get(poolId);
    const app = list[0]?.app ?? null;
    const { role, label } = describe(pool, app, activePoolId);
    const group: PoolGroup = { poolId, role, label, target: pool?.target.display ?? '', connections: list.length, leaked: list.filter((r) => r.leak).length, collapsed: collapsed.has(poolId) };
    return { group, list };
  });
  // Pool ids are p<n> in creation order: within a role, the newest first.
  const n = (id: string) => Number(id.slice(1));
  groups.sort((a, b) => ORDER[a.group.role] - ORDER[b.group.role] || n(b.group.poolId) - n(a.group.poolId));
  const items: TableItem[] = [];
  for (const { group, list } of groups) {
    items.push({ kind: 'group', group });
    if (!group.collapsed) for (const row of list) items.push({ kind: 'row', row });
  }
  return items;
}
