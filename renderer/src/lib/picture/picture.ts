// The pool picture's model: a snapshot → one lane per pool (what the pool is for, its slots
// up to max with the empty ones, its waiting line in order) and the database's side. Pure,
// no DOM: unit tests feed it snapshots built by the shared reducer; the components only draw
// it, keyed by connection and borrower ids so motion follows identity. At scale it
// aggregates (tiles shrink, then group by state; the line draws its head and counts the
// rest), so 500 connections or 10,000 waiters cost a few dozen nodes, not thousands.

import { type ConnState, type PoolCounts, type PoolView, type Snapshot, isBorrowedState, poolCounts } from '../../../../shared/snapshot';
import { type ServerJoin, joinServerView } from '../../../../shared/server-join';
import { appName, sourceOfPool } from '../../../../shared/sources';
import { isLeakHolder } from '../store/view';
import { type Capacity, capacityOf } from '../server/server-view';

/** What a lane's pool is for: the app's pool, a comparison's side, an instance, a sweep's size, an old pool. */
export type LaneRole = 'pooled' | 'per-request' | 'instance' | 'sweep' | 'draining';

export type SlotState = ConnState | 'empty';

export interface Slot {
  /** The connection id, or `empty-<n>` for a free place under the pool's max. */
  key: string;
  connId: string | null;
  state: SlotState;
  holder: string | null;
  /** When the holder got it (engine time; the component ages it with the ticking clock); null when nobody holds it. */
  heldSince: number | null;
  /** Held by a request that never gives it back (the engine's leaks, the leaky handler). */
  leaked: boolean;
  /** Held past the leak detection threshold. */
  pastThreshold: boolean;
}

/** Slots of one state counted together, when a lane has too many to draw one by one. */
export interface SlotGroup {
  state: SlotState;
  count: number;
}

export interface WaitingToken {
  id: string;
  label: string;
  /** When it asked (engine time). */
  since: number;
}

export interface WaitingLine {
  count: number;
  /** The head of the line, first in line first: the next to be served. */
  tokens: WaitingToken[];
  /** Waiting borrowers not drawn. */
  more: number;
  /** When the first in line asked: the oldest wait (the line is served in order); null when empty. */
  oldestSince: number | null;
}

/** How a lane draws its slots: tiles that shrink with their number, then groups by state. */
export type SlotScale = 'large' | 'small' | 'grouped';

export interface Lane {
  poolId: string;
  role: LaneRole;
  /** What it is, in words: "pooled", "per request", "instance 3 of 8", "sweep: size 16", "app pid 4242". */
  label: string;
  /** An attached app's pool: its target under the label, without scheme and user (`full` has them). */
  detail: { text: string; full: string } | null;
  status: PoolView['status'];
  counts: PoolCounts;
  scale: SlotScale;
  /** Every slot up to max (connections first, in the order they opened), unless grouped. */
  slots: Slot[];
  /** Counts by state when grouped, else empty. */
  groups: SlotGroup[];
  line: WaitingLine;
  /** Held past the leak threshold, and held by requests that never release. */
  pastThreshold: number;
  leaked: number;
  /** Sessions the server lists for this pool: its open connections', those of connections closed just before the reading, and those still opening (null before the monitor reads, or when it could not). */
  serverSessions: number | null;
}

/** The monitor's last reading; `read: false` when it could not be taken, and then nothing else is known. */
export type DatabaseSide =
  | { read: false }
  | {
      read: true;
      /** Every session the server lists (ours, the monitor's, other clients'). */
      sessions: number;
      /** Of those, the ones in their handshake, whose the server does not say yet (no lane counts them). */
      starting: number;
      /** Against max_connections; null when the server does not say. */
      capacity: Capacity | null;
    };

export interface Picture {
  lanes: Lane[];
  database: DatabaseSide | null;
  /** A full hold-time bar: the leak detection threshold, else DEFAULT_HOLD_SCALE_MS. */
  holdScaleMs: number;
  /** More than COMPACT_PAST_LANES lanes: one line each, TOKENS_DRAWN_COMPACT tokens each. */
  compact: boolean;
}

