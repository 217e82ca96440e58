// What the components read: an immutable picture of the snapshot, built once per frame
// (the snapshot itself is updated in place by the reducer, so handing it to Svelte would
// either miss changes or deep-proxy hot data). Rows are plain objects with the holder
// resolved; big collections (10k waiters) are passed by id list plus a lookup.

import { type AttachedSourceRow, attachedRows } from '../../../../shared/sources';
import {
  type BorrowerView,
  type ConnState,
  type ConnectionView,
  type Counters,
  type LoadView,
  type PoolCounts,
  type PoolView,
  type Snapshot,
  type SourceView,
  emptySnapshot,
  poolCounts,
} from '../../../../shared/snapshot';
import { activeFaults } from '../../../../shared/faults';
import { type Disagreement, type ServerJoin, joinServerView } from '../../../../shared/server-join';
import { type InstancesView, instancesView } from '../instances/instances';
import { type Picture, buildPicture } from '../picture/picture';
import { type ServerPanel, type ServerSide, serverPanel, serverSideOf } from '../server/server-view';

export interface ConnRow {
  id: string;
  poolId: string;
  serverId: number | null;
  state: ConnState;
  stateSince: number;
  openedAt: number;
  uses: number;
  borrowerId: string | null;
  holderLabel: string | null;
  holderSite: string | null;
  /** The holder is past the leak detection threshold. */
  holderFlagged: boolean;
  /** The holder received this connection still inside someone else's transaction. */
  holderReceivedDirty: boolean;
  /** When the holder got this connection. */
  holderAcquiredAt: number | null;
  /** Flagged, or borrowed by a request that never releases (an injected leak, a leaky load request). */
  leak: boolean;
  tx: ConnectionView['tx'];
  txSince: number | null;
  txStatements: number;
  statement: string | null;
  statementSince: number | null;
  /** When its last statement finished. */
  lastStatementAt: number | null;
  lastError: string | null;
  closeReason: ConnectionView['closeReason'];
  closed: boolean;
  /** Its session as the server lists it (null when closed, not seen yet, or gone). */
  server: ServerSide | null;
  /** Where the server and the pool disagree about this connection. */
  serverFlag: Disagreement | null;
  /** The attached app whose pool this is (Poolscope only watches it); null: one of Poolscope's own. */
  app: SourceView | null;
}

export interface InspectorView {
  seq: number;
  t: number;
  /** The active pool, else the newest one (a target being checked). */
  pool: PoolView | null;
  /** Whether `pool` answered its target check and takes borrowers. */
  poolActive: boolean;
  pools: PoolView[];
  /** The active pool's gauges. */
  counts: PoolCounts;
  /** Across every pool not ended (the active one, draining ones, side pools): what the table lists. */
  allCounts: PoolCounts;
  /** Pools not ended. */
  openPools: number;
  /** Connections of any pool held right now by a borrower shown as a leak: every "leaked" count on screen is this one. */
  leakedNow: number;
  /** Open connections, in the order they were opened. */
  connections: ConnRow[];
  /** Recently closed connections, newest first. */
  closed: ConnRow[];
  /** Connections inside a transaction (tx active or failed). */
  transactions: ConnRow[];
  /** Waiting borrower ids, first in line first (a copy). */
  waiting: readonly string[];
  /** Live lookup for waiter rows: read, never keep. */
  borrowers: Readonly<Record<string, BorrowerView>>;
  load: LoadView | null;
  targetError: string | null;
  /** The active target's SSH tunnel once it changed (down, or up again). */
  tunnel: Snapshot['tunnel'];
  embedded: Snapshot['embedded'];
  counters: Counters;
  loadStats: Snapshot['loadStats'];
  leakThresholdMs: number;
  lastTimeout: Snapshot['lastTimeout'];
  /** Per-request connections versus the pool (a copy; `latest` is replaced, never mutated). */
  comparison: Snapshot['comparison'];
  /** The long transaction next to its fix (a copy; `latest` is replaced, never mutated). */
  patterns: Snapshot['patterns'];
  /** The database's own view: every session, the server's limit, the monitor's note. */
  server: ServerPanel | null;
  /** The faults Poolscope set and has not lifted, in words (the header's marker); empty when none. */
  faultsSet: string[];
  /** The link's conditions, open outages and measured recoveries (copies). */
  faults: Snapshot['faults'];
  instances: InstancesView | null;
  /** The pool-size sweep (a copy; its points are appended in place by the reducer). */
  sweep: Snapshot['sweep'];
  /** The scenario open in the runner (a copy; the reducer replaces its steps' outcomes in place). */
  scenario: Snapshot['scenario'];
  recording: Snapshot['recording'];
  /** Apps under `poolscope attach`: their pools, watched and never controlled. */
  attached: AttachedSourceRow[];
  /** The pool picture: lanes, slots and waiting lines, the database's side. */
  picture: Picture;
}

export const EMPTY_COUNTS: PoolCounts = { total: 0, connecting: 0, idle: 0, borrowed: 0, leaving: 0, waiting: 0, max: 0 };

