import type {
  EventOf,
  CloseReason,
  ServerSession,
  EmbeddedPhase,
  HandshakeTimings,
  PoolSettings,
  TargetInfo,
  TlsSession,
  TxStatus,
} from './events';
import type { TimeoutDiagnosis } from './diagnosis';
import { type FaultKind, NO_TOXICS, type Recovery, type Toxics } from './faults';
import { emptyHistogram, type Histogram } from './histogram';
import type { RunnerState, ScenarioReview, StepOutcome } from './scenario';
import type { Spotlight } from './spotlight';

/**
 * Intervals the comparison and pattern panels smooth over (each 500 ms, too jumpy to read
 * alone). The reducer keeps them per run, so a restarted run never mixes with the one before.
 */
export const SMOOTH_INTERVALS = 4;

/** One state a person sees per connection; transaction states apply while borrowed. */
export type ConnState =
  | 'connecting'
  | 'idle'
  | 'borrowed'
  | 'in-transaction'
  | 'in-failed-transaction'
  | 'closing'
  | 'broken'
  | 'closed';

export interface ConnectionView {
  id: string;
  poolId: string;
  serverId: number | null;
  state: ConnState;
  stateSince: number;
  openedAt: number;
  uses: number;
  borrowerId: string | null;
  tx: TxStatus;
  txSince: number | null;
  txStatements: number;
  statement: string | null;
  statementSince: number | null;
  /** When its last statement finished: a holder idle since long ago is likely a leak. */
  lastStatementAt: number | null;
  lastError: string | null;
  handshake: HandshakeTimings | null;
  closeReason: CloseReason | null;
}

export interface BorrowerView {
  id: string;
  poolId: string;
  label: string;
  site: string;
  state: 'waiting' | 'holding';
  enqueuedAt: number;
  deadline: number | null;
  acquiredAt: number | null;
  connId: string | null;
  statements: number;
  /** Held past the leak detection threshold. */
  flagged: boolean;
  /** Received its connection still inside a transaction someone else left open. */
  receivedDirty: boolean;
}

export interface PoolView {
  id: string;
  target: TargetInfo;
  settings: PoolSettings;
  status: 'open' | 'draining' | 'ending' | 'ended';
  serverVersion: string | null;
  /** What the server presented to the connection that answered the target check; null without TLS. */
  tlsSession: TlsSession | null;
}

/** An app whose pools the agent observes (`poolscope attach`): read only, no control changes it. */
export interface SourceView {
  id: string;
  pid: number;
  command: string;
  runtime: string;
  /** A worker thread's id; null: the process's main thread. */
  thread: number | null;
  status: 'attached' | 'detached';
  since: number;
  /** Its pools, in the order it created them. */
  poolIds: string[];
  drivers: string[];
  /** Events the agent dropped because Poolscope was slow or away: the picture may lag. */
  dropped: number;
  /** `attach --site-budget N`: call sites captured per second; null: every borrow's. */
  siteBudget: number | null;
  /** Borrowers beyond the site budget, whose call site reads "not sampled". */
  notSampled: number;
  notes: string[];
}

export interface Counters {
  enqueued: number;
  acquired: number;
  timedOut: number;
  failed: number;
  released: number;
  destroyed: number;
  dirtyReturns: number;
  opened: number;
  closed: number;
  closedBy: Partial<Record<CloseReason, number>>;
  statements: number;
  statementErrors: number;
  txBegan: number;
  txCommitted: number;
  txRolledBack: number;
  txFailed: number;
  leaksFlagged: number;
}

export interface LoadView {
  running: boolean;
  concurrency: number;
  rate: number | null;
  query: string;
  sleepMs: number | null;
  leakOneIn: number | null;
}

export type LoadStats = Omit<EventOf<'load.stats'>, 'type' | 'seq'>;

