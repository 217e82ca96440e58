import { describe, expect, it } from 'vitest';
import type { PoolEvent, PoolEventBody, ServerSession } from '../../shared/events';
import { reduce, reduceAll } from '../../shared/reducer';
import { emptySnapshot } from '../../shared/snapshot';
import { joinServerView } from '../../shared/server-join';
import { capacityOf, describeServerSide, serverPanel, shortState } from '../../renderer/src/lib/server/server-view';
import { buildPicture } from '../../renderer/src/lib/picture/picture';
import { buildView } from '../../renderer/src/lib/store/view';
import { handshake, pgSettings, target } from './helpers/fixtures';

let seq = 0;
const ev = (b: PoolEventBody, t = 10_000): PoolEvent => ({ ...b, seq: ++seq, t }) as PoolEvent;

const session = (id: number, given: Partial<ServerSession> = {}): ServerSession => ({
  id,
  user: 'postgres',
  application: 'poolscope',
  state: 'idle',
  inTransaction: false,
  transactionSince: null,
  waitEvent: 'Client: ClientRead',
  query: 'SELECT 1',
  ...given,
});

/** A pool with c1 (pid 101) and c2 (pid 102), both idle, opened at t = 10 000. */
function pool() {
  return reduceAll(emptySnapshot(), [
    ev({ type: 'pool.created', poolId: 'p1', target, settings: pgSettings({ max: 5 }) }),
    ev({ type: 'pool.verified', poolId: 'p1', serverVersion: '18.4', tls: null }),
    ev({ type: 'connection.connecting', poolId: 'p1', connId: 'p1.c1' }),
    ev({ type: 'connection.opened', connId: 'p1.c1', serverId: 101, handshake }),
    ev({ type: 'connection.connecting', poolId: 'p1', connId: 'p1.c2' }),
    ev({ type: 'connection.opened', connId: 'p1.c2', serverId: 102, handshake }),
  ]);
}

const observed = (sessions: ServerSession[], t = 20_000, note: string | null = null): PoolEvent =>
  ev({ type: 'server.observed', sessions, maxConnections: 10, reserved: 3, monitorId: 900, note }, t);

describe('the database panel', () => {
  it('lists ours in pool order, then orphans, then the monitor and other clients', () => {
    const s = pool();
    reduce(s, observed([session(900, { application: 'poolscope-monitor' }), session(300, { application: 'psql' }), session(102), session(777), session(101)]));
    const panel = serverPanel(s, joinServerView(s));
    expect(panel?.sessions.map((x) => [x.id, x.kind, x.connId])).toEqual([
      [101, 'ours', 'p1.c1'],
      [102, 'ours', 'p1.c2'],
      [777, 'orphan', null],
      [900, 'monitor', null],
      [300, 'other', null],
    ]);
    expect(panel).toMatchObject({ ours: 2, orphans: 1, others: 1, note: null });
    expect(panel?.capacity).toEqual({ used: 5, max: 10, reserved: 3, usable: 7, level: 'ok' });
  });

  it('lists the sessions still in their handshake last, as connecting, neither orphans nor other clients', () => {
    const s = pool();
    reduce(s, observed([session(101), session(102), session(500, { user: null, application: null, state: 'starting' }), session(501, { user: 'unauthenticated user', application: null, state: 'Connect: Reading from net' }), session(300, { application: 'psql' }), session(900, { application: 'poolscope-monitor' })]));
    const panel = serverPanel(s, joinServerView(s));
    expect(panel?.sessions.map((x) => [x.id, x.kind])).toEqual([
      [101, 'ours'],
      [102, 'ours'],
      [900, 'monitor'],
      [300, 'other'],
      [500, 'starting'],
      [501, 'starting'],
    ]);
    expect(panel).toMatchObject({ ours: 2, orphans: 0, others: 1, starting: 2 });
  });

  it("never counts a side pool's session as an orphan; a real orphan of the pool under inspection still is one", () => {
    const s = pool();
    // A per-request side pool: p2.c1 is mid-handshake (the server lists 501, the pool does not know
    // its pid yet), 502 just closed (gone from the snapshot, still on the server's list).
    reduce(s, ev({ type: 'pool.created', poolId: 'p2', target, settings: pgSettings({ max: 4 }) }));
    reduce(s, ev({ type: 'connection.connecting', poolId: 'p2', connId: 'p2.c1' }));
    reduce(
      s,
      observed([
        session(101),
        session(102),
        session(501, { application: 'poolscope-side p2' }),
        session(502, { application: 'poolscope-side p2' }),
        session(777), // the inspected pool's: a handshake that finished after its borrower gave up
      ]),
    );
    const join = joinServerView(s);
    expect(join?.orphans.map((x) => x.id)).toEqual([777]);
    expect(join?.sides.map((x) => x.id)).toEqual([501, 502]);
    expect(join?.unjoinedByPool).toEqual({ p2: 2 });
    const panel = serverPanel(s, join);
    expect(panel?.orphans).toBe(1);
    expect(panel?.sessions.filter((x) => x.kind === 'side').map((x) => x.id)).toEqual([501, 502]);
  });

  it("takes the inspected pool's sessions listed before it knows their ids as opening, the newest first; the rest are orphans", () => {
    const s = pool();
    reduce(s, ev({ type: 'connection.connecting', poolId: 'p1', connId: 'p1.c3' }));
    reduce(s, ev({ type: 'connection.connecting', poolId: 'p1', connId: 'p1.c4' }));
    reduce(s, observed([session(101), session(102), session(700), session(801), session(802)]));
    const join = joinServerView(s);
    expect(join?.opening.map((x) => x.id)).toEqual([802, 801]);
    expect(join?.orphans.map((x) => x.id)).toEqual([700]);
    expect(join?.unjoinedByPool).toEqual({ p1: 2 });
    const panel = serverPanel(s, join);
    expect(panel?.orphans).toBe(1);
    expect(panel?.sessions.filter((x) => x.kind === 'opening').map((x) => x.id)).toEqual([802, 801]);
    // Opened, they are the pool's connections' own, and none is taken as opening any more.
    reduce(s, ev({ type: 'connection.opened', connId: 'p1.c3', serverId: 801, handshake }));
    reduce(s, ev({ type: 'connection.opened', connId: 'p1.c4', serverId: 802, handshake }));
    const after = joinServerView(s);
    expect(after?.opening).toEqual([]);
    expect(after?.orphans.map((x) => x.id)).toEqual([700]);
  });

  it('does not call a session its pool closed a moment before the reading an orphan, but one still listed a while later is', () => {
    const s = pool();
    reduce(s, ev({ type: 'connection.closing', connId: 'p1.c2', reason: 'idle timeout' }, 19_700));
    reduce(s, ev({ type: 'connection.closed', connId: 'p1.c2', reason: 'idle timeout', error: null }, 19_800));
    reduce(s, observed([session(101), session(102)], 20_000));
    expect(joinServerView(s)?.orphans).toEqual([]);
    // Still its pool's on the server: the lane counts it with the open connection's.
    expect(buildPicture(s).lanes[0]?.serverSessions).toBe(2);
    reduce(s, observed([session(101), session(102)], 25_000));
    expect(joinServerView(s)?.orphans.map((x) => x.id)).toEqual([102]);
  });

  it('shows the monitor note instead of an empty list, and takes a reading not taken as saying nothing of the sessions', () => {
    const s = pool();
    reduce(s, observed([session(101), session(102), session(900, { application: 'poolscope-monitor' })]));
    reduce(s, ev({ type: 'server.observed', sessions: [], maxConnections: null, reserved: null, monitorId: null, note: "The monitor cannot read the server's sessions: ECONNREFUSED" }, 25_000));
    const panel = serverPanel(s, joinServerView(s));
    expect(panel).toMatchObject({ unread: true, sessions: [], capacity: null });
    expect(panel?.note).toContain('cannot read');
    // Not "0 on the server" for the pool, "Database: 0 sessions", nor every connection's session gone.
    const picture = buildPicture(s);
    expect(picture.database).toEqual({ read: false });
    expect(picture.lanes[0]?.serverSessions).toBeNull();
    expect(buildView(s).connections.map((c) => c.serverFlag)).toEqual([null, null]);
  });

  it('is null before the monitor read anything', () => {
    const s = pool();
    expect(serverPanel(s, joinServerView(s))).toBeNull();
  });
});