function row(c: ConnectionView, s: Snapshot, join: ServerJoin | null, closed: boolean, apps: ReadonlyMap<string, SourceView>): ConnRow {
  const b = c.borrowerId === null ? undefined : s.borrowers[c.borrowerId];
  const side = closed ? { server: null, flag: null } : serverSideOf(join, c.id);
  return {
    id: c.id,
    poolId: c.poolId,
    serverId: c.serverId,
    state: c.state,
    stateSince: c.stateSince,
    openedAt: c.openedAt,
    uses: c.uses,
    borrowerId: c.borrowerId,
    holderLabel: b ? b.label : null,
    holderSite: b ? b.site : null,
    holderFlagged: b ? b.flagged : false,
    holderReceivedDirty: b ? b.receivedDirty : false,
    holderAcquiredAt: b ? b.acquiredAt : null,
    leak: b ? isLeakHolder(b) : false,
    tx: c.tx,
    txSince: c.txSince,
    txStatements: c.txStatements,
    statement: c.statement,
    statementSince: c.statementSince,
    lastStatementAt: c.lastStatementAt,
    lastError: c.lastError,
    closeReason: c.closeReason,
    closed,
    server: side.server,
    serverFlag: side.flag,
    app: apps.get(c.poolId) ?? null,
  };
}

/** A holder to show as a leak: past the threshold, or one of the engine's never-releasing borrowers. */
export function isLeakHolder(b: Pick<BorrowerView, 'flagged' | 'label' | 'state'>): boolean {
  if (b.state !== 'holding') return false;
  return b.flagged || b.label === 'leaked request' || b.label.endsWith('(leaked)');
}

function displayedPool(s: Snapshot): PoolView | null {
  if (s.activePoolId !== null) return s.pools[s.activePoolId] ?? null;
  let last: PoolView | null = null;
  for (const p of Object.values(s.pools)) last = p;
  return last;
}

export function buildView(s: Snapshot): InspectorView {
  const join = joinServerView(s);
  const apps = new Map(Object.values(s.sources).flatMap((src) => src.poolIds.map((id) => [id, src] as const)));
  const connections: ConnRow[] = [];
  const transactions: ConnRow[] = [];
  for (const c of Object.values(s.connections)) {
    const r = row(c, s, join, false, apps);
    connections.push(r);
    if (c.tx !== 'idle') transactions.push(r);
  }
  const closed: ConnRow[] = [];
  for (let i = s.closed.length - 1; i >= 0; i--) closed.push(row(s.closed[i] as ConnectionView, s, null, true, apps));
  const pool = displayedPool(s);
  return {
    seq: s.seq,
    t: s.t,
    pool,
    poolActive: pool !== null && pool.id === s.activePoolId,
    pools: Object.values(s.pools),
    counts: s.activePoolId === null ? { ...EMPTY_COUNTS } : poolCounts(s, s.activePoolId),
    allCounts: poolCounts(s),
    openPools: Object.values(s.pools).filter((p) => p.status !== 'ended').length,
    leakedNow: connections.filter((c) => c.leak).length,
    connections,
    closed,
    transactions,
    waiting: s.waiting.slice(),
    borrowers: s.borrowers,
    load: s.load === null ? null : { ...s.load },
    targetError: s.targetError,
    tunnel: s.tunnel === null ? null : { ...s.tunnel },
    embedded: s.embedded === null ? null : { ...s.embedded },
    counters: { ...s.counters, closedBy: { ...s.counters.closedBy } },
    loadStats: s.loadStats === null ? null : { ...s.loadStats },
    leakThresholdMs: s.leakThresholdMs,
    // Replaced, never mutated, by the reducer (a new timeout is a new object): shared as is.
    lastTimeout: s.lastTimeout,
    comparison: s.comparison === null ? null : { ...s.comparison },
    patterns: s.patterns === null ? null : { ...s.patterns },
    server: serverPanel(s, join),
    faultsSet: activeFaults(s.faults),
    faults: {
      toxics: { ...s.faults.toxics },
      proxy: s.faults.proxy,
      open: s.faults.open.map((o) => ({ ...o })),
      // Each recovery is a new object from its event, never changed after: shared as is.
      recoveries: s.faults.recoveries.slice(),
    },
    instances: instancesView(s),
    sweep: s.sweep === null ? null : { ...s.sweep, points: s.sweep.points.slice() },
    // Outcomes are replaced, never mutated: a copy of the list is enough.
    scenario: s.scenario === null ? null : { ...s.scenario, steps: s.scenario.steps.slice() },
    recording: { ...s.recording },
    attached: attachedRows(s),
    picture: buildPicture(s, join),
  };
}

export function emptyView(): InspectorView {
  return buildView(emptySnapshot());
}

export const IDLE_IN_TX_DEFAULT_MS = 5_000;

/**
 * How long a connection inside a transaction has been sitting without a statement
 * running, or null when it is not (no transaction, or a statement is running).
 */
export function idleInTxMs(r: ConnRow, now: number): number | null {
  if (r.tx === 'idle' || r.statement !== null) return null;
  const since = Math.max(r.txSince ?? r.stateSince, r.lastStatementAt ?? -Infinity);
  return Math.max(0, now - since);
}

export function isIdleInTransaction(r: ConnRow, now: number, thresholdMs: number): boolean {
  const idle = idleInTxMs(r, now);
  return idle !== null && idle >= thresholdMs;
}