export interface Snapshot {
  /** seq of the last event folded in; 0 before any. */
  seq: number;
  t: number;
  pools: Record<string, PoolView>;
  /** The pool new borrowers go to: the last one that answered its target check. */
  activePoolId: string | null;
  /** Why the last attempt to switch targets failed; cleared by the next pool. */
  targetError: string | null;
  load: LoadView | null;
  /** Per-request connections versus the pool, side by side; the run's last intervals. */
  comparison: {
    running: boolean;
    concurrency: number;
    query: string;
    perRequestPoolId: string | null;
    /** The current (or last) run's last SMOOTH_INTERVALS intervals, oldest first: a start empties it. */
    recent: Omit<EventOf<'compare.stats'>, 'type' | 'seq'>[];
  } | null;
  /** The database's own view, as the monitor last read it. */
  server: { t: number; sessions: ServerSession[]; maxConnections: number | null; reserved: number | null; monitorId: number | null; note: string | null } | null;
  /** The long transaction next to its fix; the run's last intervals. */
  patterns: {
    running: boolean;
    concurrency: number;
    paymentMs: number;
    emailMs: number;
    /** The current (or last) run's last SMOOTH_INTERVALS intervals, oldest first: a start empties it. */
    recent: Omit<EventOf<'pattern.stats'>, 'type' | 'seq'>[];
  } | null;
  /** The load's latest interval: requests, outcomes, latency p50/p99. */
  loadStats: LoadStats | null;
  /** Connections not yet closed, in the order they were opened (a stable row order). */
  connections: Record<string, ConnectionView>;
  /** The most recently closed connections, oldest first. */
  closed: ConnectionView[];
  /** Borrowers waiting for or holding a connection. */
  borrowers: Record<string, BorrowerView>;
  /** Ids of waiting borrowers in the order they asked (FIFO). */
  waiting: string[];
  counters: Counters;
  /** Leak detection threshold in ms; 0 = off. */
  leakThresholdMs: number;
  /**
   * The latest borrower of a pool on the active target that ran out of time, with why, the
   * pool and its target as shown (no password). Cleared when the target changes and when a
   * scenario opens or restarts: it belongs to what is on screen now.
   */
  lastTimeout: { borrowerId: string; poolId: string; target: string; label: string; site: string; t: number; message: string; diagnosis: TimeoutDiagnosis } | null;
  /** How long borrowers waited for a connection, over all acquisitions. */
  acquireWait: Histogram;
  embedded: { phase: EmbeddedPhase; message: string } | null;
  /** The link's conditions, outages still open, and the recoveries measured (newest last). */
  faults: {
    toxics: Toxics;
    proxy: { listen: string; upstream: string } | null;
    open: { faultId: number; kind: FaultKind; detail: string; startedAt: number; liftedAt: number | null }[];
    recoveries: Recovery[];
  };
  /** Simulated app instances, each its own pool; refusals by the server counted per pool. */
  instances: {
    running: boolean;
    count: number;
    poolSize: number;
    query: string;
    poolIds: string[];
    refusals: Record<string, number>;
    lastRefusal: { poolId: string; message: string; t: number } | null;
  } | null;
  /** Throughput against pool size. */
  sweep: {
    running: boolean;
    sizes: number[];
    secondsEach: number;
    clients: number;
    query: string;
    points: Omit<EventOf<'sweep.measured'>, 'type' | 'seq' | 't'>[];
  } | null;
  /** The scenario open in the runner: its steps with their outcomes, and the note on screen. */
  scenario: {
    name: string;
    title: string;
    description: string;
    state: RunnerState;
    current: number;
    steps: StepOutcome[];
    note: string | null;
    /** The step index of the note on screen (data-step); null with no note. */
    noteStep: number | null;
    /** Play goes on from the note by itself after this long; null when it waits for Next. */
    readMs: number | null;
    /** Back: the note the run replays the steps up to, then stops at; null otherwise. */
    goal: number | null;
    /** What the note on screen points at; null when it names nothing. */
    spotlight: Spotlight | null;
    /** The target the scenario names, as shown; null in recordings made before it was kept. */
    target: string | null;
    /** Its SQL, while it awaits confirmation. */
    review: ScenarioReview | null;
  } | null;
  /** Whether events are being recorded, and from which seq. */
  recording: { active: boolean; fromSeq: number | null };
  /** The active target's SSH tunnel, once it changed: down (and why) or up again, since when. */
  tunnel: { up: boolean; message: string; since: number } | null;
  /** Attached apps (`poolscope attach`), by source id. */
  sources: Record<string, SourceView>;
}

/**
 * A record keyed by ids (pools, connections, borrowers...), with no prototype: a key such as
 * `__proto__` is an ordinary entry, and a lookup by an unknown id never finds Object.prototype.
 */
export function idRecord<T>(from?: Readonly<Record<string, T>>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, from);
}

