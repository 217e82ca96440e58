import type { CloseReason, PoolSettings, TlsSession, TxStatus } from '../../../shared/events';
import type { Clock } from '../clock';
import { type Scrubber, messageOf } from '../errors';
import type { EventLog } from '../event-log';
import type { RowConn } from '../../agent/recorder.cjs';

/** What the engine knows of one physical connection, beside the driver's object. */
export interface ConnRecord {
  readonly id: string;
  readonly startedAt: number;
  socketAt: number | null;
  /** Through an SSH tunnel: when its channel to the database opened (instead of socketAt). */
  sshAt: number | null;
  tlsAt: number | null;
  /** What the server presented, once the TLS handshake is done. */
  tls: TlsSession | null;
  authAt: number | null;
  opened: boolean;
  closing: boolean;
  closed: boolean;
  broken: boolean;
  borrowed: boolean;
  idleSince: number;
  uses: number;
  tx: TxStatus;
  /** Set when the cause of a coming close is known before the socket ends. */
  reason: CloseReason | null;
  lastError: string | null;
  /** Its record in the log's rows (pool-rows.ts), from its first borrower on. */
  row: RowConn | null;
}

// PostgreSQL's admin_shutdown / crash_shutdown / cannot_connect_now, MariaDB's
// ER_CONNECTION_KILLED and MySQL's ER_CLIENT_INTERACTION_TIMEOUT-style kills.
const SERVER_TERMINATION = /57P0[123]|terminating connection|Connection was killed|ER_CONNECTION_KILLED|server closed the connection|Connection lost/i;

/**
 * Turns what the driver hooks observe (socket connected, authenticated, ready, error,
 * ended) into connection events, and infers why a connection left the pool when the
 * driver does not say (pg-pool and mysql2 remove clients without a reason).
 */
export class ConnectionTracker {
  readonly #log: EventLog;
  readonly #clock: Clock;
  readonly #poolId: string;
  readonly #scrub: Scrubber;
  #settings: PoolSettings;
  #next = 0;
  #ending = false;
  readonly #open = new Set<ConnRecord>();
  #onDrained: (() => void) | null = null;

  constructor(log: EventLog, clock: Clock, poolId: string, settings: PoolSettings, scrub: Scrubber) {
    this.#log = log;
    this.#clock = clock;
    this.#poolId = poolId;
    this.#settings = settings;
    this.#scrub = scrub;
  }

  /** Connections whose socket has not closed yet, connecting ones included. */
  get openCount(): number {
    return this.#open.size;
  }

  poolEnding(): void {
    this.#ending = true;
  }

  begin(): ConnRecord {
    const now = this.#clock.now();
    const rec: ConnRecord = {
      id: `${this.#poolId}.c${++this.#next}`,
      startedAt: now,
      socketAt: null,
      sshAt: null,
      tlsAt: null,
      tls: null,
      authAt: null,
      opened: false,
      closing: false,
      closed: false,
      broken: false,
      borrowed: false,
      idleSince: now,
      uses: 0,
      tx: 'idle',
      reason: null,
      lastError: null,
      row: null,
    };
    this.#open.add(rec);
    this.#log.emit({ type: 'connection.connecting', poolId: this.#poolId, connId: rec.id });
    return rec;
  }

  mark(rec: ConnRecord, phase: 'socket' | 'ssh' | 'tls' | 'auth'): void {
    const now = this.#clock.now();
    if (phase === 'socket') rec.socketAt ??= now;
    else if (phase === 'ssh') rec.sshAt ??= now;
    else if (phase === 'tls') rec.tlsAt ??= now;
    else rec.authAt ??= now;
  }

  /** The TLS handshake is done: its time and what the server presented. */
  secured(rec: ConnRecord, session: TlsSession): void {
    this.mark(rec, 'tls');
    rec.tls = session;
  }

