import { describe, expect, it } from 'vitest';
import { snapshotSchema } from '../../shared/event-schema';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { reduce, reduceAll } from '../../shared/reducer';
import { SMOOTH_INTERVALS, emptySnapshot } from '../../shared/snapshot';
import { formatDuration, formatMs, serverName, targetSummary } from '../../renderer/src/lib/format';
import { LANE_SLOTS, StateHistory, stateOfCode } from '../../renderer/src/lib/store/state-history';
import { buildView, idleInTxMs, isIdleInTransaction, isLeakHolder } from '../../renderer/src/lib/store/view';
import { handshake, pgSettings } from './helpers/fixtures';

const settings = pgSettings({ max: 10, idleTimeoutMs: 10_000 });
const target = {
  engine: 'postgres' as const,
  host: '127.0.0.1',
  port: 5432,
  database: 'poolscope_demo',
  user: 'postgres',
  tls: { mode: 'disable' as const, use: 'off' as const, ca: null, cert: null, key: null },
  ssh: null,
  display: 'postgres://postgres@127.0.0.1:5432/poolscope_demo',
  embedded: true,
};

let seq = 0;
const ev = (b: PoolEventBody, t = 10_000 + seq): PoolEvent => ({ ...b, seq: ++seq, t }) as PoolEvent;

function base() {
  return reduceAll(emptySnapshot(), [
    ev({ type: 'pool.created', poolId: 'p1', target, settings }),
    ev({ type: 'pool.verified', poolId: 'p1', serverVersion: '18.4', tls: null }),
    ev({ type: 'connection.connecting', poolId: 'p1', connId: 'p1.c1' }),
    ev({ type: 'connection.opened', connId: 'p1.c1', serverId: 4242, handshake }),
    ev({ type: 'connection.connecting', poolId: 'p1', connId: 'p1.c2' }),
    ev({ type: 'connection.opened', connId: 'p1.c2', serverId: 4243, handshake }),
    ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'p1.b1', label: 'checkout', site: 'shop.ts:42', deadline: null }),
    ev({ type: 'borrower.acquired', borrowerId: 'p1.b1', connId: 'p1.c1', waitedMs: 1 }, 20_000),
  ]);
}

describe('the view built for the components', () => {
  it('resolves holders, keeps insertion order and lists transactions', () => {
    const s = base();
    reduce(s, ev({ type: 'tx.began', connId: 'p1.c1' }, 21_000));
    const v = buildView(s);
    expect(v.connections.map((c) => c.id)).toEqual(['p1.c1', 'p1.c2']);
    expect(v.connections[0]).toMatchObject({ state: 'in-transaction', serverId: 4242, holderLabel: 'checkout', holderSite: 'shop.ts:42' });
    expect(v.transactions.map((c) => c.id)).toEqual(['p1.c1']);
    expect(v.counts).toMatchObject({ total: 2, idle: 1, borrowed: 1, max: 10 });
    expect(v.poolActive).toBe(true);
    // A copy: folding more events does not change what was published.
    reduce(s, ev({ type: 'tx.ended', connId: 'p1.c1', outcome: 'committed' }, 22_000));
    expect(v.connections[0]?.state).toBe('in-transaction');
    expect(buildView(s).transactions).toEqual([]);
  });

  it('flags idle in transaction after the threshold, counting from the last statement', () => {
    const s = base();
    reduce(s, ev({ type: 'tx.began', connId: 'p1.c1' }, 21_000));
    reduce(s, ev({ type: 'statement.started', connId: 'p1.c1', sql: 'UPDATE x' }, 21_500));
    let r = buildView(s).transactions[0];
    if (!r) throw new Error('no transaction row');
    // A statement is running: not idle.
    expect(idleInTxMs(r, 40_000)).toBeNull();
    reduce(s, ev({ type: 'statement.finished', connId: 'p1.c1', ms: 500, error: null }, 22_000));
    r = buildView(s).transactions[0];
    if (!r) throw new Error('no transaction row');
    expect(idleInTxMs(r, 26_000)).toBe(4_000);
    expect(isIdleInTransaction(r, 26_000, 5_000)).toBe(false);
    expect(isIdleInTransaction(r, 27_000, 5_000)).toBe(true);
    expect(isIdleInTransaction(r, 24_000, 1_000)).toBe(true);
  });

  it('marks leaked holders, dirty receipts and carries what the controls show', () => {
    const s = base();
    reduceAll(s, [
      ev({ type: 'leak.thresholdset', thresholdMs: 500 }),
      ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'p1.b2', label: 'leaked request', site: 'leaky.ts:8', deadline: null }),
      ev({ type: 'borrower.acquired', borrowerId: 'p1.b2', connId: 'p1.c2', waitedMs: 0 }, 20_500),
    ]);
    let v = buildView(s);
    expect(v.leakThresholdMs).toBe(500);
    expect(v.connections.map((c) => [c.id, c.leak, c.holderFlagged, c.holderAcquiredAt])).toEqual([
      ['p1.c1', false, false, 20_000],
      ['p1.c2', true, false, 20_500],
    ]);
    reduce(s, ev({ type: 'borrower.flagged', borrowerId: 'p1.b1', connId: 'p1.c1', heldMs: 600, thresholdMs: 500 }));
    v = buildView(s);
    expect(v.connections[0]).toMatchObject({ leak: true, holderFlagged: true });
    // A released connection still in a transaction: its next holder is told.
    reduceAll(s, [
      ev({ type: 'tx.began', connId: 'p1.c1' }),
      ev({ type: 'borrower.released', borrowerId: 'p1.b1', connId: 'p1.c1', heldMs: 700, dirty: true, destroyed: false }),
      ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'p1.b3', label: 'next', site: 'shop.ts:50', deadline: null }),
      ev({ type: 'borrower.acquired', borrowerId: 'p1.b3', connId: 'p1.c1', waitedMs: 0 }),
    ]);
    v = buildView(s);
    expect(v.connections[0]).toMatchObject({ holderLabel: 'next', holderReceivedDirty: true, leak: false });
    expect(v.counters.dirtyReturns).toBe(1);
  });

  it('calls a holder a leak by its flag or by the labels of the never-releasing borrowers', () => {
    expect(isLeakHolder({ flagged: false, label: 'leaked request', state: 'holding' })).toBe(true);
    expect(isLeakHolder({ flagged: false, label: 'load #3 (leaked)', state: 'holding' })).toBe(true);
    expect(isLeakHolder({ flagged: true, label: 'checkout', state: 'holding' })).toBe(true);
    expect(isLeakHolder({ flagged: false, label: 'checkout', state: 'holding' })).toBe(false);
    expect(isLeakHolder({ flagged: false, label: 'leaked request', state: 'waiting' })).toBe(false);
  });

  it('summarises the target in one line', () => {
    const v = buildView(base());
    expect(targetSummary(v.pool)).toBe('postgres://postgres@127.0.0.1:5432/poolscope_demo · PostgreSQL 18.4 · pool max 10');
    expect(serverName('mysql', '11.4.2-MariaDB-ubu2404')).toBe('MariaDB 11.4.2');
    expect(serverName('mysql', '8.0.36')).toBe('MySQL 8.0.36');
    expect(targetSummary(null)).toBe('No target');
  });
});

