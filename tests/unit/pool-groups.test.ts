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
  // p1 replaced by p2 (draining), p2 replaced by p3 (active), p4 a side pool, p5 an attached
  // app's pool that is ending; p1's rows opened first.
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
    ev({ type: 'source.attached', sourceId: 's1', pid: 4242, command: 'node server.js', runtime: 'Node v20.20.2', thread: 2 }),
    ev({ type: 'pool.created', poolId: 'p5', target, settings: pgSettings() }),
    ev({ type: 'source.pooled', sourceId: 's1', poolId: 'p5', driver: 'pg 8.23.1' }),
    ...open('p5', 6),
    ev({ type: 'pool.draining', poolId: 'p5', waiting: 0, holding: 0 }),
  ]);
  const view = buildView(s);

  it('puts the active pool first, then attached apps\' pools, then replaced pools newest first, then side pools', () => {
    const items = groupRows(view.connections, view.pools, 'p3', new Set());
    expect(items.map((i) => (i.kind === 'group' ? `${i.group.poolId}:${i.group.role}` : i.row.id))).toEqual([
      'p3:active',
      'p3.c3',
      'p3.c4',
      'p5:app',
      'p5.c6',
      'p2:replaced',
      'p2.c2',
      'p1:replaced',
      'p1.c1',
      'p4:side',
      'p4.c5',
    ]);
  });

  it("names an app's pool by its process and target, never as Poolscope's, even while it drains", () => {
    const groups = groupRows(view.connections, view.pools, 'p3', new Set()).flatMap((i) => (i.kind === 'group' ? [i.group] : []));
    expect(groups.map((g) => [g.poolId, g.label])).toEqual([
      ['p3', 'active pool'],
      ['p5', 'app pid 4242 thread 2'],
      ['p2', 'replaced, draining'],
      ['p1', 'replaced, draining'],
      ['p4', "Poolscope's side pool"],
    ]);
    expect(groups.find((g) => g.poolId === 'p5')?.target).toBe(target.display);
  });

  it('hides a collapsed pool\'s rows and keeps its header with the count', () => {
    const items = groupRows(view.connections, view.pools, 'p3', new Set(['p3']));
    expect(items[0]).toMatchObject({ kind: 'group', group: { poolId: 'p3', collapsed: true, connections: 2 } });
    expect(items.some((i) => i.kind === 'row' && i.row.poolId === 'p3')).toBe(false);
  });
});
