'use strict';
// knex's pool: tarn over the driver's own connections (a pg Client, a mysql2 connection), no
// pg.Pool. knex's Client says which tarn pools are its own and what they connect to (its
// initializePool, wrapped); tarn's own events, read where tarn dispatches them
// (_executeEventHandlers, wrapped: no listener is added to the app's pool), say what each
// pool does. The drivers' hooks learn of each connection here, and record its statements
// and transaction status as for their own pools' connections.
// knex asks its pool for a connection in a later microtask (when the app awaits a query or a
// transaction starts), where no frame of the app is on the stack: the call site is taken when
// the app makes the query or transaction (the Client's factories), and handed to the borrower
// its Runner or Transaction asks for.

const { capture } = require('./call-site.cjs');
const { pgInfo } = require('./hook-pg.cjs');
const { mysqlInfo } = require('./hook-mysql2.cjs');

function tarnState(rec, guard, pg, mysql) {
  return {
    rec,
    guard,
    pg,
    mysql,
    pools: new WeakMap(), // tarn pool → { id, conns (the driver hook's map), borrowers, creates }
    TimeoutError: null,
    sites: new WeakMap(), // a knex query, raw, schema builder or transaction → where the app made it
    site: null, // the site of the Runner or Transaction asking the pool now
    wrapped: new WeakSet(), // the factories already wrapped
    knex: 'knex',
    tarn: 'tarn',
  };
}

/** knex's connection settings as an object of fields (a URL string is read as the driver would). */
function fieldsOf(settings) {
  if (typeof settings === 'string') return { connectionString: settings };
  return settings && typeof settings === 'object' ? settings : {};
}

function mysqlFields(settings) {
  const o = fieldsOf(settings);
  const url = o.connectionString ?? o.uri;
  if (typeof url !== 'string') return o;
  try {
    const u = new URL(url);
    return { host: decodeURIComponent(u.hostname), port: u.port ? Number(u.port) : undefined, user: decodeURIComponent(u.username), database: decodeURIComponent(u.pathname.slice(1)), ssl: /[?&]ssl/.test(u.search) || undefined };
  } catch {
    return o;
  }
}

/** What a knex pool connects to and its tarn settings; null for a dialect Poolscope does not show. */
function knexInfo(client, pool, s) {
  const driver = `${s.knex}, ${s.tarn} pool`;
  const lifetime = Number(client.config?.pool?.maxConnectionLifetimeMillis);
  const tarnSettings = {
    max: pool.max,
    min: pool.min,
    acquireTimeoutMs: pool.acquireTimeoutMillis,
    idleTimeoutMs: pool.idleTimeoutMillis,
    queryTimeoutMs: 0,
    maxUses: null,
    maxLifetimeSeconds: lifetime > 0 ? Math.ceil(lifetime / 1000) : null,
    maxIdle: null,
    queueLimit: null,
    waitForConnections: null,
  };
  if (client.driverName === 'pg') {
    return { info: { ...pgInfo(fieldsOf(client.connectionSettings), `${driver} on ${s.pg.driver}`), ...tarnSettings }, conns: s.pg.clients };
  }
  if (client.driverName === 'mysql2' || client.driverName === 'mysql') {
    const c = mysqlFields(client.connectionSettings);
    return { info: { ...mysqlInfo({ connectionConfig: c }, `${driver} on ${s.mysql.driver}`), ...tarnSettings }, conns: s.mysql.conns };
  }
  return null;
}

/** knex's Client: after it made its own tarn pool, the pool is known with its target. */
function patchKnexClient(Client, s) {
  const proto = Client.prototype;
  const initializePool = proto.initializePool;
  proto.initializePool = function () {
    const result = initializePool.apply(this, arguments);
    s.guard(() => {
      const pool = this.pool;
      if (!this._ownsPool || !pool || s.pools.has(pool) || typeof pool._executeEventHandlers !== 'function') return;
      const known = knexInfo(this, pool, s);
      if (known === null) return;
      s.pools.set(pool, { id: s.rec.addPool(known.info), conns: known.conns, borrowers: new Map(), creates: new Map() });
      wrapFactories(this, s);
    });
    return result;
  };
}

const FACTORIES = ['queryBuilder', 'raw', 'schemaBuilder', 'transaction'];

/**
 * The Client's factories of queries and transactions, where the app's frame is on the stack.
 * knex's dialects override some of them: each is wrapped where it is defined, once.
 */
