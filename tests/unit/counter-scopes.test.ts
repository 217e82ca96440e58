import { describe, expect, it } from 'vitest';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { reduceAll } from '../../shared/reducer';
import { emptySnapshot } from '../../shared/snapshot';
import { buildView } from '../../renderer/src/lib/store/view';
import { handshake, pgSettings, target } from './helpers/fixtures';

let seq = 0;
const ev = (b: PoolEventBody, t = 10_000 + seq): PoolEvent => ({ ...b, seq: ++seq, t }) as PoolEvent;

function held(poolId: string, n: number, label: string): PoolEvent[] {
  const connId = `${poolId}.c${n}`;
  const borrowerId = `${poolId}.b${n}`;
  return [
    ev({ type: 'connection.connecting', poolId, connId }),
    ev({ type: 'connection.opened', connId, serverId: 100 * Number(poolId.slice(1)) + n, handshake }),
    ev({ type: 'borrower.enqueued', poolId, borrowerId, label, site: 'shop.ts:1', deadline: null }),
    ev({ type: 'borrower.acquired', borrowerId, connId, waitedMs: 1 }),
  ];
}

describe('what each counter counts', () => {
  // p1 replaced by p2 (new settings) still holds a leaked connection; p3 is a side pool.
  const s = reduceAll(emptySnapshot(), [
    ev({ type: 'pool.created', poolId: 'p1', target, settings: pgSettings({ max: 4 }) }),
    ev({ type: 'pool.verified', poolId: 'p1', serverVersion: '18', tls: null }),
    ...held('p1', 1, 'load #1 (leaked)'),
    ev({ type: 'pool.created', poolId: 'p2', target, settings: pgSettings({ max: 5 }) }),
    ev({ type: 'pool.verified', poolId: 'p2', serverVersion: '18', tls: null }),
    ev({ type: 'pool.draining', poolId: 'p1', waiting: 0, holding: 1 }),
    ...held('p2', 1, 'load #1'),
    ...held('p2', 2, 'leaked request'),
    ev({ type: 'pool.created', poolId: 'p3', target, settings: pgSettings({ max: 3 }) }),
    ...held('p3', 1, 'per-request #1'),
    ev({ type: 'borrower.flagged', borrowerId: 'p2.b2', connId: 'p2.c2', heldMs: 5_000, thresholdMs: 1_000 }),
  ]);
  const view = buildView(s);

  it('the gauges count the active pool; the total across pools is what the table lists', () => {
    expect(view.counts).toMatchObject({ total: 2, borrowed: 2, max: 5 });
    expect(view.allCounts).toMatchObject({ total: 4, borrowed: 4, max: 12 });
    expect(view.allCounts.total).toBe(view.connections.length);
    expect(view.openPools).toBe(3);
  });

  it('"leaked now" counts every pool\'s connections held by a leak, the same number the table flags', () => {
    expect(view.leakedNow).toBe(2);
    expect(view.connections.filter((c) => c.leak).map((c) => c.id)).toEqual(['p1.c1', 'p2.c2']);
    // Flagged since start is the engine's counter: a different thing, named differently on screen.
    expect(view.counters.leaksFlagged).toBe(1);
  });
});
