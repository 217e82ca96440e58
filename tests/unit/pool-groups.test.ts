import { describe, expect, it } from 'vitest';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { reduceAll } from '../../shared/reducer';
import { emptySnapshot } from '../../shared/snapshot';
import { groupRows } from '../../renderer/src/lib/connections/pool-groups';
import { buildView } from '../../renderer/src/lib/store/view';
import { handshake, pgSettings, target } from './helpers/fixtures';

let seq = 0;
const ev = (b: PoolEventBody, t = 10_000 + seq): PoolEvent => ({ ...b, seq: ++seq, t }) as PoolEvent;
const open = (poolId: string, n: number): PoolEvent[] => [
  ev({ type: 'connection.connecting', poolId, connId: `${poolId}.c${n}` }),
  ev({ type: 'connection.opened', connId: `${poolId}.c${n}`, serverId: n, handshake }),
];

describe('connections grouped under their pool', () => {
  // p1 replaced by p2 (draining), p2 replaced by p3 (active), p4 a side pool; p1's rows opened first.
  const s = reduceAll(emptySnapshot(), [
    ev({ type: 'pool.created', poolId: 'p1', target, settings: pgSettings() }),
    ev({ type: 'pool.verified', poolId: 'p1', serverVersion: '18', tls: null }),
    ...open('p1', 1),
    ev({ type: 'pool.created', poolId: 'p2', target, settings: pgSettings() }),
    ev({ type: 'pool.verified', poolId: 'p2', serverVersion: '18', tls: null }),
    ev({ type: 'pool.draining', poolId: 'p1', waiting: 0, holding: 1 }),
    ...open('p2', 2),
    ev({ type: 'pool.created', poolId: 'p3', target, settings: pgSettings() }),
    ev({ type: 'pool.verified', poolId: 'p3', serverVersion: '18', tls: null }),
    ev({ type: 'pool.draining', poolId: 'p2', waiting: 0, holding: 1 }),
    ...open('p3', 3),
    ...open('p3', 4),
    ev({ type: 'pool.created', poolId: 'p4', target, settings: pgSettings() }),
    ...open('p4', 5),
  ]);
  const view = buildView(s);

  it('puts the active pool first, then replaced pools newest first, then side pools', () => {
    const items = groupRows(view.connections, view.pools, 'p3', new Set());
    expect(items.map((i) => (i.kind === 'group' ? `${i.group.poolId}:${i.group.role}` : i.row.id))).toEqual([
      'p3:active',
      'p3.c3',
      'p3.c4',
      'p2:replaced',
      'p2.c2',
      'p1:replaced',
      'p1.c1',
      'p4:side',
      'p4.c5',
    ]);
  });

  it('hides a collapsed pool\'s rows and keeps its header with the count', () => {
    const items = groupRows(view.connections, view.pools, 'p3', new Set(['p3']));
    expect(items[0]).toMatchObject({ kind: 'group', group: { poolId: 'p3', collapsed: true, connections: 2 } });
    expect(items.some((i) => i.kind === 'row' && i.row.poolId === 'p3')).toBe(false);
  });
});