describe('time formatting', () => {
  it('reads like people write durations', () => {
    expect(formatDuration(450)).toBe('450 ms');
    expect(formatDuration(3_249)).toBe('3.2 s');
    expect(formatDuration(65_000)).toBe('1 m 05 s');
    expect(formatDuration(2 * 3_600_000 + 3 * 60_000)).toBe('2 h 03 m');
    expect(formatDuration(-5)).toBe('0 ms');
    expect(formatMs(0.123)).toBe('0.12 ms');
    expect(formatMs(null)).toBe('–');
  });
});

describe('the swimlane history', () => {
  it('keeps the most telling state of each 500 ms slot, even a short borrow', () => {
    const s = base();
    const h = new StateHistory(6);
    h.sample(s);
    expect(stateOfCode(h.lane('p1.c2')?.[5] ?? 0)).toBe('idle');
    // p1.c2 is borrowed and given back inside one interval: idle at both samples.
    const events = [
      ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'p1.b2', label: 'q', site: 's', deadline: null }),
      ev({ type: 'borrower.acquired', borrowerId: 'p1.b2', connId: 'p1.c2', waitedMs: 0 }),
      ev({ type: 'borrower.released', borrowerId: 'p1.b2', connId: 'p1.c2', heldMs: 2, dirty: false, destroyed: false }),
    ];
    reduceAll(s, events);
    h.note(events);
    h.sample(s);
    const lane = h.lane('p1.c2');
    expect(Array.from(lane ?? [], stateOfCode).slice(4)).toEqual(['idle', 'borrowed']);
    // Slots before the connection was seen hold no data.
    expect(stateOfCode(lane?.[0] ?? 0)).toBeNull();
    expect(stateOfCode(h.lane('p1.c1')?.[5] ?? 0)).toBe('borrowed');
  });

  it('keeps a closed connection for one window, then drops it', () => {
    const s = base();
    const h = new StateHistory(3);
    h.sample(s);
    const closed = [ev({ type: 'connection.closing', connId: 'p1.c2', reason: 'idle timeout' }), ev({ type: 'connection.closed', connId: 'p1.c2', reason: 'idle timeout', error: null })];
    reduceAll(s, closed);
    h.note(closed);
    h.sample(s);
    expect(Array.from(h.lane('p1.c2') ?? [], stateOfCode)).toEqual([null, 'idle', 'closing']);
    h.sample(s);
    h.sample(s);
    expect(h.lane('p1.c2')).toBeDefined();
    h.sample(s);
    expect(h.lane('p1.c2')).toBeUndefined();
    expect(h.lane('p1.c1')).toBeDefined();
  });

  it('covers the last 60 seconds', () => {
    expect(LANE_SLOTS * 500).toBe(60_000);
  });
});

