import { OUR_APPLICATION } from '../../../shared/server-join';
import type { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import pg from 'pg';
import type { PoolSettings, TxStatus } from '../../../shared/events';
import type { TargetLink, Via } from '../link/target-link';
import { sessionOf } from '../link/tls';
import type { ConnRecord, ConnectionTracker } from './connection-tracker';
import type { Driver } from './driver';

/** pg's Client keeps its protocol connection (an EventEmitter of wire messages, and its stream) here. */
interface WireClient {
  connection: EventEmitter & { stream: unknown };
  processID: number | null;
  getTransactionStatus(): string | null;
}

type ConnectCallback = Parameters<pg.Client['connect']>[0] & object;

const TX: Record<string, TxStatus> = { I: 'idle', T: 'active', E: 'failed' };

/** An ErrorResponse that fails the statement, not the connection. */
function isStatementError(err: Error): boolean {
  const severity = (err as { severity?: unknown }).severity;
  return typeof severity === 'string' && severity !== 'FATAL' && severity !== 'PANIC';
}

// How long a failed statement's answer waits for the ReadyForQuery after its ErrorResponse:
// the server sends both at once, but a network fault may stop the second.
const READY_WAIT_MS = 1_000;

// pg answers a failed statement at its ErrorResponse; the ReadyForQuery after it carries
// the transaction's new status (E, failed). Answer once it came, once the connection is
// gone, or after READY_WAIT_MS, never later.
function afterReady(wire: EventEmitter, answer: () => void): void {
  const once = () => {
    clearTimeout(timer);
    wire.off('readyForQuery', once);
    wire.off('end', once);
    answer();
  };
  const timer = setTimeout(once, READY_WAIT_MS);
  wire.on('readyForQuery', once);
  wire.on('end', once);
}

/**
 * A pg Client's configuration on a link: every socket comes from the link (straight, through
 * the SSH tunnel, or to the fault proxy with `via`), while host and port stay the target's, so
 * TLS checks the target's name whatever the socket dials.
 */
export function pgClientConfig(link: TargetLink, via: Via | null): pg.ClientConfig {
  const spec = link.spec;
  return {
    host: spec.host,
    port: spec.port,
    database: spec.database,
    user: spec.user,
    password: spec.password ?? undefined,
    ssl: link.tls ?? false,
    stream: () => link.socket(via),
  };
}

/** pg.Pool's configuration for a link and settings (the bench's bare pool uses it too). */
export function pgPoolConfig(link: TargetLink, settings: PoolSettings, via: Via | null = null, application = OUR_APPLICATION): pg.PoolConfig {
  return {
    ...pgClientConfig(link, via),
    max: settings.max,
    min: settings.min ?? 0,
    connectionTimeoutMillis: settings.acquireTimeoutMs,
    idleTimeoutMillis: settings.idleTimeoutMs,
    query_timeout: settings.queryTimeoutMs || undefined,
    maxUses: settings.maxUses ?? undefined,
    maxLifetimeSeconds: settings.maxLifetimeSeconds ?? undefined,
    application_name: application,
  };
}

/**
 * pg.Pool with a Client subclass: pg.Pool accepts `Client`, so every physical
 * connection is constructed by us and its wire events (socket connected, TLS,
 * AuthenticationOk, first ReadyForQuery) time the handshake.
 */
export function createPgDriver(link: TargetLink, via: Via | null, settings: PoolSettings, tracker: ConnectionTracker, application: string): Driver<pg.PoolClient> {
  const leg = link.leg(via);
  const records = new WeakMap<object, ConnRecord>();

  class InstrumentedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super(config);
      const rec = tracker.begin();
      records.set(this, rec);
      const wire = (this as unknown as WireClient).connection;
      wire.once('connect', () => tracker.mark(rec, leg));
      // pg says 'sslconnect' when it starts the handshake; the session is known once it is done.
      wire.once('sslconnect', () => {
        const secure = (this as unknown as WireClient).connection.stream as TLSSocket;
        secure.once('secureConnect', () => tracker.secured(rec, sessionOf(secure)));
      });
      wire.once('authenticationOk', () => tracker.mark(rec, 'auth'));
      // Errors during the handshake reach only the connect callback, and a FATAL one
      // (57P01: terminated by an administrator) only the running query: keep their text.
      wire.on('errorMessage', (msg: Error & { severity?: string }) => {
        if (!rec.opened || msg.severity === 'FATAL') tracker.noteError(rec, msg);
      });
      wire.on('error', (err: Error) => {
        if (!rec.opened) tracker.noteError(rec, err);
      });
      this.once('connect', () => tracker.opened(rec, (this as unknown as WireClient).processID));
      // pg-pool drops its own error listener while a client is borrowed; without this
      // one, a backend terminated under a borrower would crash the process.
      this.on('error', (err) => tracker.broken(rec, err));
      this.once('end', () => tracker.closed(rec));
    }

    // pg-pool learns of a failed handshake from this callback; the connection leaves with it.
    override connect(): Promise<pg.Client>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<pg.Client> | void {
      const rec = records.get(this);
      const failed = (err: Error | null | undefined) => {
        if (err && rec) tracker.connectFailed(rec, err);
      };
      if (!callback) return super.connect().catch((err: Error) => (failed(err), Promise.reject(err)));
      super.connect(((err: Error | null, c?: pg.Client) => {
        failed(err);
        (callback as (err: Error | null, c?: pg.Client) => void)(err, c);
      }) as ConnectCallback);
    }

    override end(): Promise<void>;
    override end(callback: (err: Error) => void): void;
    override end(callback?: (err: Error) => void): Promise<void> | void {
      const rec = records.get(this);
      if (rec) tracker.closing(rec);
      return callback ? super.end(callback) : super.end();
    }
  }

  const pool = new pg.Pool({ ...pgPoolConfig(link, settings, via, application), Client: InstrumentedClient as unknown as typeof pg.Client });
  // An idle client's error is re-emitted on the pool; the client's own listener has
  // already recorded it, and an unhandled 'error' would end the process.
  pool.on('error', () => {});

  const recordOf = (client: object): ConnRecord => {
    const rec = records.get(client);
    if (!rec) throw new Error('pg handed out a client that Poolscope did not construct');
    return rec;
  };

  return {
    settings,
    versionQuery: 'SHOW server_version',
    counts: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    acquire(cb) {
      pool.connect((err, client) => cb(err ?? null, client));
    },
    record: recordOf,
    serverId: (client) => (client as unknown as WireClient).processID,
    query(client, sql, params, done) {
      client.query(sql, (params ?? []) as unknown[], (err, r) => {
        if (!err) done(null, { rows: r.rows, affected: r.command === 'SELECT' ? null : r.rowCount, insertId: null });
        else if (isStatementError(err)) afterReady((client as unknown as WireClient).connection, () => done(err));
        else done(err);
      });
    },
    txStatus(client) {
      return TX[(client as unknown as WireClient).getTransactionStatus() ?? 'I'] ?? 'idle';
    },
    release(client) {
      client.release();
    },
    destroy(client) {
      // release(true) makes pg-pool remove the client and end it.
      client.release(true);
    },
    isFatal: (err) => {
      const e = err as { severity?: unknown; message?: unknown };
      // A read timeout leaves the statement's answer still to come: the connection is unusable.
      return e.severity === 'FATAL' || /^Connection terminated|^Query read timeout/.test(String(e.message));
    },
    isAcquireTimeout: (err) => /timeout exceeded when trying to connect/i.test(err.message),
    end: () => pool.end(),
  };
}
