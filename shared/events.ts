import type { TimeoutDiagnosis } from './diagnosis';
import type { FaultKind, Recovery, Toxics } from './faults';
import type { RunnerState, ScenarioReview, StepOutcome } from './scenario';
import type { SshAuth, TlsMode } from './target-schema';
import type { Spotlight } from './spotlight';

// Every change the engine observes is one of these events, named in the past tense
// (`area.verb`). The engine stamps each with a monotonic `seq` and a time `t`
// (milliseconds on the engine's clock); the shared reducer folds them into a Snapshot.

export type EngineKind = 'postgres' | 'mysql';

/** Why a physical connection left the pool. */
export type CloseReason =
  | 'idle timeout'
  | 'max uses'
  | 'max lifetime'
  | 'error'
  | 'pool ended'
  | 'terminated by server'
  | 'destroyed'
  | 'connect failed';

/** Transaction status as the server reports it on the wire (pg ReadyForQuery I/T/E,
 * mysql's SERVER_STATUS_IN_TRANS flag; MySQL has no failed-transaction state). */
export type TxStatus = 'idle' | 'active' | 'failed';

/** Handshake phases of one new connection, each measured from the previous one. */
export interface HandshakeTimings {
  /** The TCP connect (to the database, or to the fault proxy); 0 through an SSH tunnel, which has no socket of ours. */
  socketMs: number;
  /** Through an SSH tunnel: opening its channel to the database (the bastion's own connect included); else null. */
  sshMs: number | null;
  /** From the stream being open to the TLS handshake done (pg's SSLRequest, MySQL's greeting included); null without TLS. */
  tlsMs: number | null;
  authMs: number;
  readyMs: number;
  totalMs: number;
}

/**
 * What a connection does about TLS once a mode is applied: `prefer` and `allow` become
 * `encrypt` or `off` on the pool's first connection.
 */
export type TlsUse = 'off' | 'encrypt' | 'verify-ca' | 'verify-full';

export interface TlsInfo {
  /** As asked (sslmode / ssl-mode). */
  mode: TlsMode;
  /** As applied to every connection of the pool. */
  use: TlsUse;
  /** File paths as given; never their content. */
  ca: string | null;
  cert: string | null;
  key: string | null;
}

/** The TLS session of a pool's first connection: what the server presented. */
export interface TlsSession {
  /** TLSv1.3, TLSv1.2 … */
  protocol: string | null;
  /** The certificate's subject and issuer, `CN=db.example.com, O=…`. */
  subject: string;
  issuer: string;
  /** Its subjectAltName as Node prints it (`DNS:db.example.com, IP Address:10.0.0.5`), or null. */
  altNames: string | null;
  validFrom: number;
  validTo: number;
}

export interface SshInfo {
  host: string;
  port: number;
  user: string;
  auth: SshAuth;
  keyFile: string | null;
  /** The host key the tunnel checked, SHA256:…; null before it connected. */
  fingerprint: string | null;
}

/** Target as shown to people: never a password. */
export interface TargetInfo {
  engine: EngineKind;
  host: string;
  port: number;
  database: string;
  user: string;
  tls: TlsInfo;
  ssh: SshInfo | null;
  /** `postgres://user@host:port/db`, with no password. */
  display: string;
  embedded: boolean;
}

/** Driver pool settings as applied; the unused side is null. */
export interface PoolSettings {
  /** pg `max` / mysql2 `connectionLimit`. */
  max: number;
  /** How long a borrower may wait: pg connectionTimeoutMillis, or the engine's own timer for mysql2. 0 = forever. */
  acquireTimeoutMs: number;
  /** Whether the engine enforces the acquire timeout itself (mysql2 has none). */
  acquireTimeoutByEngine: boolean;
  idleTimeoutMs: number;
  /** Client-side limit on one statement (pg query_timeout, mysql2's per-query timeout); the connection is dropped when it fires. 0 = none. */
  queryTimeoutMs: number;
  min: number | null;
  maxUses: number | null;
  maxLifetimeSeconds: number | null;
  maxIdle: number | null;
  queueLimit: number | null;
  waitForConnections: boolean | null;
}

export type EmbeddedPhase =
  | 'initialising'
  | 'starting'
  | 'seeding'
  | 'ready'
  | 'recovering'
  | 'stopping'
  | 'stopped';

/** One session as the database server lists it (pg_stat_activity, PROCESSLIST + INNODB_TRX). */
export interface ServerSession {
  /** Backend pid / thread id. */
  id: number;
  user: string | null;
  application: string | null;
  /** The server's own words: active, idle, idle in transaction, Sleep, Query… */
  state: string | null;
  inTransaction: boolean;
  transactionSince: number | null;
  waitEvent: string | null;
  query: string | null;
}

