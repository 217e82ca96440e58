'use strict';
// node-postgres: the pool's own methods are wrapped, each calling the original with the
// same arguments and returning what it returns. No listener is added to the app's pools or
// clients (an added 'error' listener would swallow an error the app would crash on), no
// callback or promise is replaced (pg-pool finds a timed-out waiter by its callback, and a
// promise we chained onto would count as handled). Borrowers are followed through the
// waiter records pg-pool makes for them, connections through its clients. The wrappers on
// the request's path catch their own errors (s.report) rather than pass a closure to guard():
// they run several times per request.

const os = require('node:os');
const { capture } = require('./call-site.cjs');

const TX = { I: 0, T: 1, E: 2 };
/** On pg-pool's waiter record (internal to the pool, made per connect()): its borrower. */
const BORROWER = Symbol('poolscope.borrower');
const TIMED_OUT = Symbol('poolscope.timedOut');

function pgInfo(options, driver) {
  const o = options ?? {};
  let { host, port, database, user } = o;
  if (typeof o.connectionString === 'string') {
    try {
      const u = new URL(o.connectionString);
      host ??= decodeURIComponent(u.hostname) || undefined;
      port ??= u.port ? Number(u.port) : undefined;
      database ??= decodeURIComponent(u.pathname.slice(1)) || undefined;
      user ??= decodeURIComponent(u.username) || undefined;
    } catch {
      // Not a URL pg would read either: the fields and the environment stand.
    }
  }
  user ??= process.env.PGUSER ?? os.userInfo().username;
  return {
    engine: 'postgres',
    driver,
    tls: Boolean(o.ssl) || /[?&]sslmode=(require|verify-ca|verify-full)/.test(o.connectionString ?? ''),
    host: String(host ?? process.env.PGHOST ?? 'localhost'),
    port: Number(port ?? process.env.PGPORT ?? 5432),
    database: String(database ?? process.env.PGDATABASE ?? user),
    user: String(user),
    max: Number.isFinite(o.max) ? o.max : 10,
    min: Number.isFinite(o.min) ? o.min : 0,
    acquireTimeoutMs: Number(o.connectionTimeoutMillis) || 0,
    idleTimeoutMs: o.idleTimeoutMillis === undefined ? 10000 : Number(o.idleTimeoutMillis) || 0,
    queryTimeoutMs: Number(o.query_timeout) || 0,
    maxUses: Number.isFinite(o.maxUses) ? o.maxUses : null,
    maxLifetimeSeconds: Number(o.maxLifetimeSeconds) || null,
  };
}

/** Shared between the pool's and the client's wrappers, which work together. */
function pgState(rec, guard, report) {
  return {
    rec,
    guard,
    report,
    pools: new WeakMap(), // pg-pool instance → pool id
    itemProto: null, // the waiter record prototype seen last (the check on the request's path)
    followed: new WeakSet(), // waiter record prototypes whose timedOut is followed (one per pg-pool copy)
    clients: new WeakMap(), // pg Client → connection record
    connectMs: new WeakMap(), // pg Client → how long its connect took
    asking: null, // the borrower whose connect() is running
    connecting: null, // the waiter record newClient() is connecting for
    driver: 'pg',
  };
}

function poolIdOf(s, pool) {
  let id = s.pools.get(pool);
  if (id === undefined) {
    id = s.rec.addPool(pgInfo(pool.options, s.driver));
    s.pools.set(pool, id);
  }
  return id;
}

function tag(s, item, b) {
  if (item[BORROWER] !== undefined) return;
  item[BORROWER] = b;
  const proto = Object.getPrototypeOf(item);
  if (proto !== s.itemProto) followTimeouts(s, proto);
}

/**
 * pg-pool marks a waiter timed out, then answers it: the mark is the moment. An accessor on
 * the waiter records' prototype sees the mark (pg-pool assigns it; no record has it as its
 * own), so nothing is added per connect().
 */
function followTimeouts(s, proto) {
  s.itemProto = proto;
  if (s.followed.has(proto)) return;
  s.followed.add(proto);
  Object.defineProperty(proto, 'timedOut', {
    configurable: true,
    get() {
      return this[TIMED_OUT];
    },
    set(value) {
      this[TIMED_OUT] = value;
      const b = this[BORROWER];
      if (!value || b === undefined) return;
      try {
        s.rec.fail(b, 'timeout exceeded when trying to connect', true);
      } catch (err) {
        s.report(err);
      }
    },
  });
}

