import net from 'node:net';
import mysql from 'mysql2';
import type { PoolSettings, TxStatus } from '../../../shared/events';
import type { TargetSpec } from '../target-spec';
import type { ConnRecord, ConnectionTracker } from './connection-tracker';
import type { Driver } from './driver';

const SERVER_STATUS_IN_TRANS = 1;
// A deadlock or lock-wait timeout rolls the whole transaction back, and an ERR packet
// carries no status flags to say so.
const ROLLS_BACK = new Set([1205, 1213]);

/** The parts of mysql2's internals the hooks read: its per-connection config and packet parser. */
interface Packet {
  isEOF(): boolean;
  eofStatusFlags(): number;
}
interface HookedConnection {
  config: object;
  threadId: number | null;
  handlePacket(packet: Packet | null): unknown;
  destroy(): void;
}

/** mysql2 exposes no counts; its pool keeps them in these queues. */
interface PoolQueues {
  _allConnections: { length: number };
  _freeConnections: { length: number };
  _connectionQueue: { length: number };
}

interface Status {
  flags: number;
}

/** mysql2's pool options for a target and settings (the bench's bare pool uses them too). */
export function mysqlPoolOptions(spec: TargetSpec, settings: PoolSettings): mysql.PoolOptions {
  return {
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: spec.password ?? undefined,
    database: spec.database,
    ssl: spec.tls ? { rejectUnauthorized: false } : undefined,
    connectionLimit: settings.max,
    maxIdle: settings.maxIdle ?? settings.max,
    idleTimeout: settings.idleTimeoutMs,
    queueLimit: settings.queueLimit ?? 0,
    waitForConnections: settings.waitForConnections ?? true,
    connectTimeout: settings.acquireTimeoutMs > 0 ? settings.acquireTimeoutMs : 10_000,
    connectAttributes: { program_name: 'poolscope' },
  };
}

/**
 * mysql2's pool, observed. mysql2 lets the connection config supply the socket
 * (`stream` as a factory), so every physical connection starts in our hands: the
 * socket times the handshake and tells when it closes. The connection's server status
 * flags (in transaction) are read from the EOF packets that end result sets and from
 * the OK packets of other statements.
 */
export function createMysqlDriver(spec: TargetSpec, settings: PoolSettings, tracker: ConnectionTracker): Driver<mysql.PoolConnection> {
  const byConfig = new WeakMap<object, ConnRecord>();
  const status = new WeakMap<ConnRecord, Status>();
  const hooked = new WeakSet<object>();
  let lastCreated: ConnRecord | null = null;

  const pool = mysql.createPool({
    ...mysqlPoolOptions(spec, settings),
    stream: (opts: { config: object }) => {
      const rec = tracker.begin();
      lastCreated = rec;
      byConfig.set(opts.config, rec);
      status.set(rec, { flags: 0 });
      const socket = net.connect(spec.port, spec.host);
      socket.setNoDelay(true);
      socket.once('connect', () => tracker.mark(rec, 'socket'));
      socket.once('end', () => tracker.serverClosed(rec));
      socket.on('error', (err) => tracker.noteError(rec, err));
      socket.once('close', () => tracker.closed(rec));
      return socket;
    },
  });

  pool.on('connection', (conn) => {
    const c = conn as unknown as HookedConnection;
    const rec = byConfig.get(c.config);
    if (rec) tracker.opened(rec, c.threadId);
  });

  const recordOf = (conn: mysql.PoolConnection): ConnRecord => {
    const rec = byConfig.get((conn as unknown as HookedConnection).config);
    if (!rec) throw new Error('mysql2 handed out a connection that Poolscope did not open');
    return rec;
  };

  // Once per connection, on its first hand-out: watch its packets and its end.
  const hook = (conn: mysql.PoolConnection, rec: ConnRecord): void => {
    if (hooked.has(conn)) return;
    hooked.add(conn);
    const c = conn as unknown as HookedConnection;
    const st = status.get(rec) as Status;
    const handle = c.handlePacket;
    c.handlePacket = function (packet) {
      if (packet?.isEOF()) st.flags = packet.eofStatusFlags();
      return handle.call(this, packet);
    };
    const destroy = c.destroy;
    c.destroy = function () {
      // mysql2 destroys idle connections only to trim them (idleTimeout, maxIdle).
      tracker.closing(rec, rec.borrowed ? undefined : 'idle timeout');
      return destroy.call(this);
    };
    conn.on('error', (err) => tracker.broken(rec, err));
  };

  return {
    settings,
    versionQuery: 'SELECT VERSION() AS version',
    counts() {
      const q = pool as unknown as PoolQueues;
      return { total: q._allConnections.length, idle: q._freeConnections.length, waiting: q._connectionQueue.length };
    },
    acquire(cb) {
      const before = lastCreated;
      let created: ConnRecord | null = null;
      pool.getConnection((err, conn) => {
        if (err) {
          // The handshake error of a connection this very call created belongs to it.
          if (created) tracker.connectFailed(created, err);
          cb(err);
          return;
        }
        hook(conn, recordOf(conn));
        cb(null, conn);
      });
      // getConnection constructs a new connection synchronously, or not at all.
      if (lastCreated !== before) created = lastCreated;
    },
    record: recordOf,
    serverId: (conn) => conn.threadId,
    query(conn, sql, params, done) {
      const st = status.get(recordOf(conn)) as Status;
      const answered = (err: mysql.QueryError | null, result: unknown) => {
        if (err) {
          if (ROLLS_BACK.has(err.errno ?? 0)) st.flags &= ~SERVER_STATUS_IN_TRANS;
          done(err);
        } else if (Array.isArray(result)) {
          done(null, { rows: result, affected: null, insertId: null });
        } else {
          const header = result as mysql.ResultSetHeader & { serverStatus?: number };
          if (typeof header.serverStatus === 'number') st.flags = header.serverStatus;
          done(null, { rows: [], affected: header.affectedRows, insertId: header.insertId || null });
        }
      };
      const values = params as unknown[] | undefined;
      // The options form costs mysql2 a copy of every option per query: only when a timeout needs it.
      if (settings.queryTimeoutMs > 0) conn.query({ sql, values, timeout: settings.queryTimeoutMs }, answered);
      else conn.query(sql, values, answered);
    },
    txStatus(conn): TxStatus {
      const st = status.get(recordOf(conn));
      return st && st.flags & SERVER_STATUS_IN_TRANS ? 'active' : 'idle';
    },
    release(conn) {
      conn.release();
    },
    destroy(conn) {
      conn.destroy();
    },
    // A query timeout leaves the answer still to come on the wire: mysql2 keeps the connection,
    // but the next statement would read the wrong answer, so it is dropped like a fatal one.
    isFatal: (err) => (err as { fatal?: unknown }).fatal === true || (err as { code?: unknown }).code === 'PROTOCOL_SEQUENCE_TIMEOUT',
    // mysql2 has no acquire timeout; the instrumented pool enforces its own.
    isAcquireTimeout: () => false,
    end: () =>
      new Promise<void>((resolve) => {
        pool.end(() => resolve());
      }),
  };
}
