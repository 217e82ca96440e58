import type { ServerSession } from './events';
import { type Snapshot, idRecord } from './snapshot';
import { sourceOfPool } from './sources';

export type Disagreement = 'session gone' | 'in a transaction on the server, idle in the pool' | 'orphan';

export interface ServerJoin {
  /** Per live pool connection: its server session (null when none) and any disagreement. */
  byConnection: Record<string, { session: ServerSession | null; disagreement: Disagreement | null }>;
  /** Sessions tagged as ours that no pool connection knows (a handshake finished after its borrower gave up). */
  orphans: ServerSession[];
  /** Sessions tagged as ours taken as the inspected pool's connections still opening (see joinServerView). */
  opening: ServerSession[];
  /** Sessions of Poolscope's side pools that no connection of the snapshot knows (mid-handshake, or closed over 1 s before): never orphans. */
  sides: ServerSession[];
  /** Per pool, the sessions it has on the server that none of its open connections has: a side pool's by its name while they open, the inspected pool's opening ones, and any pool's just closed. */
  unjoinedByPool: Record<string, number>;
  /** Sessions in their handshake, whose client the server does not name yet (see isStarting): not counted as anyone's. */
  starting: ServerSession[];
  /** Every other client's sessions, apart. */
  others: ServerSession[];
  /** Sessions on the server in all, with the monitor's own. */
  total: number;
}

/** A connection younger than this may not show on the server yet. */
const GRACE_MS = 1_000;
/** The application name of the active pool's sessions (program_name on MySQL). */
export const OUR_APPLICATION = 'poolscope';
/**
 * Poolscope's own side pools (the per-request side, instances, the sweep): their sessions
 * come and go with every request or step, and one seen mid-handshake or just closed is
 * not an orphan of the pool under inspection.
 */
export const SIDE_APPLICATION = 'poolscope-side';

/**
 * A side pool's sessions name the pool ("poolscope-side p7"): the server lists a session from
 * its handshake on, before the pool learns its id, and a lane counted none of its ten
 * connections opening on a server that listed all ten.
 */
export function sideApplication(poolId: string): string {
  return `${SIDE_APPLICATION} ${poolId}`;
}

/** The side pool a session's application name claims; '' for a side pool that names none; null when not a side pool's. */
function sidePoolOf(application: string | null): string | null {
  if (application === SIDE_APPLICATION) return '';
  return application?.startsWith(`${SIDE_APPLICATION} `) ? application.slice(SIDE_APPLICATION.length + 1) : null;
}

/**
 * A session still in its handshake: PostgreSQL lists it as 'starting' with no user or
 * application name until authentication ends, MySQL and MariaDB as 'unauthenticated user'.
 * Six instances against a full server had 73 of the server's 100 sessions so (their refused
 * connections, tried again), and the lanes' counts fell 73 short of the database's.
 */
function isStarting(x: ServerSession): boolean {
  return (x.state === 'starting' && x.application === null) || x.user === 'unauthenticated user';
}

/**
 * A reading the monitor could not take (monitor.ts emits one with its note and no session, not
 * even the monitor's own, which every reading taken lists): it says nothing of the sessions. Joined,
 * it made every connection "session gone" and the picture "Database: 0 sessions".
 */
function unreadable(server: NonNullable<Snapshot['server']>): boolean {
  return server.monitorId === null;
}

/** Poolscope's inspected pool, or one it replaced and is draining: their sessions are tagged OUR_APPLICATION. */
function isInspected(s: Snapshot, poolId: string): boolean {
  const p = s.pools[poolId];
  return p !== undefined && sourceOfPool(s, poolId) === null && (poolId === s.activePoolId || p.status === 'draining');
}

/**
 * Joins each pool connection with its server session by backend pid / thread id (null before a
 * reading, or when the last one could not be taken). The server
 * lists a session from its handshake on, and the pool learns its id only at the end of it:
 * while Poolscope's inspected pool (or one draining) opens N connections, the N newest of the
 * unknown sessions tagged as ours are taken as those, not as orphans (on a 400 ms link the
 * panel flagged all nine of a pool's openings "orphaned"). An orphan shows once the openings end.
 */
export function joinServerView(s: Snapshot): ServerJoin | null {
  const server = s.server;
  if (!server || unreadable(server)) return null;
  const byId = new Map(server.sessions.map((x) => [x.id, x]));
  const known = new Set<number>();
  const byConnection: ServerJoin['byConnection'] = idRecord();
  for (const conn of Object.values(s.connections)) {
    if (conn.serverId === null || conn.state === 'connecting') continue;
    known.add(conn.serverId);
    const session = byId.get(conn.serverId) ?? null;
    let disagreement: Disagreement | null = null;
    if (!session && server.t - conn.openedAt > GRACE_MS && conn.state !== 'closing' && conn.state !== 'broken') disagreement = 'session gone';
    else if (session?.inTransaction && conn.state === 'idle') disagreement = 'in a transaction on the server, idle in the pool';
    byConnection[conn.id] = { session, disagreement };
  }
  const unjoinedByPool: Record<string, number> = idRecord();
  const count = (poolId: string) => (unjoinedByPool[poolId] = (unjoinedByPool[poolId] ?? 0) + 1);
  // A connection the pool just closed is still listed by a reading taken around its close
  // (the server ends the session a moment later): closing, not an orphan, and still its pool's
  // on the server (a per-request lane read "0 on the server" beside a database line counting
  // three of its sessions).
  for (const conn of s.closed) {
    if (conn.serverId === null || server.t - conn.stateSince >= GRACE_MS || known.has(conn.serverId)) continue;
    known.add(conn.serverId);
    if (byId.has(conn.serverId)) count(conn.poolId);
  }
  const unknownOurs: ServerSession[] = [];
  const sides: ServerSession[] = [];
  const starting: ServerSession[] = [];
  const others: ServerSession[] = [];
  for (const x of server.sessions) {
    if (known.has(x.id) || x.id === server.monitorId) continue;
    if (isStarting(x)) {
      starting.push(x);
      continue;
    }
    const side = sidePoolOf(x.application);
    if (x.application === OUR_APPLICATION) unknownOurs.push(x);
    else if (side !== null) {
      sides.push(x);
      if (side !== '') count(side);
    } else others.push(x);
  }
  // The pools whose sessions are tagged as ours, once per connection they are opening.
  const openingFor = Object.values(s.connections)
    .filter((c) => c.state === 'connecting' && isInspected(s, c.poolId))
    .map((c) => c.poolId);
  const opening = unknownOurs.toSorted((a, b) => b.id - a.id).slice(0, openingFor.length);
  opening.forEach((_, i) => count(openingFor[i]!));
  const orphans = unknownOurs.filter((x) => !opening.includes(x));
  return { byConnection, orphans, opening, sides, unjoinedByPool, starting, others, total: server.sessions.length };
}