describe('capacity against max_connections', () => {
  it('is near at 80 % of the usable slots and full when none is left for ordinary users', () => {
    expect(capacityOf(5, 13, 3)?.level).toBe('ok');
    expect(capacityOf(8, 13, 3)?.level).toBe('near');
    expect(capacityOf(10, 13, 3)?.level).toBe('full');
    expect(capacityOf(12, 13, 3)).toMatchObject({ usable: 10, level: 'full' });
  });

  it('treats unknown reserved slots as none, and an unknown limit as no gauge', () => {
    expect(capacityOf(3, 151, null)).toEqual({ used: 3, max: 151, reserved: 0, usable: 151, level: 'ok' });
    expect(capacityOf(3, null, 3)).toBeNull();
  });
});

describe('connection rows with their server side', () => {
  it('carry the session state, wait event and server transaction age', () => {
    const s = pool();
    reduce(s, observed([session(101, { state: 'idle in transaction', inTransaction: true, transactionSince: 17_000 }), session(102)]));
    const [c1, c2] = buildView(s).connections;
    expect(c1?.server).toEqual({ state: 'idle in transaction', waitEvent: 'Client: ClientRead', txSince: 17_000 });
    expect(describeServerSide(c1!.server!, 20_000, true)).toBe('idle in tx · Client: ClientRead · tx 3.0 s');
    expect(describeServerSide(c1!.server!, 20_000)).toBe('idle in transaction · Client: ClientRead · tx 3.0 s');
    // Idle in the pool, in a transaction on the server: the next borrower inherits it.
    expect(c1?.serverFlag).toBe('in a transaction on the server, idle in the pool');
    expect(c2?.serverFlag).toBeNull();
  });

  it('flags a session the server no longer lists, after the grace period', () => {
    const s = pool();
    reduce(s, observed([session(102)], 10_500));
    expect(buildView(s).connections[0]?.serverFlag).toBeNull();
    reduce(s, observed([session(102)], 12_000));
    const c1 = buildView(s).connections[0];
    expect(c1).toMatchObject({ server: null, serverFlag: 'session gone' });
  });

  it('leaves closed connections without a server side', () => {
    const s = pool();
    reduce(s, observed([session(101), session(102)]));
    reduce(s, ev({ type: 'connection.closed', connId: 'p1.c1', reason: 'terminated by server', error: null }, 21_000));
    expect(buildView(s).closed[0]).toMatchObject({ id: 'p1.c1', server: null, serverFlag: null });
  });

  it('abbreviates only what is long', () => {
    expect(shortState('idle in transaction (aborted)')).toBe('idle in tx (aborted)');
    expect(shortState('Sleep')).toBe('Sleep');
    expect(shortState(null)).toBe('hidden');
  });
});
