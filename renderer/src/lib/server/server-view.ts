// The database's side, for people: each pool connection's server session beside it, every
// session the server lists (ours, orphans, other clients'), and how close the server is to
// refusing connections. Pure, no DOM: built from the snapshot with shared/server-join.ts.

import type { ServerSession } from '../../../../shared/events';
import type { Disagreement, ServerJoin } from '../../../../shared/server-join';
import type { Snapshot } from '../../../../shared/snapshot';
import { formatDuration } from '../format';

/** What the server says about one pool connection's session. */
export interface ServerSide {
  state: string | null;
  waitEvent: string | null;
  /** When the session's transaction began on the server (epoch ms), null outside one. */
  txSince: number | null;
}

export type SessionKind = 'ours' | 'opening' | 'orphan' | 'side' | 'other' | 'starting' | 'monitor';

export interface SessionRow {
  id: number;
  kind: SessionKind;
  /** The pool connection on this session (kind 'ours'). */
  connId: string | null;
  user: string | null;
  application: string | null;
  state: string | null;
  waitEvent: string | null;
  txSince: number | null;
  query: string | null;
}

/** Sessions against the server's limit. */
export interface Capacity {
  used: number;
  max: number;
  /** Slots only superusers may take (PostgreSQL); 0 when the server has none or does not say. */
  reserved: number;
  /** Sessions ordinary users may open before the server refuses them. */
  usable: number;
  /** `near`: 80 % of the usable slots taken; `full`: no usable slot left. */
  level: 'ok' | 'near' | 'full';
}

export interface ServerPanel {
  /** When the monitor read this (engine time). */
  t: number;
  /** The monitor could not read the server this time: the note says why, and nothing else is known. */
  unread: boolean;
  /** Ours in pool order, then ours still opening, orphans, side pools' unjoined sessions, the monitor, other clients and sessions still in their handshake. */
  sessions: SessionRow[];
  ours: number;
  orphans: number;
  others: number;
  /** Sessions in their handshake: the server does not say whose yet. */
  starting: number;
  capacity: Capacity | null;
  /** Missing privileges, or why the monitor cannot read: shown instead of an empty list. */
  note: string | null;
}

export const NEAR_FULL = 0.8;

export function capacityOf(used: number, max: number | null, reserved: number | null): Capacity | null {
  if (max === null || max <= 0) return null;
  const r = Math.min(Math.max(reserved ?? 0, 0), max);
  const usable = max - r;
  const level = used >= usable ? 'full' : used >= usable * NEAR_FULL ? 'near' : 'ok';
  return { used, max, reserved: r, usable, level };
}

function sessionRow(x: ServerSession, kind: SessionKind, connId: string | null): SessionRow {
  return { id: x.id, kind, connId, user: x.user, application: x.application, state: x.state, waitEvent: x.waitEvent, txSince: x.transactionSince, query: x.query };
}

/** The Database panel's content, or null before the monitor's first reading; a reading not taken has only its note. */
export function serverPanel(s: Snapshot, join: ServerJoin | null): ServerPanel | null {
  const server = s.server;
  if (!server) return null;
  if (!join) return { t: server.t, unread: true, sessions: [], ours: 0, orphans: 0, others: 0, starting: 0, capacity: null, note: server.note };
  const sessions: SessionRow[] = [];
  for (const [connId, j] of Object.entries(join.byConnection)) if (j.session) sessions.push(sessionRow(j.session, 'ours', connId));
  const ours = sessions.length;
  for (const x of join.opening) sessions.push(sessionRow(x, 'opening', null));
  for (const x of join.orphans) sessions.push(sessionRow(x, 'orphan', null));
  for (const x of join.sides) sessions.push(sessionRow(x, 'side', null));
  const monitor = server.sessions.find((x) => x.id === server.monitorId);
  if (monitor) sessions.push(sessionRow(monitor, 'monitor', null));
  for (const x of join.others) sessions.push(sessionRow(x, 'other', null));
  for (const x of join.starting) sessions.push(sessionRow(x, 'starting', null));
  return {
    t: server.t,
    unread: false,
    sessions,
    ours,
    orphans: join.orphans.length,
    others: join.others.length,
    starting: join.starting.length,
    capacity: capacityOf(join.total, server.maxConnections, server.reserved),
    note: server.note,
  };
}

/** One pool connection's server side and disagreement, from the join (nothing when unknown). */
export function serverSideOf(join: ServerJoin | null, connId: string): { server: ServerSide | null; flag: Disagreement | null } {
  const j = join?.byConnection[connId];
  if (!j) return { server: null, flag: null };
  const x = j.session;
  return { server: x ? { state: x.state, waitEvent: x.waitEvent, txSince: x.transactionSince } : null, flag: j.disagreement };
}

/** What a flag means, in a sentence for the row's detail line. */
export function explainFlag(flag: Disagreement): string {
  switch (flag) {
    case 'session gone':
      return 'the server no longer lists this session: the pool will find out on its next use';
    case 'in a transaction on the server, idle in the pool':
      return 'the server still holds a transaction (and its locks) for this idle connection: the next borrower inherits it';
    case 'orphan':
      return 'a session of ours that no pool connection knows';
  }
}

export const SESSION_KIND_LABEL: Record<SessionKind, string> = {
  ours: 'our pool',
  opening: 'our pool, opening',
  orphan: 'orphan',
  side: "Poolscope's side pool",
  monitor: "Poolscope's monitor",
  other: 'other client',
  starting: 'connecting, whose not known yet',
};

/** The server's state as a row has room for it: PostgreSQL's "idle in transaction" is long. */
export function shortState(state: string | null): string {
  if (state === null) return 'hidden';
  return state.replace('idle in transaction', 'idle in tx');
}

/** "idle in tx · Client: ClientRead · tx 3.2 s": state, wait event, transaction age on the server. */
export function describeServerSide(x: ServerSide, now: number, short = false): string {
  const parts = [short ? shortState(x.state) : (x.state ?? 'hidden (no privilege to read it)')];
  if (x.waitEvent !== null) parts.push(x.waitEvent);
  if (x.txSince !== null) parts.push(`tx ${formatDuration(now - x.txSince)}`);
  return parts.join(' · ');
}