/**
 * Gives a snapshot's id-keyed records null prototypes again. JSON and structuredClone drop
 * prototypes, so a snapshot that crossed IPC, the socket, a file or a replay checkpoint has
 * plain objects; reduce() calls this before it folds an event in, so every snapshot the one
 * reducer writes to indexes by id safely, whatever its origin. (Files are checked before
 * that: shared/event-schema.ts admits only the ids the engine makes.)
 */
export function ownRecords(s: Snapshot): Snapshot {
  if (Object.getPrototypeOf(s.pools) !== null) s.pools = idRecord(s.pools);
  if (Object.getPrototypeOf(s.connections) !== null) s.connections = idRecord(s.connections);
  if (Object.getPrototypeOf(s.borrowers) !== null) s.borrowers = idRecord(s.borrowers);
  if (Object.getPrototypeOf(s.counters.closedBy) !== null) s.counters.closedBy = idRecord(s.counters.closedBy);
  if (Object.getPrototypeOf(s.sources) !== null) s.sources = idRecord(s.sources);
  if (s.instances && Object.getPrototypeOf(s.instances.refusals) !== null) s.instances.refusals = idRecord(s.instances.refusals);
  return s;
}

export const RECOVERIES_KEPT = 20;

export const CLOSED_KEPT = 50;

export const SOURCE_NOTES_KEPT = 20;

export function emptySnapshot(): Snapshot {
  return {
    seq: 0,
    t: 0,
    pools: idRecord(),
    activePoolId: null,
    targetError: null,
    load: null,
    loadStats: null,
    comparison: null,
    patterns: null,
    server: null,
    connections: idRecord(),
    closed: [],
    borrowers: idRecord(),
    waiting: [],
    counters: {
      enqueued: 0,
      acquired: 0,
      timedOut: 0,
      failed: 0,
      released: 0,
      destroyed: 0,
      dirtyReturns: 0,
      opened: 0,
      closed: 0,
      closedBy: idRecord(),
      statements: 0,
      statementErrors: 0,
      txBegan: 0,
      txCommitted: 0,
      txRolledBack: 0,
      txFailed: 0,
      leaksFlagged: 0,
    },
    leakThresholdMs: 0,
    lastTimeout: null,
    acquireWait: emptyHistogram(),
    embedded: null,
    faults: { toxics: { ...NO_TOXICS }, proxy: null, open: [], recoveries: [] },
    instances: null,
    sweep: null,
    scenario: null,
    recording: { active: false, fromSeq: null },
    tunnel: null,
    sources: idRecord(),
  };
}

export interface PoolCounts {
  /** Connections the pool holds: connecting + idle + borrowed (closing and broken ones are leaving). */
  total: number;
  connecting: number;
  idle: number;
  borrowed: number;
  leaving: number;
  waiting: number;
  max: number;
}

const BORROWED: ReadonlySet<ConnState> = new Set(['borrowed', 'in-transaction', 'in-failed-transaction']);

export function isBorrowedState(state: ConnState): boolean {
  return BORROWED.has(state);
}

/** Gauges derived from a snapshot, for one pool or (without poolId) all pools. */
export function poolCounts(s: Snapshot, poolId?: string): PoolCounts {
  const c = connectionCounts(s, poolId);
  for (const id of s.waiting) {
    if (poolId === undefined || s.borrowers[id]?.poolId === poolId) c.waiting++;
  }
  return c;
}

/**
 * The gauges of the connections alone (`waiting` left 0): the cost is the pool's size, not
 * its waiting line's, for code that runs once per borrower (a timeout's diagnosis).
 */
export function connectionCounts(s: Snapshot, poolId?: string): PoolCounts {
  const c: PoolCounts = { total: 0, connecting: 0, idle: 0, borrowed: 0, leaving: 0, waiting: 0, max: 0 };
  for (const conn of Object.values(s.connections)) {
    if (poolId !== undefined && conn.poolId !== poolId) continue;
    if (conn.state === 'connecting') c.connecting++;
    else if (conn.state === 'idle') c.idle++;
    else if (BORROWED.has(conn.state)) c.borrowed++;
    else c.leaving++;
  }
  c.total = c.connecting + c.idle + c.borrowed;
  for (const p of Object.values(s.pools)) {
    if ((poolId === undefined || p.id === poolId) && p.status !== 'ended') c.max += p.settings.max;
  }
  return c;
}
