'use strict';
// mysql2: the base pool's and base connection's methods are wrapped, each calling the
// original with the same arguments. A borrower's callback is wrapped (mysql2 keeps waiters
// as bare callbacks and calls each exactly once; the wrapper calls the app's at once, with
// the same this and arguments), so a connection handed straight to a waiter on release,
// which mysql2 does without an event, is seen. The promise wrappers (mysql2/promise) go
// through the same base pool.

const { capture } = require('./call-site.cjs');

/** SERVER_STATUS_IN_TRANS in the OK packet's status flags. */
const IN_TRANS = 1;

function mysqlInfo(config, driver, member = null) {
  const c = config?.connectionConfig ?? {};
  return {
    member,
    engine: 'mysql',
    driver,
    tls: Boolean(c.ssl),
    host: String(c.host ?? 'localhost'),
    port: Number(c.port ?? 3306),
    database: String(c.database ?? ''),
    user: String(c.user ?? ''),
    max: Number(config?.connectionLimit ?? 10),
    min: null,
    // mysql2 has no acquire timeout; its idle timeout applies above maxIdle.
    acquireTimeoutMs: 0,
    idleTimeoutMs: Number(config?.idleTimeout ?? 60000),
    queryTimeoutMs: 0,
    maxUses: null,
    maxLifetimeSeconds: null,
    maxIdle: Number.isFinite(config?.maxIdle) ? config.maxIdle : null,
    queueLimit: Number(config?.queueLimit ?? 0),
    waitForConnections: config?.waitForConnections !== false,
  };
}

/** Marks our own callback wrappers, which mysql2 may hand to getConnection() again for a waiter. */
const FORWARDED = Symbol('poolscope.forwarded');

function mysqlState(rec, guard, report) {
  return {
    rec,
    guard,
    report,
    pools: new WeakMap(), // base pool → pool id
    conns: new WeakMap(), // pool connection → connection record
    adding: null, // the member id a PoolCluster's add() is making a pool for
    driver: 'mysql2',
  };
}

function poolIdOf(s, pool) {
  let id = s.pools.get(pool);
  if (id === undefined) {
    id = s.rec.addPool(mysqlInfo(pool.config, s.driver, s.adding));
    s.pools.set(pool, id);
  }
  return id;
}

function patchMysqlPool(BasePool, s) {
  const proto = BasePool.prototype;
  const { rec, guard, report } = s;
  const getConnection = proto.getConnection;
  const releaseConnection = proto.releaseConnection;
  const end = proto.end;

  // The wrappers on the request's path catch their own errors rather than pass a closure to
  // guard(): they run on every borrow.
  proto.getConnection = function poolscopeGetConnection(cb) {
    if (typeof cb !== 'function' || cb[FORWARDED] === true || this._closed) return getConnection.apply(this, arguments);
    let b;
    try {
      b = rec.enqueue(poolIdOf(s, this), capture(poolscopeGetConnection));
    } catch (err) {
      report(err);
      return getConnection.apply(this, arguments);
    }
    const pool = this;
    const answered = function (err, connection) {
      try {
        settle(s, pool, b, err, connection);
      } catch (error) {
        report(error);
      }
      return cb.apply(this, arguments);
    };
    answered[FORWARDED] = true;
    return getConnection.call(this, answered);
  };

  proto.releaseConnection = function (connection) {
    try {
      released(s, this, connection);
    } catch (err) {
      report(err);
    }
    return releaseConnection.apply(this, arguments);
  };

  proto.end = function (cb) {
    if (this._closed) return end.apply(this, arguments);
    const pool = this;
    guard(() => rec.poolStatus(poolIdOf(s, pool), 'ending'));
    // mysql2's own default when no callback is given: throw the error.
    return end.call(this, function (err) {
      // After the waiters' refusals, which mysql2 sends on the next tick (a pool without
      // connections calls back at once).
      process.nextTick(() => guard(() => rec.poolStatus(poolIdOf(s, pool), 'ended')));
      if (typeof cb === 'function') return cb.apply(this, arguments);
      if (err) throw err;
    });
  };
}