function patchPgPool(Pool, s) {
  const proto = Pool.prototype;
  const { rec, guard, report } = s;
  const connect = proto.connect;
  const newClient = proto.newClient;
  const acquireClient = proto._acquireClient;
  const emit = proto.emit;
  const pulseQueue = proto._pulseQueue;
  const end = proto.end;

  proto.connect = function poolscopeConnect(_cb) {
    if (this.ending) return connect.apply(this, arguments);
    let b;
    try {
      b = rec.enqueue(poolIdOf(s, this), capture(poolscopeConnect));
    } catch (err) {
      report(err);
      return connect.apply(this, arguments);
    }
    const queue = this._pendingQueue;
    const before = queue.length;
    s.asking = b;
    try {
      return connect.apply(this, arguments);
    } finally {
      s.asking = null;
      if (queue.length > before) {
        try {
          tag(s, queue[queue.length - 1], b);
        } catch (err) {
          report(err);
        }
      }
    }
  };

  proto.newClient = function (item) {
    if (s.asking !== null) guard(() => tag(s, item, s.asking));
    s.connecting = { pool: this, item, t: rec.now() };
    try {
      return newClient.apply(this, arguments);
    } finally {
      s.connecting = null;
    }
  };

  proto._acquireClient = function (client, item, _idleListener, _isNew) {
    try {
      let conn = s.clients.get(client);
      if (conn === undefined) {
        conn = rec.openConn(poolIdOf(s, this), client.processID ?? null, s.connectMs.get(client) ?? null);
        s.clients.set(client, conn);
      }
      const b = item[BORROWER];
      if (b !== undefined && !item.timedOut) rec.acquire(b, conn);
    } catch (err) {
      report(err);
    }
    return acquireClient.apply(this, arguments);
  };

  proto.emit = function (name, a, b) {
    try {
      if (name === 'release') released(s, a, b);
      else if (name === 'remove') removed(s, this, a);
    } catch (err) {
      report(err);
    }
    return emit.apply(this, arguments);
  };

  proto._pulseQueue = function () {
    const result = pulseQueue.apply(this, arguments);
    if (this.ended) {
      guard(() => {
        const id = s.pools.get(this);
        const p = id === undefined ? undefined : rec.pools.get(id);
        if (p && p.status !== 'ended') rec.poolStatus(id, 'ended');
      });
    }
    return result;
  };

  proto.end = function () {
    if (!this.ending) guard(() => rec.poolStatus(poolIdOf(s, this), 'ending'));
    return end.apply(this, arguments);
  };
}

function released(s, err, client) {
  const conn = s.clients.get(client);
  if (conn === undefined) return;
  conn.destroyed = Boolean(err);
  const b = conn.holder;
  if (b !== null) s.rec.release(b, client._txStatus === 'T' || client._txStatus === 'E', Boolean(err));
}

function removed(s, pool, client) {
  const conn = s.clients.get(client);
  if (conn === undefined) return;
  const o = pool.options;
  const reason = pool.ending
    ? 'pool ended'
    : conn.destroyed
      ? 'destroyed'
      : (client._poolUseCount ?? 0) >= o.maxUses
        ? 'max uses'
        : o.idleTimeoutMillis
          ? 'idle timeout'
          : 'error';
  s.rec.closeConn(conn, reason);
}

/** pg's Client: how long a pool's connect took, each statement, the wire's transaction status. */
function patchPgClient(Client, s) {
  const proto = Client.prototype;
  const { rec, guard, report } = s;
  const connect = proto.connect;
  const pulse = proto._pulseQueryQueue;
  const ready = proto._handleReadyForQuery;
  const error = proto._handleErrorMessage;

  proto.connect = function (callback) {
    const pending = s.connecting;
    if (pending === null || typeof callback !== 'function') return connect.apply(this, arguments);
    s.connecting = null;
    const client = this;
    // The callback is pg-pool's own (newClient), never the app's.
    return connect.call(this, function (err) {
      guard(() => {
        if (!err) {
          s.connectMs.set(client, rec.now() - pending.t);
          return;
        }
        const b = pending.item[BORROWER];
        if (b !== undefined && !pending.item.timedOut) {
          const limit = pending.pool.options.connectionTimeoutMillis;
          rec.fail(b, err.message, Boolean(limit) && rec.now() - pending.t >= limit);
        }
      });
      return callback.apply(this, arguments);
    });
  };

  proto._pulseQueryQueue = function () {
    const before = this._activeQuery;
    const result = pulse.apply(this, arguments);
    const q = this._activeQuery;
    if (q && q !== before) {
      const conn = s.clients.get(this);
      if (conn !== undefined) {
        try {
          rec.statement(conn, q.text);
        } catch (err) {
          report(err);
        }
      }
    }
    return result;
  };

  proto._handleErrorMessage = function (msg) {
    const q = this._activeQuery;
    const conn = q ? s.clients.get(this) : undefined;
    if (conn !== undefined && !this._connecting) guard(() => rec.finished(conn, String(msg?.message ?? 'error')));
    return error.apply(this, arguments);
  };

  proto._handleReadyForQuery = function (msg) {
    const conn = s.clients.get(this);
    if (conn !== undefined) {
      try {
        if (this._activeQuery) rec.finished(conn, null);
        const status = TX[msg?.status];
        if (status !== undefined) rec.tx(conn, status);
      } catch (err) {
        report(err);
      }
    }
    return ready.apply(this, arguments);
  };
}

module.exports = { pgState, patchPgPool, patchPgClient, poolIdOf, pgInfo };
