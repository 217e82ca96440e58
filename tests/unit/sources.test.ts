import { describe, expect, it } from 'vitest';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { snapshotSchema } from '../../shared/event-schema';
import { reduceAll } from '../../shared/reducer';
import { emptySnapshot } from '../../shared/snapshot';
import { attachedRows, sourceOfBorrower } from '../../shared/sources';

// An attached app as the engine reports it (main/engine/attach/attached-source.ts), folded by
// the one reducer: the source, its pool among Poolscope's own, and where it holds connections.

const target = {
  engine: 'postgres' as const,
  host: '127.0.0.1',
  port: 5432,
  database: 'app',
  user: 'app',
  tls: { mode: 'disable' as const, use: 'off' as const, ca: null, cert: null, key: null },
  ssh: null,
  display: 'postgres://app@127.0.0.1:5432/app',
  embedded: false,
};
const settings = { max: 2, acquireTimeoutMs: 0, acquireTimeoutByEngine: false, idleTimeoutMs: 10_000, queryTimeoutMs: 0, min: 0, maxUses: null, maxLifetimeSeconds: null, maxIdle: null, queueLimit: null, waitForConnections: null };
const handshake = { socketMs: 0, sshMs: null, tlsMs: null, authMs: 0, readyMs: 0, totalMs: 3 };

function events(bodies: PoolEventBody[]): PoolEvent[] {
  return bodies.map((b, i) => ({ ...b, seq: i + 1, t: 1_000 + i * 10 }) as PoolEvent);
}

const attachedApp: PoolEventBody[] = [
  { type: 'pool.created', poolId: 'p1', target, settings },
  { type: 'source.attached', sourceId: 's1', pid: 4242, command: 'node server.js', runtime: 'Node v20.20.2' },
  { type: 'pool.created', poolId: 'p2', target, settings },
  { type: 'source.pooled', sourceId: 's1', poolId: 'p2', driver: 'pg 8.23.1' },
  { type: 'connection.connecting', poolId: 'p2', connId: 'p2.c1' },
  { type: 'connection.opened', connId: 'p2.c1', serverId: 777, handshake },
  { type: 'borrower.enqueued', poolId: 'p2', borrowerId: 'p2.b1', label: 'pid 4242', site: 'routes/orders.js:42', deadline: null },
  { type: 'borrower.acquired', borrowerId: 'p2.b1', connId: 'p2.c1', waitedMs: 1 },
  { type: 'borrower.flagged', borrowerId: 'p2.b1', connId: 'p2.c1', heldMs: 5_000, thresholdMs: 2_000 },
  { type: 'borrower.enqueued', poolId: 'p2', borrowerId: 'p2.b2', label: 'pid 4242', site: 'routes/orders.js:57', deadline: null },
];

describe('attached sources in the snapshot', () => {
  it("lists the app with its pool, gauges and the holder's call site, flagged", () => {
    const s = reduceAll(emptySnapshot(), events(attachedApp));
    const [row] = attachedRows(s);
    expect(row?.source).toMatchObject({ id: 's1', pid: 4242, status: 'attached', poolIds: ['p2'], drivers: ['pg 8.23.1'] });
    expect(row?.pools).toHaveLength(1);
    expect(row?.pools[0]?.counts).toMatchObject({ borrowed: 1, waiting: 1, max: 2 });
    expect(row?.pools[0]?.holders).toEqual([{ borrowerId: 'p2.b1', site: 'routes/orders.js:42', acquiredAt: 1_070, flagged: true }]);
  });

  it("tells an attached app's borrowers from Poolscope's own", () => {
    const s = reduceAll(emptySnapshot(), events(attachedApp));
    expect(sourceOfBorrower(s, 'p2.b1')?.pid).toBe(4242);
    expect(sourceOfBorrower(s, 'p1.b1')).toBeNull();
  });

  it('keeps a detached app with what it reported, and the snapshot passes its schema (a recording of it can be opened)', () => {
    const s = reduceAll(emptySnapshot(), events([...attachedApp, { type: 'source.dropped', sourceId: 's1', dropped: 12 }, { type: 'source.noted', sourceId: 's1', message: 'mysql2 2.3.0 is outside the tested range' }, { type: 'source.detached', sourceId: 's1' }]));
    expect(s.sources.s1).toMatchObject({ status: 'detached', dropped: 12, notes: ['mysql2 2.3.0 is outside the tested range'] });
    expect(snapshotSchema.safeParse(JSON.parse(JSON.stringify(s))).success).toBe(true);
  });

  it("keeps an app's site budget and its count of borrowers not sampled; a recording from before the budget opens as every borrow captured", () => {
    const budgeted: PoolEventBody[] = [{ ...attachedApp[1], siteBudget: 100 } as PoolEventBody, ...attachedApp.slice(2), { type: 'source.unsampled', sourceId: 's1', notSampled: 37 }];
    const s = reduceAll(emptySnapshot(), events(budgeted));
    expect(attachedRows(s)[0]?.source).toMatchObject({ siteBudget: 100, notSampled: 37 });
    expect(snapshotSchema.safeParse(JSON.parse(JSON.stringify(s))).success).toBe(true);
    const before = JSON.parse(JSON.stringify(reduceAll(emptySnapshot(), events(attachedApp)))) as { sources: Record<string, Record<string, unknown>> };
    delete before.sources.s1!.siteBudget;
    delete before.sources.s1!.notSampled;
    expect(snapshotSchema.parse(before).sources.s1).toMatchObject({ siteBudget: null, notSampled: 0 });
  });
});