  opened(rec: ConnRecord, serverId: number | null): void {
    if (rec.opened || rec.closed) return;
    rec.opened = true;
    const now = this.#clock.now();
    rec.idleSince = now;
    // Through an SSH tunnel there is no socket of ours: the channel's opening is the leg.
    const streamAt = rec.sshAt ?? rec.socketAt ?? rec.startedAt;
    const secureAt = rec.tlsAt ?? streamAt;
    const authAt = rec.authAt ?? now;
    this.#log.emit({
      type: 'connection.opened',
      connId: rec.id,
      serverId,
      handshake: {
        socketMs: rec.sshAt === null ? streamAt - rec.startedAt : 0,
        sshMs: rec.sshAt === null ? null : rec.sshAt - rec.startedAt,
        tlsMs: rec.tlsAt === null ? null : rec.tlsAt - streamAt,
        authMs: authAt - secureAt,
        readyMs: now - authAt,
        totalMs: now - rec.startedAt,
      },
    });
  }

  /** Records the text of an error on a connection, scrubbed. */
  noteError(rec: ConnRecord, err: unknown): string {
    const text = this.#scrub(messageOf(err));
    rec.lastError = text;
    if (rec.opened && rec.reason === null) {
      rec.reason = SERVER_TERMINATION.test(`${(err as { code?: unknown })?.code ?? ''} ${text}`) ? 'terminated by server' : 'error';
    }
    return text;
  }

  /** The connection can no longer be used (socket error, terminated by the server). */
  broken(rec: ConnRecord, err: unknown): void {
    const text = this.noteError(rec, err);
    if (rec.closed || rec.broken || !rec.opened) return;
    rec.broken = true;
    this.#log.emit({ type: 'connection.broken', connId: rec.id, error: text });
  }

  /** The pool (or the engine) decided to close it: say so now, with the reason. */
  closing(rec: ConnRecord, reason?: CloseReason): void {
    if (rec.closed || rec.closing) return;
    rec.closing = true;
    rec.reason ??= reason ?? this.#inferReason(rec);
    if (!rec.broken && rec.opened) this.#log.emit({ type: 'connection.closing', connId: rec.id, reason: rec.reason });
  }

  /** The server ended the socket without being asked to (a kill, a crash, a restart). */
  serverClosed(rec: ConnRecord): void {
    if (rec.opened && !rec.closing && !this.#ending) rec.reason ??= 'terminated by server';
  }

  /**
   * The handshake failed: the driver has already dropped the connection and hands the
   * error to a borrower, so it leaves the pool now, before its socket finishes closing
   * (which closed() still waits for, to count sockets left open).
   */
  connectFailed(rec: ConnRecord, err: unknown): void {
    if (rec.opened) return;
    this.noteError(rec, err);
    this.#emitClosed(rec);
  }

  /** The socket is gone. Idempotent. */
  closed(rec: ConnRecord): void {
    this.#emitClosed(rec);
    if (!this.#open.delete(rec)) return;
    if (this.#open.size === 0) this.#onDrained?.();
  }

  #emitClosed(rec: ConnRecord): void {
    if (rec.closed) return;
    rec.closed = true;
    const reason = rec.reason ?? this.#inferReason(rec);
    this.#log.emit({ type: 'connection.closed', connId: rec.id, reason, error: rec.lastError });
    if (rec.row !== null) this.#log.rows.closeConn(rec.row);
  }

  /** Resolves when every socket this pool opened has closed, or after `ms`; returns how many are still open. */
  drained(ms: number): Promise<number> {
    if (this.#open.size === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(() => done(), ms);
      const done = () => {
        this.#clock.clearTimer(timer);
        this.#onDrained = null;
        resolve(this.#open.size);
      };
      this.#onDrained = done;
    });
  }

  acquired(rec: ConnRecord): void {
    rec.borrowed = true;
    rec.uses++;
  }

  released(rec: ConnRecord, at: number): void {
    rec.borrowed = false;
    rec.idleSince = at;
  }

  // pg-pool and mysql2 close connections for idle timeouts, max uses and max lifetime
  // without saying which: the settings and the connection's own history tell.
  #inferReason(rec: ConnRecord): CloseReason {
    if (!rec.opened) return 'connect failed';
    if (this.#ending) return 'pool ended';
    const s = this.#settings;
    const now = this.#clock.now();
    if (s.maxUses !== null && rec.uses >= s.maxUses) return 'max uses';
    if (s.maxLifetimeSeconds !== null && s.maxLifetimeSeconds > 0 && now - rec.startedAt >= s.maxLifetimeSeconds * 1000 - 50) {
      return 'max lifetime';
    }
    if (!rec.borrowed && s.idleTimeoutMs > 0 && now - rec.idleSince >= s.idleTimeoutMs - 50) return 'idle timeout';
    return 'error';
  }
}
