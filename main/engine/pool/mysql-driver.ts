import { OUR_APPLICATION } from '../../../shared/server-join';
import tls, { type TLSSocket } from 'node:tls';
import mysql from 'mysql2';
import type { PoolSettings, TlsSession, TxStatus } from '../../../shared/events';
import type { TargetLink, Via } from '../link/target-link';
import { sessionOf } from '../link/tls';
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
  stream: unknown;
  handlePacket(packet: Packet | null): unknown;
  startTLS(onSecure: (err?: Error) => void): void;
  destroy(): void;
}

/** mysql2 exposes no counts; its pool keeps them in these queues. */
interface PoolQueues {
  _allConnections: { length: number; peekBack(): unknown };
  _freeConnections: { length: number };
  _connectionQueue: { length: number };
}

interface Status {
  flags: number;
}

/**
 * mysql2's TLS options on a link. mysql2 checks a host name only against the name it was
 * given, and falls back to the socket's peer (the fault proxy, a tunnel) for an IP address:
 * its own check is off and secureMysqlConnection checks the target's host instead.
 */
function mysqlSsl(link: TargetLink): mysql.SslOptions | undefined {
  const t = link.tls;
  if (!t) return undefined;
  return { ca: t.ca as string | undefined, cert: t.cert as string | undefined, key: t.key as string | undefined, rejectUnauthorized: t.rejectUnauthorized, verifyIdentity: false };
}

/**
 * Hooks mysql2's TLS upgrade of one connection: once the handshake is done, and before
 * mysql2 sends any credential, the target's host name is checked (verify-full) and the
 * session is handed to `secured`. A failed check fails the handshake.
 */
export function secureMysqlConnection(conn: unknown, link: TargetLink, secured: (session: TlsSession) => void): void {
  const c = conn as HookedConnection;
  const start = c.startTLS;
  c.startTLS = function (onSecure) {
    start.call(this, (err) => {
      if (err) return onSecure(err);
      const socket = c.stream as TLSSocket;
      if (link.use === 'verify-full') {
        const wrong = tls.checkServerIdentity(link.spec.host, socket.getPeerCertificate(true));
        if (wrong) return onSecure(wrong);
      }
      secured(sessionOf(socket));
      onSecure();
    });
  };
}

/** One connection outside any pool (the server monitor, terminate), on the link like every other. */
export function connectMysql(link: TargetLink, programName: string): Promise<ReturnType<mysql.Connection['promise']>> {
  const spec = link.spec;
  const conn = mysql.createConnection({
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: spec.password ?? undefined,
    database: spec.database,
    ssl: mysqlSsl(link),
    connectAttributes: { program_name: programName },
    stream: () => link.dial(),
  });
  // createConnection starts the handshake; the greeting (and so TLS) comes later.
  secureMysqlConnection(conn, link, () => undefined);
  return new Promise((resolve, reject) => {
    // Before 'connect' an error fails the connect; after it, the caller's reads report it.
    conn.on('error', reject);
    conn.once('connect', () => resolve(conn.promise()));
  });
}

/** mysql2's pool options for a link and settings (the bench's bare pool uses them too). */
export function mysqlPoolOptions(link: TargetLink, settings: PoolSettings, application = OUR_APPLICATION): mysql.PoolOptions {
  const spec = link.spec;
  return {
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: spec.password ?? undefined,
    database: spec.database,
    ssl: mysqlSsl(link),
    connectionLimit: settings.max,
    maxIdle: settings.maxIdle ?? settings.max,
    idleTimeout: settings.idleTimeoutMs,
    queueLimit: settings.queueLimit ?? 0,
    waitForConnections: settings.waitForConnections ?? true,
    connectTimeout: settings.acquireTimeoutMs > 0 ? settings.acquireTimeoutMs : 10_000,
    connectAttributes: { program_name: application },
  };
}

/**
 * mysql2's pool, observed. mysql2 lets the connection config supply the socket
 * (`stream` as a factory), so every physical connection starts in our hands: the
 * socket times the handshake and tells when it closes. The connection's server status
 * flags (in transaction) are read from the EOF packets that end result sets and from
 * the OK packets of other statements.
 */
export function createMysqlDriver(link: TargetLink, via: Via | null, settings: PoolSettings, tracker: ConnectionTracker, application: string): Driver<mysql.PoolConnection> {
  const leg = link.leg(via);
  const byConfig = new WeakMap<object, ConnRecord>();
  const sockets = new WeakMap<ConnRecord, { destroy(err?: Error): void }>();
  const status = new WeakMap<ConnRecord, Status>();
  const hooked = new WeakSet<object>();
  let lastCreated: ConnRecord | null = null;

  const pool = mysql.createPool({
    ...mysqlPoolOptions(link, settings, application),
    stream: (opts: { config: object }) => {
      const rec = tracker.begin();
      lastCreated = rec;
      byConfig.set(opts.config, rec);
      status.set(rec, { flags: 0 });
      const socket = link.dial(via);
      sockets.set(rec, socket);
      socket.setNoDelay(true);
      socket.once('connect', () => tracker.mark(rec, leg));
      socket.once('end', () => tracker.serverClosed(rec));
      socket.on('error', (err) => tracker.noteError(rec, err));
      socket.once('close', () => tracker.closed(rec));
      return socket;
    },
  });

  const queues = pool as unknown as PoolQueues;
  // mysql2 constructs the connection (and calls the stream factory) inside getConnection;
  // the greeting, and so TLS, comes later. A connection that cannot be hooked is not used:
  // without the hook its host name would go unchecked.
  const secure = (rec: ConnRecord): void => {
    const conn = queues._allConnections.peekBack() as HookedConnection | undefined;
    if (!conn || byConfig.get(conn.config) !== rec) {
      if (link.tls) sockets.get(rec)?.destroy(new Error('Poolscope could not attach its TLS check to this connection, so it was closed before any credential was sent'));
      return;
    }
    if (link.tls) secureMysqlConnection(conn, link, (session) => tracker.secured(rec, session));
  };

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
      if (lastCreated !== before) {
        created = lastCreated;
        if (created) secure(created);
      }
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