describe('the comparison and pattern copies', () => {
  it('carries each, a copy that later events do not change', () => {
    const side = { requests: 10, ok: 10, failed: 0, p50Ms: 1, p99Ms: 2 };
    const s = reduceAll(base(), [
      ev({ type: 'compare.changed', running: true, concurrency: 2, query: 'select1', perRequestPoolId: 'p2' }),
      ev({ type: 'compare.stats', intervalMs: 500, pooled: side, perRequest: side, handshake }),
      ev({ type: 'pattern.changed', running: true, concurrency: 3, paymentMs: 200, emailMs: 100 }),
    ]);
    const v = buildView(s);
    expect(v.comparison).toMatchObject({ running: true, concurrency: 2, recent: [{ intervalMs: 500, handshake }] });
    expect(v.patterns).toMatchObject({ running: true, paymentMs: 200, recent: [] });
    reduce(s, ev({ type: 'compare.changed', running: false, concurrency: 2, query: 'select1', perRequestPoolId: null }));
    reduce(s, ev({ type: 'compare.stats', intervalMs: 700, pooled: side, perRequest: side, handshake }));
    expect(v.comparison?.running).toBe(true);
    expect(v.comparison?.recent).toHaveLength(1);
    expect(buildView(s).comparison?.running).toBe(false);
  });

  it('keeps a run\'s last intervals for the panels to smooth: a restart starts over, a stop keeps them', () => {
    const side = (ok: number) => ({ requests: ok, ok, failed: 0, p50Ms: 1, p99Ms: 2 });
    const stats = (ok: number) => ev({ type: 'compare.stats', intervalMs: 500, pooled: side(ok), perRequest: side(1), handshake });
    const s = reduceAll(base(), [ev({ type: 'compare.changed', running: true, concurrency: 2, query: 'select1', perRequestPoolId: 'p2' }), ...[1, 2, 3, 4, 5, 6].map(stats)]);
    expect(s.comparison?.recent.map((i) => i.pooled.ok)).toEqual([3, 4, 5, 6]);
    expect(SMOOTH_INTERVALS).toBe(4);
    // Started again (a scenario's step does so without a stop): the run before is not part of it.
    reduce(s, ev({ type: 'compare.changed', running: true, concurrency: 2, query: 'select1', perRequestPoolId: 'p3' }));
    expect(s.comparison?.recent).toEqual([]);
    reduce(s, stats(7));
    expect(s.comparison?.recent.map((i) => i.pooled.ok)).toEqual([7]);
    reduce(s, ev({ type: 'compare.changed', running: false, concurrency: 2, query: 'select1', perRequestPoolId: null }));
    expect(s.comparison?.recent.map((i) => i.pooled.ok)).toEqual([7]);
    const pattern = { requests: 1, ok: 1, failed: 0, p50Ms: 1, p99Ms: 1, holding: 1, waiting: 0 };
    reduce(s, ev({ type: 'pattern.changed', running: true, concurrency: 2, paymentMs: 1, emailMs: 1 }));
    reduce(s, ev({ type: 'pattern.stats', intervalMs: 500, inTransaction: pattern, afterCommit: pattern }));
    reduce(s, ev({ type: 'pattern.changed', running: true, concurrency: 2, paymentMs: 1, emailMs: 1 }));
    expect(s.patterns?.recent).toEqual([]);
  });

  it('reads a recording made when the snapshot kept only the latest interval: that interval is its window', () => {
    const side = { requests: 1, ok: 1, failed: 0, p50Ms: 1, p99Ms: 2 };
    const s = reduceAll(base(), [ev({ type: 'compare.changed', running: true, concurrency: 2, query: 'select1', perRequestPoolId: 'p2' }), ev({ type: 'compare.stats', intervalMs: 500, pooled: side, perRequest: side, handshake })]);
    const { recent, ...comparison } = JSON.parse(JSON.stringify(s.comparison)) as NonNullable<typeof s.comparison>;
    const old = { ...JSON.parse(JSON.stringify(s)), comparison: { ...comparison, latest: recent[0] }, patterns: { running: false, concurrency: 1, paymentMs: 1, emailMs: 1, latest: null } };
    const read = snapshotSchema.parse(old);
    expect(read.comparison?.recent).toEqual(recent);
    expect(read.patterns?.recent).toEqual([]);
  });

  it('is null before either ran', () => {
    const v = buildView(base());
    expect(v.comparison).toBeNull();
    expect(v.patterns).toBeNull();
  });
});
