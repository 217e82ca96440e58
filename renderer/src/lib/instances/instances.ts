// Many app instances against one database: each instance is its own real pool, and the
// server counts every connection of every instance against one max_connections.

import { type PoolCounts, type Snapshot, poolCounts } from '../../../../shared/snapshot';

export interface InstanceGroup {
  poolId: string;
  /** "instance 1".."instance K", in the order the engine started them. */
  label: string;
  counts: PoolCounts;
  /** Connections the server refused this instance (too many clients). */
  refusals: number;
}

export interface InstancesView {
  running: boolean;
  count: number;
  poolSize: number;
  query: string;
  groups: InstanceGroup[];
  /** instances × pool size: what the instances would open if the server let them. */
  planned: number;
  refusals: number;
  lastRefusal: { label: string; message: string; t: number } | null;
}

export function instanceLabel(poolIds: readonly string[], poolId: string): string {
  const i = poolIds.indexOf(poolId);
  return i < 0 ? poolId : `instance ${i + 1}`;
}

/** The instances as groups with their counts, or null when none were ever started. */
export function instancesView(s: Snapshot): InstancesView | null {
  const inst = s.instances;
  if (!inst) return null;
  const groups = inst.poolIds.map((poolId) => ({ poolId, label: instanceLabel(inst.poolIds, poolId), counts: poolCounts(s, poolId), refusals: inst.refusals[poolId] ?? 0 }));
  const last = inst.lastRefusal;
  return {
    running: inst.running,
    count: inst.count,
    poolSize: inst.poolSize,
    query: inst.query,
    groups,
    planned: inst.count * inst.poolSize,
    refusals: groups.reduce((n, g) => n + g.refusals, 0),
    lastRefusal: last ? { label: instanceLabel(inst.poolIds, last.poolId), message: last.message, t: last.t } : null,
  };
}
