import { describe, expect, it } from 'vitest';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { reduce, reduceAll } from '../../shared/reducer';
import { CLOSED_KEPT, emptySnapshot, poolCounts } from '../../shared/snapshot';
import { quantile } from '../../shared/histogram';
import { handshake, pgSettings, target } from './helpers/fixtures';

let seq = 0;
const ev = (body: PoolEventBody, t = 1_000 + seq): PoolEvent => ({ ...body, seq: ++seq, t }) as PoolEvent;

const settings = pgSettings({ max: 2 });

function opened(connId: string): PoolEvent[] {
  return [ev({ type: 'connection.connecting', poolId: 'p1', connId }), ev({ type: 'connection.opened', connId, serverId: 42, handshake })];
}

describe('the shared reducer', () => {
  it('follows a connection and its borrower through a transaction, statement by statement', () => {
    const s = reduceAll(emptySnapshot(), [
      ev({ type: 'pool.created', poolId: 'p1', target, settings }),
      ...opened('c1'),
      ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'b1', label: 'load', site: 'a.ts:1', deadline: null }),
    ]);
    expect(s.connections.c1?.state).toBe('idle');
    expect(poolCounts(s)).toMatchObject({ total: 1, idle: 1, waiting: 1, max: 2 });

    reduce(s, ev({ type: 'borrower.acquired', borrowerId: 'b1', connId: 'c1', waitedMs: 3 }, 2_000));
    expect(s.connections.c1).toMatchObject({ state: 'borrowed', borrowerId: 'b1', uses: 1, stateSince: 2_000 });
    expect(s.waiting).toEqual([]);

    reduce(s, ev({ type: 'statement.started', connId: 'c1', sql: 'BEGIN' }));
    reduce(s, ev({ type: 'statement.finished', connId: 'c1', ms: 1, error: null }));
    reduce(s, ev({ type: 'tx.began', connId: 'c1' }, 2_100));
    expect(s.connections.c1).toMatchObject({ state: 'in-transaction', tx: 'active', txSince: 2_100, txStatements: 0 });
    reduce(s, ev({ type: 'statement.started', connId: 'c1', sql: 'SELECT 1/0' }));
    expect(s.connections.c1?.statement).toBe('SELECT 1/0');
    reduce(s, ev({ type: 'statement.finished', connId: 'c1', ms: 1, error: 'division by zero' }));
    reduce(s, ev({ type: 'tx.failed', connId: 'c1' }));
    expect(s.connections.c1).toMatchObject({ state: 'in-failed-transaction', txStatements: 1, lastError: 'division by zero', statement: null });
    reduce(s, ev({ type: 'tx.ended', connId: 'c1', outcome: 'rolled back' }));
    reduce(s, ev({ type: 'borrower.released', borrowerId: 'b1', connId: 'c1', heldMs: 5, dirty: false, destroyed: false }));
    expect(s.connections.c1).toMatchObject({ state: 'idle', borrowerId: null, tx: 'idle' });
    expect(s.borrowers).toEqual({});
    expect(s.counters).toMatchObject({ acquired: 1, released: 1, statements: 2, statementErrors: 1, txBegan: 1, txFailed: 1, txRolledBack: 1 });
    expect(quantile(s.acquireWait, 0.5)).toBeCloseTo(3, 0);
  });

  it('keeps a broken connection out of the pool totals until it closes, then files it with its reason', () => {
    const s = reduceAll(emptySnapshot(), [ev({ type: 'pool.created', poolId: 'p1', target, settings }), ...opened('c1'), ...opened('c2')]);
    reduce(s, ev({ type: 'connection.broken', connId: 'c1', error: 'terminating connection due to administrator command' }));
    expect(poolCounts(s, 'p1')).toMatchObject({ total: 1, leaving: 1 });
    reduce(s, ev({ type: 'connection.closed', connId: 'c1', reason: 'terminated by server', error: null }));
    expect(Object.keys(s.connections)).toEqual(['c2']);
    expect(s.closed[0]).toMatchObject({ id: 'c1', state: 'closed', closeReason: 'terminated by server', lastError: 'terminating connection due to administrator command' });
    expect(s.counters.closedBy).toEqual({ 'terminated by server': 1 });
  });

  it('counts timed out and failed borrowers and drops them from the queue wherever they stand', () => {
    const s = emptySnapshot();
    for (const id of ['b1', 'b2', 'b3']) reduce(s, ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: id, label: id, site: '', deadline: 5 }));
    const diagnosis = { total: 0, borrowed: 0, idle: 0, connecting: 0, waiting: 1, max: 1, holders: [], cause: 'pool too small' as const, explanation: '' };
    reduce(s, ev({ type: 'borrower.timedout', borrowerId: 'b2', waitedMs: 5, message: 'x', diagnosis }));
    expect(s.lastTimeout).toMatchObject({ borrowerId: 'b2', label: 'b2', message: 'x' });
    reduce(s, ev({ type: 'borrower.failed', borrowerId: 'b1', waitedMs: 5, message: 'pool ended' }));
    expect(s.waiting).toEqual(['b3']);
    expect(s.counters).toMatchObject({ enqueued: 3, timedOut: 1, failed: 1 });
  });

  it('keeps only the latest closed connections', () => {
    const s = emptySnapshot();
    for (let i = 0; i < CLOSED_KEPT + 5; i++) {
      for (const e of opened(`c${i}`)) reduce(s, e);
      reduce(s, ev({ type: 'connection.closed', connId: `c${i}`, reason: 'idle timeout', error: null }));
    }
    expect(s.closed).toHaveLength(CLOSED_KEPT);
    expect(s.closed[0]?.id).toBe('c5');
    expect(s.counters.closed).toBe(CLOSED_KEPT + 5);
  });

  it("shows no load interval from another load once one starts or changes; a stopped load keeps its last", () => {
    const s = emptySnapshot();
    const load = (running: boolean, concurrency: number) => ev({ type: 'load.changed', running, concurrency, rate: null, query: 'sleep', sleepMs: 300, leakOneIn: null });
    const stats = (inFlight: number) => ev({ type: 'load.stats', intervalMs: 500, requests: 4, ok: 4, failed: 0, timedOut: 0, cancelled: 0, leaked: 0, shed: 0, inFlight, p50Ms: 300, p99Ms: 310 });
    reduceAll(s, [load(true, 5), stats(5), load(false, 5), stats(0)]);
    expect(s.loadStats?.inFlight).toBe(0);
    reduce(s, load(true, 30));
    expect(s.loadStats).toBeNull();
    reduceAll(s, [stats(30), load(true, 10)]);
    expect(s.loadStats).toBeNull();
  });

  it('rebuilds the same snapshot from the same events (a replay is exact)', () => {
    const events = [
      ev({ type: 'pool.created', poolId: 'p1', target, settings }),
      ...opened('c1'),
      ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'b1', label: 'x', site: '', deadline: null }),
      ev({ type: 'borrower.acquired', borrowerId: 'b1', connId: 'c1', waitedMs: 0.2 }),
    ];
    expect(reduceAll(emptySnapshot(), events)).toEqual(reduceAll(emptySnapshot(), structuredClone(events)));
  });

  it('ignores events about connections it never saw (a replay that starts mid-stream)', () => {
    const s = emptySnapshot();
    reduce(s, ev({ type: 'statement.started', connId: 'ghost', sql: 'SELECT 1' }));
    reduce(s, ev({ type: 'connection.closed', connId: 'ghost', reason: 'error', error: null }));
    expect(s.connections).toEqual({});
    expect(s.counters.statements).toBe(1);
  });
});