/** Up to this many slots in the whole picture, lanes draw large tiles (labelled, with hold bars). */
export const LARGE_SLOTS_MAX = 40;
/** Up to this many in a lane (and twice as many in the picture), small tiles; beyond, counts by state. */
export const SMALL_SLOTS_MAX = 200;
/** Waiting tokens drawn per lane; the rest of the line is "+N more". */
export const TOKENS_DRAWN = 12;
/** Past this many lanes, each takes one line so that all fit one screen (instances, a sweep). */
const COMPACT_PAST_LANES = 3;
/** A compact lane's line holds this many tokens in one row beside its count; twelve wrapped,
    and six instances' lanes grew the picture past a 720-pixel screen. */
export const TOKENS_DRAWN_COMPACT = 6;
/** A full hold-time bar without a leak threshold: holds of seconds stand out against queries of milliseconds. */
export const DEFAULT_HOLD_SCALE_MS = 5_000;

const ROLE_ORDER: Record<LaneRole, number> = { pooled: 0, 'per-request': 1, instance: 2, sweep: 3, draining: 4 };

const GROUP_ORDER: readonly SlotState[] = ['borrowed', 'in-transaction', 'in-failed-transaction', 'idle', 'connecting', 'closing', 'broken', 'empty'];

function roleOf(s: Snapshot, p: PoolView, instanceIndex: ReadonlyMap<string, number>): { role: LaneRole; label: string; detail?: Lane['detail'] } {
  if (p.status === 'draining' || p.status === 'ending') return { role: 'draining', label: 'draining (old pool)' };
  if (p.id === s.comparison?.perRequestPoolId) return { role: 'per-request', label: 'per request' };
  const i = instanceIndex.get(p.id);
  if (i !== undefined) return { role: 'instance', label: `instance ${i + 1} of ${instanceIndex.size}` };
  if (p.id !== s.activePoolId && s.sweep?.running) return { role: 'sweep', label: `sweep: size ${p.settings.max}` };
  const app = sourceOfPool(s, p.id);
  if (app !== null) return { role: 'pooled', label: appName(app), detail: { text: p.target.display.replace(/^[a-z0-9+]+:\/\/[^@/]*@/, ''), full: p.target.display } };
  return { role: 'pooled', label: p.id === s.activePoolId ? 'pooled' : 'pooled (checking its target)' };
}

interface LineAcc {
  count: number;
  tokens: WaitingToken[];
  oldestSince: number | null;
}

/** One pass over the whole line (10k waiters), bucketed by pool, keeping only each head. */
function linesByPool(s: Snapshot, drawn: number): Map<string, LineAcc> {
  const lines = new Map<string, LineAcc>();
  for (const id of s.waiting) {
    const b = s.borrowers[id];
    if (!b) continue;
    let acc = lines.get(b.poolId);
    if (!acc) {
      acc = { count: 0, tokens: [], oldestSince: b.enqueuedAt };
      lines.set(b.poolId, acc);
    }
    acc.count++;
    if (acc.tokens.length < drawn) acc.tokens.push({ id, label: b.label, since: b.enqueuedAt });
  }
  return lines;
}

/** Lanes share one size of tile, so that several pools (8 instances) still fit one screen. */
function scaleOf(lane: number, picture: number): SlotScale {
  if (picture <= LARGE_SLOTS_MAX) return 'large';
  return lane <= SMALL_SLOTS_MAX && picture <= 2 * SMALL_SLOTS_MAX ? 'small' : 'grouped';
}

