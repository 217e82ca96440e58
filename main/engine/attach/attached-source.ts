import { diagnoseTimeout, timeoutMessage } from '../../../shared/diagnosis';
import type { CloseReason, PoolSettings, TargetInfo } from '../../../shared/events';
import { redactUrls } from '../errors';
import type { Clock } from '../clock';
import type { EventLog } from '../event-log';
import { statementTexts } from '../statement-text';
import { NOT_SAMPLED, type PoolInfo, ROW, type Row, type Sync, poolInfoSchema, servedWaits } from './agent-protocol';

// One attached process: turns its agent's rows into the engine's own events, so its pools'
// connections, borrowers, statements, leak flags and timeout diagnoses go through the same
// reducer paths as Poolscope's pools. Agent ids become engine ids (`p<n>.c<agent id>`); times
// between two of the agent's rows (waits, holds, statement times) are the agent's own clock.

const CLOSE_REASONS: ReadonlySet<string> = new Set<CloseReason>(['idle timeout', 'max uses', 'max lifetime', 'error', 'pool ended', 'terminated by server', 'destroyed', 'connect failed']);
const noScrub = (s: string) => redactUrls(s);

interface PoolRec {
  id: string;
  ended: boolean;
  info: PoolInfo;
  display: string;
  /** The pool's statements as shown, remembered by text (an app runs a handful, again and again). */
  shown: (sql: string) => string;
}
interface ConnRec {
  id: string;
  pool: PoolRec;
  statementAt: number | null;
  lastSql: string;
  tx: number;
}
interface BorrowerRec {
  id: string;
  pool: PoolRec;
  t: number;
  conn: ConnRec | null;
  acquiredAt: number;
}

export class AttachedSource {
  readonly id: string;
  readonly #log: EventLog;
  readonly #clock: Clock;
  readonly #label: string;
  /** What an unsampled borrower's site reads, with the budget its agent was given. */
  readonly #notSampledSite: string;
  readonly #newPoolId: () => string;
  readonly #pools = new Map<number, PoolRec>();
  readonly #conns = new Map<number, ConnRec>();
  readonly #borrowers = new Map<number, BorrowerRec>();
  #dropped = 0;
  #notSampled = 0;
  /** The agent's time of the last row: when the process went away, at the latest. */
  #lastT = 0;

  constructor(id: string, log: EventLog, clock: Clock, newPoolId: () => string, hello: { pid: number; thread?: number | null; command: string; node: string; siteBudget?: number | null }) {
    this.id = id;
    this.#log = log;
    this.#clock = clock;
    // The agent sends its worker thread's id, 0 on the main thread.
    const thread = hello.thread ? hello.thread : null;
    this.#label = thread === null ? `pid ${hello.pid}` : `pid ${hello.pid} thread ${thread}`;
    this.#newPoolId = newPoolId;
    const siteBudget = hello.siteBudget ?? null;
    this.#notSampledSite = siteBudget === null ? NOT_SAMPLED : `${NOT_SAMPLED} (site budget ${siteBudget}/s)`;
    log.emit({ type: 'source.attached', sourceId: id, pid: hello.pid, thread, command: redactUrls(hello.command), runtime: `Node ${hello.node}`, siteBudget });
  }

  rows(rows: Row[], dropped: number, notSampled: number): void {
    for (const row of rows) this.#row(row);
    this.#droppedNow(dropped);
    this.#notSampledNow(notSampled);
  }

  #droppedNow(dropped: number): void {
    if (dropped <= this.#dropped) return;
    this.#dropped = dropped;
    this.#log.emit({ type: 'source.dropped', sourceId: this.id, dropped });
  }

  #notSampledNow(notSampled: number): void {
    if (notSampled <= this.#notSampled) return;
    this.#notSampled = notSampled;
    this.#log.emit({ type: 'source.unsampled', sourceId: this.id, notSampled });
  }