describe('faults, instances and the sweep in the reducer', () => {
  it('keeps an outage open until its recovery is measured, and the newest recoveries', () => {
    const s = reduceAll(emptySnapshot(), [
      ev({ type: 'fault.changed', toxics: { latencyMs: 20, jitterMs: 0, bandwidthKbps: 0, blackhole: true, refuse: false }, proxy: { listen: '127.0.0.1:4000', upstream: '127.0.0.1:5432' } }),
      ev({ type: 'fault.injected', faultId: 1, kind: 'blackhole', detail: 'blackhole' }, 5_000),
    ]);
    expect(s.faults.proxy?.listen).toBe('127.0.0.1:4000');
    expect(s.faults.open).toEqual([{ faultId: 1, kind: 'blackhole', detail: 'blackhole', startedAt: 5_000, liftedAt: null }]);
    reduce(s, ev({ type: 'fault.lifted', faultId: 1 }, 6_000));
    expect(s.faults.open[0]?.liftedAt).toBe(6_000);
    const recovery = { faultId: 1, kind: 'blackhole' as const, detail: 'blackhole', startedAt: 5_000, clearedAt: 6_000, servedAt: 6_040, failures: [{ message: 'Query read timeout', count: 2 }], lost: 1, opened: 1, socketsLeftOpen: 0 };
    reduce(s, ev({ type: 'fault.recovered', ...recovery }));
    expect(s.faults.open).toEqual([]);
    expect(s.faults.recoveries).toEqual([recovery]);
  });

  it("counts the server's refusals per instance, and only the server's", () => {
    const s = reduceAll(emptySnapshot(), [
      ev({ type: 'instances.changed', running: true, count: 2, poolSize: 20, query: 'sleep', poolIds: ['p2', 'p3'] }),
      ev({ type: 'connection.connecting', poolId: 'p3', connId: 'p3.c1' }),
      ev({ type: 'connection.closed', connId: 'p3.c1', reason: 'connect failed', error: 'sorry, too many clients already' }),
      ev({ type: 'connection.connecting', poolId: 'p2', connId: 'p2.c1' }),
      ev({ type: 'connection.closed', connId: 'p2.c1', reason: 'connect failed', error: 'connect ETIMEDOUT' }),
    ]);
    expect(s.instances?.refusals).toEqual({ p3: 1 });
    expect(s.instances?.lastRefusal).toMatchObject({ poolId: 'p3', message: 'sorry, too many clients already' });
    reduce(s, ev({ type: 'instances.changed', running: true, count: 1, poolSize: 5, query: 'sleep', poolIds: ['p4'] }));
    expect(s.instances?.refusals).toEqual({});
  });

  it('collects the sweep points of one run, and starts afresh with the next', () => {
    const run = { type: 'sweep.changed' as const, sizes: [1, 2], secondsEach: 1, clients: 8, query: 'cpu' };
    const s = reduceAll(emptySnapshot(), [
      ev({ ...run, running: true }),
      ev({ type: 'sweep.measured', size: 1, throughput: 100, p50Ms: 1, p99Ms: 2, failed: 0 }),
      ev({ ...run, running: false }),
    ]);
    expect(s.sweep?.points.map((p) => p.size)).toEqual([1]);
    reduce(s, ev({ ...run, running: true }));
    expect(s.sweep?.points).toEqual([]);
  });
});
