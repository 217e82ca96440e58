import { describe, expect, it } from 'vitest';
import type { PoolEvent, PoolEventBody, ServerSession } from '../../shared/events';
import { reduce } from '../../shared/reducer';
import { type Snapshot, emptySnapshot } from '../../shared/snapshot';
import { LARGE_SLOTS_MAX, SMALL_SLOTS_MAX, TOKENS_DRAWN, TOKENS_DRAWN_COMPACT, buildPicture } from '../../renderer/src/lib/picture/picture';
import { recentColumns } from '../../renderer/src/lib/picture/recent';
import { SeriesSampler } from '../../renderer/src/lib/store/series';
import { handshake, pgSettings } from './helpers/fixtures';

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
let now = 10_000;
const ev = (b: PoolEventBody, t = ++now): PoolEvent => ({ ...b, seq: ++seq, t }) as PoolEvent;

/** A pool of `max`, its `open` connections opened (server ids from 1000), verified when `active`. */
function pool(s: Snapshot, poolId: string, max: number, open: number, active = true): void {
  reduce(s, ev({ type: 'pool.created', poolId, target, settings: pgSettings({ max }) }));
  if (active) reduce(s, ev({ type: 'pool.verified', poolId, serverVersion: '18.4', tls: null }));
  for (let i = 1; i <= open; i++) {
    reduce(s, ev({ type: 'connection.connecting', poolId, connId: `${poolId}.c${i}` }));
    reduce(s, ev({ type: 'connection.opened', connId: `${poolId}.c${i}`, serverId: 1000 + seq, handshake }));
  }
}

/** `n` borrowers enqueued on `poolId`, named from `from`; the first `served` of them get the pool's first connections. */
function borrow(s: Snapshot, poolId: string, n: number, served: number, from = 1): void {
  for (let i = from; i < from + n; i++) reduce(s, ev({ type: 'borrower.enqueued', poolId, borrowerId: `${poolId}.b${i}`, label: `request ${i}`, site: 'shop.ts:1', deadline: null }));
  for (let i = from; i < from + served; i++) reduce(s, ev({ type: 'borrower.acquired', borrowerId: `${poolId}.b${i}`, connId: `${poolId}.c${i - from + 1}`, waitedMs: 0 }));
}