/** The picture of a snapshot; ages are left as times, for the view's ticking clock. */
/** `join`: the view's own join of the same snapshot, when it has one (it sorts and scans every session). */
export function buildPicture(s: Snapshot, join: ServerJoin | null = joinServerView(s)): Picture {
  const instanceIndex = new Map((s.instances?.poolIds ?? []).map((id, i) => [id, i] as const));
  const shown = Object.values(s.pools).filter((p) => p.status !== 'ended');
  const compact = shown.length > COMPACT_PAST_LANES;
  const lines = linesByPool(s, compact ? TOKENS_DRAWN_COMPACT : TOKENS_DRAWN);
  const byPool = new Map<string, Slot[]>();
  const sessionsByPool = new Map<string, number>();
  const flags = new Map<string, { leaked: number; past: number }>();
  for (const c of Object.values(s.connections)) {
    const b = c.borrowerId === null ? undefined : s.borrowers[c.borrowerId];
    const holding = b?.state === 'holding' && isBorrowedState(c.state);
    const slot: Slot = {
      key: c.id,
      connId: c.id,
      state: c.state,
      holder: holding ? b.label : null,
      heldSince: holding ? b.acquiredAt : null,
      leaked: holding ? isLeakHolder({ ...b, flagged: false }) : false,
      pastThreshold: holding ? b.flagged : false,
    };
    let list = byPool.get(c.poolId);
    if (!list) byPool.set(c.poolId, (list = []));
    list.push(slot);
    let f = flags.get(c.poolId);
    if (!f) flags.set(c.poolId, (f = { leaked: 0, past: 0 }));
    if (slot.leaked) f.leaked++;
    if (slot.pastThreshold) f.past++;
    if (join?.byConnection[c.id]?.session) sessionsByPool.set(c.poolId, (sessionsByPool.get(c.poolId) ?? 0) + 1);
  }

  // Connections closing or broken still take their place until they are gone.
  const freeOf = (p: PoolView) => Math.max(0, p.settings.max - (byPool.get(p.id) ?? []).filter((x) => x.state !== 'closing' && x.state !== 'broken').length);
  const slotsOf = (p: PoolView) => (byPool.get(p.id)?.length ?? 0) + freeOf(p);
  const inPicture = shown.reduce((n, p) => n + slotsOf(p), 0);
  const lanes: Lane[] = [];
  for (const p of shown) {
    const { role, label, detail = null } = roleOf(s, p, instanceIndex);
    const conns = byPool.get(p.id) ?? [];
    const free = freeOf(p);
    const scale = scaleOf(slotsOf(p), inPicture);
    let slots: Slot[] = [];
    let groups: SlotGroup[] = [];
    if (scale === 'grouped') {
      const count = new Map<SlotState, number>([['empty', free]]);
      for (const x of conns) count.set(x.state, (count.get(x.state) ?? 0) + 1);
      groups = GROUP_ORDER.filter((st) => (count.get(st) ?? 0) > 0).map((st) => ({ state: st, count: count.get(st) ?? 0 }));
    } else {
      slots = conns;
      for (let i = 0; i < free; i++) slots.push({ key: `empty-${i}`, connId: null, state: 'empty', holder: null, heldSince: null, leaked: false, pastThreshold: false });
    }
    const acc = lines.get(p.id);
    const f = flags.get(p.id);
    lanes.push({
      poolId: p.id,
      role,
      label,
      detail,
      status: p.status,
      counts: poolCounts(s, p.id),
      scale,
      slots,
      groups,
      line: acc ? { count: acc.count, tokens: acc.tokens, more: acc.count - acc.tokens.length, oldestSince: acc.oldestSince } : { count: 0, tokens: [], more: 0, oldestSince: null },
      pastThreshold: f?.past ?? 0,
      leaked: f?.leaked ?? 0,
      serverSessions: join ? (sessionsByPool.get(p.id) ?? 0) + (join.unjoinedByPool[p.id] ?? 0) : null,
    });
  }
  lanes.sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || (instanceIndex.get(a.poolId) ?? 0) - (instanceIndex.get(b.poolId) ?? 0));
  const server = s.server;
  const database: DatabaseSide | null = !server ? null : join ? { read: true, sessions: join.total, starting: join.starting.length, capacity: capacityOf(join.total, server.maxConnections, server.reserved) } : { read: false };
  return { lanes, database, holdScaleMs: s.leakThresholdMs > 0 ? s.leakThresholdMs : DEFAULT_HOLD_SCALE_MS, compact };
}