function wrapFactories(client, s) {
  for (const name of FACTORIES) {
    let owner = Object.getPrototypeOf(client);
    while (owner !== null && !Object.prototype.hasOwnProperty.call(owner, name)) owner = Object.getPrototypeOf(owner);
    const make = owner?.[name];
    if (typeof make !== 'function' || s.wrapped.has(make)) continue;
    const wrapper = function () {
      const made = make.apply(this, arguments);
      // A transaction's own client has no pool: its queries borrow nothing.
      if (made !== null && typeof made === 'object' && s.pools.has(this.pool)) s.guard(() => s.sites.set(made, capture(wrapper)));
      return made;
    };
    s.wrapped.add(wrapper);
    owner[name] = wrapper;
  }
}

/** Runs `ask` (a Runner's or Transaction's method that asks the pool first thing) with its maker's site. */
function withSite(proto, method, ownerOf, s) {
  const ask = proto[method];
  if (typeof ask !== 'function') return;
  proto[method] = function () {
    const site = s.guard(() => s.sites.get(ownerOf(this)));
    if (site === undefined) return ask.apply(this, arguments);
    s.site = site;
    try {
      return ask.apply(this, arguments);
    } finally {
      s.site = null;
    }
  };
}

function patchKnexRunner(Runner, s) {
  withSite(Runner.prototype, 'ensureConnection', (runner) => runner.builder, s);
}

function patchKnexTransaction(Transaction, s) {
  withSite(Transaction.prototype, '_evaluateContainer', (trx) => trx, s);
}

/** tarn's Pool: each event it dispatches, for the pools knex registered. */
function patchTarnPool(Pool, s) {
  const proto = Pool.prototype;
  const dispatch = proto._executeEventHandlers;
  proto._executeEventHandlers = function poolscopeTarnEvent(name, a, b) {
    const p = s.pools.get(this);
    if (p !== undefined) s.guard(() => observe(s, this, p, name, a, b, poolscopeTarnEvent));
    return dispatch.apply(this, arguments);
  };
}

function observe(s, pool, p, name, a, b, below) {
  const rec = s.rec;
  switch (name) {
    case 'acquireRequest':
      p.borrowers.set(a, rec.enqueue(p.id, s.site ?? capture(below)));
      return;
    case 'acquireSuccess': {
      const borrower = p.borrowers.get(a);
      const conn = p.conns.get(b);
      p.borrowers.delete(a);
      if (borrower !== undefined && conn !== undefined) rec.acquire(borrower, conn);
      return;
    }
    case 'acquireFail': {
      const borrower = p.borrowers.get(a);
      p.borrowers.delete(a);
      if (borrower !== undefined) rec.fail(borrower, String(b?.message || 'acquire failed'), typeof s.TimeoutError === 'function' && b instanceof s.TimeoutError);
      return;
    }
    case 'release': {
      const conn = p.conns.get(a);
      if (conn !== undefined && conn.holder !== null) rec.release(conn.holder, conn.tx !== 0, false);
      return;
    }
    case 'createRequest':
      p.creates.set(a, rec.now());
      return;
    case 'createFail':
      p.creates.delete(a);
      return;
    case 'createSuccess': {
      const t = p.creates.get(a);
      p.creates.delete(a);
      p.conns.set(b, rec.openConn(p.id, b?.processID ?? b?.threadId ?? null, t === undefined ? null : rec.now() - t));
      return;
    }
    case 'destroyRequest': {
      const conn = p.conns.get(b);
      if (conn === undefined) return;
      p.conns.delete(b);
      // tarn destroys a free connection when idle (still in its free list while it reaps), all
      // of them when the pool is destroyed, and one that failed knex's validation (knex marks a
      // connection that errored or outlived maxConnectionLifetimeMillis).
      const reason = pool.destroyed
        ? 'pool ended'
        : pool.free.some((f) => f.resource === b)
          ? 'idle timeout'
          : b.__knexLifetimeLimit && performance.now() > b.__knexLifetimeLimit
            ? 'max lifetime'
            : 'error';
      rec.closeConn(conn, reason);
      return;
    }
    case 'poolDestroyRequest':
      rec.poolStatus(p.id, 'ending');
      return;
    case 'poolDestroySuccess':
      rec.poolStatus(p.id, 'ended');
      return;
  }
}

/** knex's files the agent wraps, by path. */
const knexPatches = {
  'knex/lib/client.js': patchKnexClient,
  'knex/lib/execution/runner.js': patchKnexRunner,
  'knex/lib/execution/transaction.js': patchKnexTransaction,
};

module.exports = { tarnState, knexPatches, patchTarnPool };