  #row([kind, t, a, b, c, ref]: Row): void {
    const log = this.#log;
    this.#lastT = t;
    switch (kind) {
      case ROW.POOL: {
        const info = poolInfoSchema.safeParse(ref);
        if (info.success && !this.#pools.has(a)) this.#addPool(a, info.data);
        return;
      }
      case ROW.NOTE:
        if (typeof ref === 'string') log.emit({ type: 'source.noted', sourceId: this.id, message: redactUrls(ref).slice(0, 1_000) });
        return;
      case ROW.OPEN: {
        const pool = this.#pools.get(a);
        if (pool && !this.#conns.has(b)) this.#open(pool, b, c >= 0 ? c : null, typeof ref === 'number' ? ref : null);
        return;
      }
      case ROW.CLOSE: {
        const conn = this.#conns.get(a);
        if (conn) this.#close(a, conn, typeof ref === 'string' && CLOSE_REASONS.has(ref) ? (ref as CloseReason) : 'error', null, t);
        return;
      }
      case ROW.ENQUEUE: {
        const pool = this.#pools.get(a);
        if (pool && !this.#borrowers.has(b)) this.#enqueue(pool, b, t, typeof ref === 'string' ? ref : 'unknown');
        return;
      }
      case ROW.ACQUIRE: {
        const br = this.#borrowers.get(a);
        const conn = this.#conns.get(b);
        if (br && conn && br.conn === null) this.#acquire(br, conn, t);
        return;
      }
      case ROW.FAIL: {
        const br = this.#borrowers.get(a);
        if (br && br.conn === null) this.#fail(a, br, t, c === 1, typeof ref === 'string' ? ref : 'failed');
        return;
      }
      case ROW.RELEASE: {
        const br = this.#borrowers.get(a);
        if (!br || br.conn === null) return;
        this.#borrowers.delete(a);
        log.emit({ type: 'borrower.released', borrowerId: br.id, connId: br.conn.id, heldMs: Math.max(0, t - br.acquiredAt), dirty: (c & 1) !== 0, destroyed: (c & 2) !== 0 });
        return;
      }
      case ROW.STATEMENT: {
        const conn = this.#conns.get(a);
        if (!conn || typeof ref !== 'string') return;
        conn.statementAt = t;
        conn.lastSql = ref;
        log.emit({ type: 'statement.started', connId: conn.id, sql: conn.pool.shown(ref) });
        return;
      }
      case ROW.FINISHED: {
        const conn = this.#conns.get(a);
        if (!conn || conn.statementAt === null) return;
        const ms = Math.max(0, t - conn.statementAt);
        conn.statementAt = null;
        log.emit({ type: 'statement.finished', connId: conn.id, ms, error: typeof ref === 'string' ? redactUrls(ref).slice(0, 1_000) : null });
        return;
      }
      case ROW.SERVED: {
        const conn = this.#conns.get(a);
        const waits = servedWaits(ref);
        if (!conn || waits === null) return;
        const lastError = (ref as unknown[])[1];
        const started = Math.max(0, b);
        const now = this.#clock.now();
        log.emit(
          {
            type: 'borrower.summary',
            connId: conn.id,
            served: waits.length,
            waits,
            started,
            errors: Math.min(started, Math.max(0, c)),
            lastError: typeof lastError === 'string' ? redactUrls(lastError).slice(0, 1_000) : null,
            finishedAt: started > 0 ? now : null,
            releasedAt: now,
          },
          now,
        );
        return;
      }
      case ROW.TX: {
        const conn = this.#conns.get(a);
        if (conn) this.#tx(conn, b);
        return;
      }
      case ROW.POOL_ENDING: {
        const pool = this.#pools.get(a);
        if (pool) log.emit({ type: 'pool.ending', poolId: pool.id });
        return;
      }
      case ROW.POOL_ENDED: {
        const pool = this.#pools.get(a);
        if (pool) this.#endPool(pool, 'pool ended', t);
        return;
      }
    }
  }

  #addPool(agentId: number, info: PoolInfo): PoolRec {
    const pool: PoolRec = { id: this.#newPoolId(), ended: false, info, display: display(info), shown: statementTexts(info.engine, noScrub) };
    this.#pools.set(agentId, pool);
    this.#log.emit({ type: 'pool.created', poolId: pool.id, target: targetOf(info, pool.display), settings: settingsOf(info) });
    this.#log.emit({ type: 'source.pooled', sourceId: this.id, poolId: pool.id, driver: info.driver });
    return pool;
  }

  #open(pool: PoolRec, agentId: number, serverId: number | null, connectMs: number | null): ConnRec {
    const conn: ConnRec = { id: `${pool.id}.c${agentId}`, pool, statementAt: null, lastSql: '', tx: 0 };
    this.#conns.set(agentId, conn);
    const total = Math.max(0, connectMs ?? 0);
    this.#log.emit({ type: 'connection.connecting', poolId: pool.id, connId: conn.id });
    // The agent times the whole connect only; its phases are not seen from outside the driver.
    this.#log.emit({ type: 'connection.opened', connId: conn.id, serverId, handshake: { socketMs: 0, sshMs: null, tlsMs: null, authMs: 0, readyMs: 0, totalMs: total } });
    return conn;
  }

  #close(agentId: number, conn: ConnRec, reason: CloseReason, error: string | null, t: number): void {
    this.#conns.delete(agentId);
    for (const [bid, br] of this.#borrowers) {
      if (br.conn === conn) {
        this.#borrowers.delete(bid);
        this.#log.emit({ type: 'borrower.released', borrowerId: br.id, connId: conn.id, heldMs: Math.max(0, t - br.acquiredAt), dirty: false, destroyed: true });
      }
    }
    this.#log.emit({ type: 'connection.closed', connId: conn.id, reason, error });
  }