/** What one side of the comparison served over an interval. */
export interface SideStats {
  requests: number;
  ok: number;
  failed: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface PatternSide extends SideStats {
  holding: number;
  waiting: number;
}

export type PoolEventBody =
  | { type: 'embedded.progressed'; phase: EmbeddedPhase; message: string }
  | { type: 'target.failed'; display: string; message: string }
  | { type: 'pool.created'; poolId: string; target: TargetInfo; settings: PoolSettings }
  /** `tls`: the session of the connection that answered the check (null without TLS). */
  | { type: 'pool.verified'; poolId: string; serverVersion: string; tls: TlsSession | null }
  /** The SSH tunnel of the active target went down (every connection through it is lost) or is up again. */
  | { type: 'tunnel.changed'; up: boolean; message: string }
  /** Replaced by another pool: serves its waiting and holding borrowers, takes no new ones, then ends. */
  | { type: 'pool.draining'; poolId: string; waiting: number; holding: number }
  | { type: 'pool.ending'; poolId: string }
  | { type: 'pool.ended'; poolId: string }
  | { type: 'connection.connecting'; poolId: string; connId: string }
  | { type: 'connection.opened'; connId: string; serverId: number | null; handshake: HandshakeTimings }
  | { type: 'connection.broken'; connId: string; error: string }
  | { type: 'connection.closing'; connId: string; reason: CloseReason }
  | { type: 'connection.closed'; connId: string; reason: CloseReason; error: string | null }
  | {
      type: 'borrower.enqueued';
      poolId: string;
      borrowerId: string;
      label: string;
      site: string;
      deadline: number | null;
    }
  | { type: 'borrower.acquired'; borrowerId: string; connId: string; waitedMs: number }
  | { type: 'borrower.timedout'; borrowerId: string; waitedMs: number; message: string; diagnosis: TimeoutDiagnosis }
  | { type: 'borrower.failed'; borrowerId: string; waitedMs: number; message: string }
  /** Taken out of the waiting line by whoever asked (load.stop, pattern.stop): not a failure of the pool. */
  | { type: 'borrower.cancelled'; borrowerId: string; waitedMs: number; reason: string }
  /** Held longer than the leak detection threshold (HikariCP's leakDetectionThreshold); not taken away. */
  | { type: 'borrower.flagged'; borrowerId: string; connId: string; heldMs: number; thresholdMs: number }
  | { type: 'leak.thresholdset'; thresholdMs: number }
  | { type: 'borrower.released'; borrowerId: string; connId: string; heldMs: number; dirty: boolean; destroyed: boolean }
  | { type: 'statement.started'; connId: string; sql: string }
  | { type: 'statement.finished'; connId: string; ms: number; error: string | null }
  /**
   * A run of statement events of one connection within one chunk, folded by the event
   * log's EventFolder: no other event of that connection came between them, so its
   * transaction state and holder were the same throughout. `sql`/`since` describe the statement still running
   * at the end of the run (null when none is).
   */
  | {
      type: 'statement.summary';
      connId: string;
      started: number;
      errors: number;
      sql: string | null;
      since: number | null;
      finishedAt: number | null;
      lastError: string | null;
    }
  /**
   * Borrowers that came and went on one connection within one chunk, folded by the event
   * log's EventFolder, or as they released by the recorder our own pools and attached apps
   * record through (main/agent/recorder.cjs): each enqueued, acquired this connection, ran its statements outside a
   * transaction and released it clean, and no other event of the connection came
   * between. Folding it leaves the snapshot as the raw events would: the counters, the
   * acquire-wait histogram (one entry per wait) and the connection idle since `releasedAt`.
   */
  | {
      type: 'borrower.summary';
      connId: string;
      served: number;
      /** Each borrower's wait, ms, in order. */
      waits: number[];
      /** Statements run by these borrowers, and how many failed (the last failure's text). */
      started: number;
      errors: number;
      lastError: string | null;
      finishedAt: number | null;
      releasedAt: number;
    }
  | { type: 'load.changed'; running: boolean; concurrency: number; rate: number | null; query: string; sleepMs: number | null; leakOneIn: number | null }
  /** What the load's requests saw over the last interval (borrow to release): a low-rate aggregate. */
  | { type: 'load.stats'; intervalMs: number; requests: number; ok: number; failed: number; timedOut: number; cancelled: number; leaked: number; shed: number; inFlight: number; p50Ms: number | null; p99Ms: number | null }
  | { type: 'compare.changed'; running: boolean; concurrency: number; query: string; perRequestPoolId: string | null }
  /** One interval of the per-request versus pooled comparison; `handshake` is the median of the new connections' phases. */
  | { type: 'compare.stats'; intervalMs: number; pooled: SideStats; perRequest: SideStats; handshake: HandshakeTimings | null }
  | { type: 'pattern.changed'; running: boolean; concurrency: number; paymentMs: number; emailMs: number }
  /** One interval of the transaction patterns: what each served, and the connections each held and waited for at its end. */
  | { type: 'pattern.stats'; intervalMs: number; inTransaction: PatternSide; afterCommit: PatternSide }
  /** The server's sessions, read by a monitor connection outside every pool (about 4 times a second). */
  | { type: 'server.observed'; sessions: ServerSession[]; maxConnections: number | null; reserved: number | null; monitorId: number | null; note: string | null }
  /** The link's conditions; `proxy` null while the pool connects directly. */
  | { type: 'fault.changed'; toxics: Toxics; proxy: { listen: string; upstream: string } | null }
  /** An outage began: a recovery window opens until the pool serves again. */
  | { type: 'fault.injected'; faultId: number; kind: FaultKind; detail: string }
  | { type: 'fault.lifted'; faultId: number }
  | ({ type: 'fault.recovered' } & Recovery)
  | { type: 'instances.changed'; running: boolean; count: number; poolSize: number; query: string; poolIds: string[] }
  | { type: 'sweep.changed'; running: boolean; sizes: number[]; secondsEach: number; clients: number; query: string }
  /** One pool size of the sweep, measured. */
  | { type: 'sweep.measured'; size: number; throughput: number; p50Ms: number | null; p99Ms: number | null; failed: number }
  /**
   * `target`: the scenario's own target as shown ("embedded" or a URL without its password);
   * `review`: the file's SQL awaiting confirmation. Both absent in recordings made before them.
   */
  | { type: 'scenario.opened'; name: string; title: string; description: string; steps: StepOutcome[]; target?: string; review?: ScenarioReview | null }
  /** The open file's SQL was confirmed: it may run. */
  | { type: 'scenario.confirmed'; id: string }
  /**
   * `goal`: the note a Back replays the steps up to (the run stops there), null otherwise;
   * absent in recordings made before Back.
   */
  | { type: 'scenario.changed'; state: RunnerState; current: number; goal?: number | null }
  | { type: 'scenario.stepped'; outcome: StepOutcome }
  /**
   * A note step reached: the text shown to the audience (and kept in recordings). `readMs`:
   * Play goes on by itself after that long; null (or absent) when it waits for Next.
   * `spotlight`: what the note points at (absent when it names nothing, and in older recordings).
   */
  | { type: 'scenario.noted'; index: number; text: string; readMs?: number | null; spotlight?: Spotlight }
  /** The scenario was closed: what it started was stopped, its note taken off the screen. */
  | { type: 'scenario.closed'; name: string }
  | { type: 'record.changed'; recording: boolean; fromSeq: number | null }
  /** An app under `poolscope attach` (or `node --import poolscope/attach`) connected: a source of pools beside Poolscope's own. */
  | { type: 'source.attached'; sourceId: string; pid: number; command: string; runtime: string; /** A worker thread's id (its agent is a source of its own); null or absent: the main thread. */ thread?: number | null; /** `attach --site-budget N`: call sites captured per second; null or absent: every borrow's. */ siteBudget?: number | null }
  /** A pool the attached app created (its pool.created came just before). */
  | { type: 'source.pooled'; sourceId: string; poolId: string; driver: string }
  /** What the agent says about itself: a driver version left alone, an agent failure. */
  | { type: 'source.noted'; sourceId: string; message: string }
  /** The agent's count of events it dropped (Poolscope slow or away), when it grew. */
  | { type: 'source.dropped'; sourceId: string; dropped: number }
  /** Borrowers of the source's process whose call site its site budget left unsampled, so far. */
  | { type: 'source.unsampled'; sourceId: string; notSampled: number }
  | { type: 'source.detached'; sourceId: string }
  | { type: 'tx.began'; connId: string }
  | { type: 'tx.failed'; connId: string }
  | { type: 'tx.ended'; connId: string; outcome: 'committed' | 'rolled back' };

export type PoolEventType = PoolEventBody['type'];

export type PoolEvent = PoolEventBody & { seq: number; t: number };

export type EventOf<K extends PoolEventType> = Extract<PoolEvent, { type: K }>;