describe('the pool picture, from snapshots of the shared reducer', () => {
  it('backpressure: 10 of 10 slots borrowed, the line in order with +N more and the oldest wait', () => {
    const s = emptySnapshot();
    pool(s, 'p1', 10, 10);
    const start = now;
    borrow(s, 'p1', 50, 10);
    const p = buildPicture(s);
    expect(p.lanes).toHaveLength(1);
    expect(p.holdScaleMs).toBe(5_000);
    const lane = p.lanes[0];
    if (!lane) throw new Error('no lane');
    expect(lane).toMatchObject({ poolId: 'p1', role: 'pooled', label: 'pooled', scale: 'large' });
    expect(lane.slots.map((x) => x.state)).toEqual(new Array(10).fill('borrowed'));
    expect(lane.slots.map((x) => x.holder)).toEqual(Array.from({ length: 10 }, (_, i) => `request ${i + 1}`));
    expect(lane.line.count).toBe(40);
    expect(lane.line.tokens.map((t) => t.id)).toEqual(Array.from({ length: TOKENS_DRAWN }, (_, i) => `p1.b${i + 11}`));
    expect(lane.line.more).toBe(40 - TOKENS_DRAWN);
    // Borrower 11 asked first among the waiting: it has waited longest.
    expect(lane.line.oldestSince).toBe(start + 11);
    expect(lane.counts).toMatchObject({ borrowed: 10, waiting: 40, max: 10 });

    // One release: the first in line moves into the slot, the line moves up.
    reduce(s, ev({ type: 'borrower.released', borrowerId: 'p1.b1', connId: 'p1.c1', heldMs: 1_000, dirty: false, destroyed: false }));
    reduce(s, ev({ type: 'borrower.acquired', borrowerId: 'p1.b11', connId: 'p1.c1', waitedMs: 900 }));
    const next = buildPicture(s).lanes[0];
    expect(next?.slots[0]).toMatchObject({ connId: 'p1.c1', holder: 'request 11' });
    expect(next?.line.count).toBe(39);
    expect(next?.line.tokens[0]?.id).toBe('p1.b12');
  });

  it('draws empty slots up to max, a hold time, leaked and past-threshold holders', () => {
    const s = emptySnapshot();
    pool(s, 'p1', 5, 3);
    reduce(s, ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'p1.b1', label: 'leaked request', site: 's', deadline: null }));
    reduce(s, ev({ type: 'borrower.acquired', borrowerId: 'p1.b1', connId: 'p1.c1', waitedMs: 0 }, 20_000));
    reduce(s, ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'p1.b2', label: 'report', site: 's', deadline: null }));
    reduce(s, ev({ type: 'borrower.acquired', borrowerId: 'p1.b2', connId: 'p1.c2', waitedMs: 0 }, 20_000));
    reduce(s, ev({ type: 'tx.began', connId: 'p1.c2' }, 20_100));
    reduce(s, ev({ type: 'borrower.flagged', borrowerId: 'p1.b2', connId: 'p1.c2', heldMs: 5_000, thresholdMs: 5_000 }, 25_000));
    const lane = buildPicture(s).lanes[0];
    expect(lane?.slots.map((x) => [x.key, x.state])).toEqual([
      ['p1.c1', 'borrowed'],
      ['p1.c2', 'in-transaction'],
      ['p1.c3', 'idle'],
      ['empty-0', 'empty'],
      ['empty-1', 'empty'],
    ]);
    expect(lane?.slots[0]).toMatchObject({ heldSince: 20_000, leaked: true, pastThreshold: false });
    expect(lane?.slots[1]).toMatchObject({ heldSince: 20_000, leaked: false, pastThreshold: true });
    expect(lane?.slots[2]).toMatchObject({ holder: null, heldSince: null });
    expect(lane).toMatchObject({ leaked: 1, pastThreshold: 1 });
  });

  it('one lane per pool, labelled by what it is: pooled, per request, instance i of K, sweep, draining', () => {
    const s = emptySnapshot();
    pool(s, 'p1', 10, 0);
    pool(s, 'p2', 4, 0, false);
    reduce(s, ev({ type: 'compare.changed', running: true, concurrency: 4, query: 'select', perRequestPoolId: 'p2' }));
    for (const id of ['p3', 'p4', 'p5']) pool(s, id, 2, 0, false);
    reduce(s, ev({ type: 'instances.changed', running: true, count: 3, poolSize: 2, query: 'select', poolIds: ['p3', 'p4', 'p5'] }));
    pool(s, 'p6', 16, 0, false);
    reduce(s, ev({ type: 'sweep.changed', running: true, sizes: [16], secondsEach: 2, clients: 32, query: 'select' }));
    pool(s, 'p7', 3, 0, false);
    reduce(s, ev({ type: 'pool.draining', poolId: 'p7', waiting: 0, holding: 0 }));
    pool(s, 'p8', 3, 0, false);
    reduce(s, ev({ type: 'pool.ended', poolId: 'p8' }));
    const lanes = buildPicture(s).lanes;
    expect(lanes.map((l) => [l.poolId, l.role, l.label])).toEqual([
      ['p1', 'pooled', 'pooled'],
      ['p2', 'per-request', 'per request'],
      ['p3', 'instance', 'instance 1 of 3'],
      ['p4', 'instance', 'instance 2 of 3'],
      ['p5', 'instance', 'instance 3 of 3'],
      ['p6', 'sweep', 'sweep: size 16'],
      ['p7', 'draining', 'draining (old pool)'],
    ]);
    expect(lanes.map((l) => l.slots.length)).toEqual([10, 4, 2, 2, 2, 16, 3]);
  });

  it('keeps each pool\'s own waiting line apart', () => {
    const s = emptySnapshot();
    pool(s, 'p1', 1, 1);
    pool(s, 'p2', 1, 1, false);
    reduce(s, ev({ type: 'instances.changed', running: true, count: 1, poolSize: 1, query: 'select', poolIds: ['p2'] }));
    borrow(s, 'p1', 3, 1);
    borrow(s, 'p2', 5, 1);
    const [a, b] = buildPicture(s).lanes;
    expect(a?.line.tokens.map((t) => t.id)).toEqual(['p1.b2', 'p1.b3']);
    expect(b?.line.tokens.map((t) => t.id)).toEqual(['p2.b2', 'p2.b3', 'p2.b4', 'p2.b5']);
  });

  it("counts a pool's sessions on the server while its connections open: a side pool's by their application name, the inspected pool's as many as it is opening", () => {
    const s = emptySnapshot();
    pool(s, 'p1', 4, 1);
    reduce(s, ev({ type: 'connection.connecting', poolId: 'p1', connId: 'p1.c2' }));
    pool(s, 'p2', 3, 0, false);
    reduce(s, ev({ type: 'instances.changed', running: true, count: 1, poolSize: 3, query: 'select', poolIds: ['p2'] }));
    // Three connections of the instance's pool are mid-handshake: the server lists them, the pool knows no id yet.
    for (let i = 1; i <= 3; i++) reduce(s, ev({ type: 'connection.connecting', poolId: 'p2', connId: `p2.c${i}` }));
    const p1Id = Object.values(s.connections).find((c) => c.poolId === 'p1')?.serverId as number;
    const session = (id: number, application: string): ServerSession => ({ id, user: 'u', application, state: 'idle', inTransaction: false, transactionSince: null, waitEvent: null, query: null });
    reduce(s, ev({ type: 'server.observed', sessions: [session(p1Id, 'poolscope'), session(6001, 'poolscope'), session(7001, 'poolscope-side p2'), session(7002, 'poolscope-side p2'), session(7003, 'poolscope-side p2'), session(7004, 'poolscope-side p9'), session(9, 'poolscope-monitor')], maxConnections: 100, reserved: 0, monitorId: 9, note: null }));
    const lanes = buildPicture(s).lanes;
    expect(lanes.map((l) => [l.poolId, l.serverSessions])).toEqual([
      ['p1', 2],
      ['p2', 3],
    ]);
  });

  it('shows the database side: sessions the server lists for each pool, max_connections and its use', () => {
    const s = emptySnapshot();
    pool(s, 'p1', 4, 2);
    const ids = Object.values(s.connections).map((c) => c.serverId as number);
    const session = (id: number, application: string): ServerSession => ({ id, user: 'u', application, state: 'idle', inTransaction: false, transactionSince: null, waitEvent: null, query: null });
    expect(buildPicture(s).database).toBeNull();
    expect(buildPicture(s).lanes[0]?.serverSessions).toBeNull();
    reduce(s, ev({ type: 'server.observed', sessions: [...ids.map((id) => session(id, 'poolscope')), session(1, 'psql'), session(2, 'monitor')], maxConnections: 5, reserved: 0, monitorId: 2, note: null }));
    const p = buildPicture(s);
    expect(p.lanes[0]?.serverSessions).toBe(2);
    expect(p.database).toMatchObject({ sessions: 4, starting: 0, capacity: { used: 4, max: 5, level: 'near' } });
  });

  it("counts the sessions in their handshake apart: the server names no one's, and no lane counts them", () => {
    const s = emptySnapshot();
    pool(s, 'p1', 4, 2);
    const ids = Object.values(s.connections).map((c) => c.serverId as number);
    const session = (id: number, given: Partial<ServerSession>): ServerSession => ({ id, user: 'u', application: 'poolscope', state: 'idle', inTransaction: false, transactionSince: null, waitEvent: null, query: null, ...given });
    // PostgreSQL's 'starting' (no user, no name until authentication ends) and MariaDB's 'unauthenticated user'.
    const starting = [session(7, { user: null, application: null, state: 'starting' }), session(8, { user: 'unauthenticated user', application: null, state: 'Connect: Reading from net' })];
    reduce(s, ev({ type: 'server.observed', sessions: [...ids.map((id) => session(id, {})), ...starting, session(2, { application: 'monitor' })], maxConnections: 10, reserved: 0, monitorId: 2, note: null }));
    const p = buildPicture(s);
    expect(p.lanes[0]?.serverSessions).toBe(2);
    expect(p.database).toMatchObject({ sessions: 5, starting: 2 });
  });

  it('aggregates at scale: tiles shrink, then group by state; 10,000 waiters draw a dozen tokens', () => {
    const small = emptySnapshot();
    pool(small, 'p1', LARGE_SLOTS_MAX + 1, 0);
    expect(buildPicture(small).lanes[0]?.scale).toBe('small');

    // 6 instances of 20 beside the app's pool of 10: every lane in small tiles, one screen.
    const many = emptySnapshot();
    pool(many, 'p1', 10, 0);
    const ids = ['p2', 'p3', 'p4', 'p5', 'p6', 'p7'];
    for (const id of ids) pool(many, id, 20, 0, false);
    reduce(many, ev({ type: 'instances.changed', running: true, count: 6, poolSize: 20, query: 'select', poolIds: ids }));
    expect(buildPicture(many).lanes.map((l) => [l.scale, l.slots.length])).toEqual([['small', 10], ...ids.map(() => ['small', 20])]);
    // Seven lanes take a line each: each line draws fewer tokens, in one row beside its count.
    expect(buildPicture(many).compact).toBe(true);
    borrow(many, 'p4', 30, 0);
    expect(buildPicture(many).lanes.find((l) => l.poolId === 'p4')?.line).toMatchObject({ count: 30, more: 30 - TOKENS_DRAWN_COMPACT });
    expect(buildPicture(small).compact).toBe(false);

    const s = emptySnapshot();
    pool(s, 'p1', 500, 500);
    borrow(s, 'p1', 10_500, 300);
    const lane = buildPicture(s).lanes[0];
    expect(SMALL_SLOTS_MAX).toBeLessThan(500);
    expect(lane?.scale).toBe('grouped');
    expect(lane?.slots).toEqual([]);
    expect(lane?.groups).toEqual([
      { state: 'borrowed', count: 300 },
      { state: 'idle', count: 200 },
    ]);
    expect(lane?.line).toMatchObject({ count: 10_200, more: 10_200 - TOKENS_DRAWN });
    expect(lane?.line.tokens).toHaveLength(TOKENS_DRAWN);
  });
});