  #enqueue(pool: PoolRec, agentId: number, t: number, site: string): BorrowerRec {
    const br: BorrowerRec = { id: `${pool.id}.b${agentId}`, pool, t, conn: null, acquiredAt: 0 };
    this.#borrowers.set(agentId, br);
    const timeout = pool.info.acquireTimeoutMs;
    const shown = site === NOT_SAMPLED ? this.#notSampledSite : site.slice(0, 1_000);
    this.#log.emit({ type: 'borrower.enqueued', poolId: pool.id, borrowerId: br.id, label: this.#label, site: shown, deadline: timeout > 0 ? this.#clock.now() + timeout : null });
    return br;
  }

  #acquire(br: BorrowerRec, conn: ConnRec, t: number): void {
    br.conn = conn;
    br.acquiredAt = t;
    this.#log.emit({ type: 'borrower.acquired', borrowerId: br.id, connId: conn.id, waitedMs: Math.max(0, t - br.t) });
  }

  #fail(agentId: number, br: BorrowerRec, t: number, timeout: boolean, message: string): void {
    this.#borrowers.delete(agentId);
    const waitedMs = Math.max(0, t - br.t);
    if (timeout) {
      let waitingOthers = 0;
      for (const b of this.#borrowers.values()) if (b.pool === br.pool && b.conn === null) waitingOthers++;
      const diagnosis = diagnoseTimeout(this.#log.live, br.pool.id, waitingOthers, this.#clock.now());
      this.#log.emit({ type: 'borrower.timedout', borrowerId: br.id, waitedMs, message: timeoutMessage(br.pool.display, waitedMs, diagnosis, false), diagnosis });
    } else {
      this.#log.emit({ type: 'borrower.failed', borrowerId: br.id, waitedMs, message: redactUrls(message).slice(0, 1_000) });
    }
  }

  #tx(conn: ConnRec, status: number): void {
    if (status === conn.tx) return;
    const was = conn.tx;
    conn.tx = status;
    if (status === 1 && was === 0) this.#log.emit({ type: 'tx.began', connId: conn.id });
    else if (status === 2) this.#log.emit({ type: 'tx.failed', connId: conn.id });
    else if (status === 0) {
      const outcome = was === 2 || /^\s*rollback\b/i.test(conn.lastSql) ? 'rolled back' : 'committed';
      this.#log.emit({ type: 'tx.ended', connId: conn.id, outcome });
    }
  }

  #endPool(pool: PoolRec, reason: CloseReason, t: number): void {
    if (pool.ended) return;
    pool.ended = true;
    for (const [bid, br] of this.#borrowers) {
      if (br.pool === pool && br.conn === null) this.#fail(bid, br, t, false, `${reason}: the app's pool ended while this borrower waited`);
    }
    for (const [cid, conn] of this.#conns) if (conn.pool === pool) this.#close(cid, conn, reason, null, t);
    this.#log.emit({ type: 'pool.ended', poolId: pool.id });
  }

  /**
   * After drops or a reconnect the agent sends what is live now: what the engine has and the
   * agent no longer does is closed (its events were lost), what it lacks is added.
   */
  sync(s: Sync): void {
    for (const p of s.pools) if (!this.#pools.has(p.id)) this.#addPool(p.id, p.info);
    const conns = new Set(s.conns.map((c) => c.id));
    const borrowers = new Set(s.borrowers.map((b) => b.id));
    for (const [bid, br] of this.#borrowers) {
      if (borrowers.has(bid)) continue;
      this.#borrowers.delete(bid);
      if (br.conn) this.#log.emit({ type: 'borrower.released', borrowerId: br.id, connId: br.conn.id, heldMs: Math.max(0, s.t - br.acquiredAt), dirty: false, destroyed: false });
      else this.#log.emit({ type: 'borrower.failed', borrowerId: br.id, waitedMs: Math.max(0, s.t - br.t), message: 'Its outcome was among the events the agent dropped.' });
    }
    for (const [cid, conn] of this.#conns) if (!conns.has(cid)) this.#close(cid, conn, 'error', 'Closed while the agent dropped events: the reason was not seen.', s.t);
    for (const c of s.conns) {
      const pool = this.#pools.get(c.pool);
      if (pool && !this.#conns.has(c.id)) this.#open(pool, c.id, c.serverId, null);
      const conn = this.#conns.get(c.id);
      if (conn) this.#tx(conn, c.tx);
    }
    for (const b of s.borrowers) {
      const pool = this.#pools.get(b.pool);
      if (!pool) continue;
      const br = this.#borrowers.get(b.id) ?? this.#enqueue(pool, b.id, b.t, b.site);
      const conn = b.conn === null ? undefined : this.#conns.get(b.conn);
      if (conn && br.conn === null) this.#acquire(br, conn, b.acquiredAt ?? s.t);
    }
    for (const p of s.pools) {
      const pool = this.#pools.get(p.id);
      if (pool && p.status === 'ended') this.#endPool(pool, 'pool ended', s.t);
    }
    for (const note of s.notes) this.#log.emit({ type: 'source.noted', sourceId: this.id, message: redactUrls(note).slice(0, 1_000) });
    this.#droppedNow(s.dropped);
    this.#notSampledNow(s.notSampled ?? 0);
  }

  /** The process exited or its agent went away: what it held is gone with it. */
  detach(): void {
    for (const pool of this.#pools.values()) this.#endPool(pool, 'pool ended', this.#lastT);
    this.#pools.clear();
    this.#log.emit({ type: 'source.detached', sourceId: this.id });
  }
}

function display(info: PoolInfo): string {
  const scheme = info.engine === 'postgres' ? 'postgres' : 'mysql';
  const member = info.member ? ` [cluster member ${info.member}]` : '';
  return `${scheme}://${info.user ? `${info.user}@` : ''}${info.host}:${info.port}/${info.database}${member}`;
}

function targetOf(info: PoolInfo, shown: string): TargetInfo {
  return {
    engine: info.engine,
    host: info.host,
    port: info.port,
    database: info.database,
    user: info.user,
    // What the app asked of TLS is known only as on or off; files and verification stay the app's.
    tls: { mode: info.tls ? 'require' : 'disable', use: info.tls ? 'encrypt' : 'off', ca: null, cert: null, key: null },
    ssh: null,
    display: shown,
    embedded: false,
  };
}

function settingsOf(info: PoolInfo): PoolSettings {
  return {
    max: info.max,
    acquireTimeoutMs: info.acquireTimeoutMs,
    acquireTimeoutByEngine: false,
    idleTimeoutMs: info.idleTimeoutMs,
    queryTimeoutMs: info.queryTimeoutMs,
    min: info.min,
    maxUses: info.maxUses,
    maxLifetimeSeconds: info.maxLifetimeSeconds,
    maxIdle: info.maxIdle ?? null,
    queueLimit: info.queueLimit ?? null,
    waitForConnections: info.waitForConnections ?? null,
  };
}