function released(s, pool, connection) {
  const conn = s.conns.get(connection);
  if (conn === undefined) return;
  const gone = !connection._pool;
  const b = conn.holder;
  if (b !== null) s.rec.release(b, conn.tx !== 0, gone);
  if (gone) {
    s.conns.delete(connection);
    s.rec.closeConn(conn, pool._closed ? 'pool ended' : b !== null ? 'destroyed' : connection._fatalError ? 'error' : 'idle timeout');
  }
}

function settle(s, pool, b, err, connection) {
  if (err || !connection) {
    s.rec.fail(b, String(err?.message ?? 'no connection'), false);
    return;
  }
  let conn = s.conns.get(connection);
  if (conn === undefined) {
    conn = s.rec.openConn(poolIdOf(s, pool), connection.threadId ?? null, s.rec.now() - b.t);
    s.conns.set(connection, conn);
  }
  s.rec.acquire(b, conn);
}

/**
 * createPoolCluster: add() constructs the member pool, which is registered as it is constructed
 * (agent.cjs): its member id is known then. An id-less add() gets mysql2's own `CLUSTER::<n>`.
 */
function patchMysqlPoolCluster(PoolCluster, s) {
  const proto = PoolCluster.prototype;
  const add = proto.add;
  proto.add = function (id) {
    s.adding = s.guard(() => String(typeof id === 'object' ? `CLUSTER::${(this._lastId ?? 0) + 1}` : id).slice(0, 200)) ?? null;
    try {
      return add.apply(this, arguments);
    } finally {
      s.adding = null;
    }
  };
}

/** The command addCommand is handing to mysql2, its statement's row not written yet. */
let handing = null;

/**
 * Each statement a pool connection runs, and the transaction flag its OK packets carry. The
 * statement's row is written once mysql2 has the command (and has written it to the server, when
 * the connection was free), as pg's hook does: at 1 client the time between a result and the
 * next statement's write is the request's path, and the server's turn is not.
 */
function patchMysqlConnection(BaseConnection, s) {
  const proto = BaseConnection.prototype;
  const { report } = s;
  const addCommand = proto.addCommand;

  proto.addCommand = function (cmd) {
    const conn = s.conns.get(this);
    if (conn === undefined || !cmd || typeof cmd.sql !== 'string') return addCommand.apply(this, arguments);
    const outer = handing;
    handing = cmd;
    try {
      follow(s, conn, cmd);
    } catch (err) {
      report(err);
    }
    try {
      return addCommand.apply(this, arguments);
    } finally {
      if (handing === cmd) started(s, conn, cmd);
      handing = outer;
    }
  };
}

function started(s, conn, cmd) {
  handing = null;
  try {
    s.rec.statement(conn, cmd.sql);
  } catch (err) {
    s.report(err);
  }
}

/**
 * The command's end. A command that throws as mysql2 starts it is failed through its callback
 * before addCommand returns (handlePacket's catch): its statement's row is written first.
 */
function follow(s, conn, cmd) {
  const { rec } = s;
  const done = cmd.onResult;
  if (typeof done !== 'function') {
    cmd.once('end', () => rec.finished(conn, null));
    return;
  }
  cmd.onResult = function (err, rows) {
    try {
      if (handing === cmd) started(s, conn, cmd);
      rec.finished(conn, err ? String(err.message) : null);
      if (rows && typeof rows.serverStatus === 'number') rec.tx(conn, rows.serverStatus & IN_TRANS ? 1 : 0);
    } catch {
      // The app's callback runs whatever the agent did.
    }
    return done.apply(this, arguments);
  };
}

module.exports = { mysqlState, patchMysqlPool, patchMysqlPoolCluster, patchMysqlConnection, poolIdOf, mysqlInfo };