describe('what the picture points at and its chart', () => {
  it('a note carries its spotlight into the snapshot; the next note without one, and a restart, clear it', () => {
    const s = emptySnapshot();
    reduce(s, ev({ type: 'scenario.opened', name: 'backpressure', title: 'T', description: '', steps: [] }));
    reduce(s, ev({ type: 'scenario.noted', index: 0, text: 'the line', spotlight: 'waiting-line' }));
    expect(s.scenario).toMatchObject({ note: 'the line', spotlight: 'waiting-line' });
    reduce(s, ev({ type: 'scenario.noted', index: 1, text: 'plain' }));
    expect(s.scenario?.spotlight).toBeNull();
    reduce(s, ev({ type: 'scenario.noted', index: 2, text: 'the db', spotlight: 'database' }));
    reduce(s, ev({ type: 'scenario.changed', state: 'paused', current: 0 }));
    expect(s.scenario).toMatchObject({ note: null, spotlight: null });
  });

  it('the wide chart takes the last 60 s of the sampled series', () => {
    const sampler = new SeriesSampler(1_000);
    const s = emptySnapshot();
    pool(s, 'p1', 4, 2);
    for (let i = 0; i < 300; i++) sampler.sample(1_000_000 + i * 500, s);
    const series = sampler.columns();
    const [t, borrowed, waiting] = recentColumns(series, ['borrowed', 'waiting'], 60_000);
    expect(t).toHaveLength(120);
    expect(t.at(-1)).toBe(series.t.at(-1));
    expect(borrowed).toHaveLength(120);
    expect(waiting).toHaveLength(120);
  });
});
