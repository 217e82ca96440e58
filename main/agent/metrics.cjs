'use strict';
// Pool metrics for fleets (docs/metrics.md): the OpenTelemetry SDK's instruments under the
// names of OpenTelemetry's database semantic conventions (db.client.connection.*, still
// marked development there) plus Poolscope's own (poolscope.connection.*), exported over
// OTLP/HTTP (JSON) and/or on a Prometheus scrape endpoint. Used by the attach agent inside an app
// (watchRecorder) and by Poolscope's engine for its own pools (startPoolMetrics).
//
// Off unless asked for: the SDK is required only when metrics start. Gauges are observable
// (read from the source's live state when a collection runs); per event only a counter add
// or a histogram record, the histograms aggregated by our own code (histograms.cjs). Export
// never holds the app: the scrape server and its sockets are unref'd, an OTLP request times
// out, is tried once and its socket is unref'd, and an unreachable collector costs nothing
// that grows (a failed export is dropped; one cumulative aggregate is kept per pool and
// attribute set, whatever the collector does).

const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { Histograms } = require('./histograms.cjs');

const POOL_NAME = 'db.client.connection.pool.name';
const STATE = 'db.client.connection.state';
/** Buckets for the pool's durations, in seconds: 1 ms (a warm pool's wait) to 10 s (an acquire timeout's range). */
const SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
const OTLP_TIMEOUT_MS = 5000;

/** What `poolscope attach --metrics-*` passed down in the environment; null when metrics are off. */
function metricsConfig(env = process.env) {
  const otlp = env.POOLSCOPE_METRICS_OTLP || null;
  const port = env.POOLSCOPE_METRICS_PORT ? Number(env.POOLSCOPE_METRICS_PORT) : null;
  if (otlp === null && port === null) return null;
  return {
    otlp,
    port: Number.isInteger(port) && port >= 0 && port <= 65535 ? port : null,
    host: env.POOLSCOPE_METRICS_HOST || '127.0.0.1',
    intervalMs: Number(env.POOLSCOPE_METRICS_INTERVAL_MS) || 10000,
    leakMs: Number(env.POOLSCOPE_METRICS_LEAK_MS) || 10000,
    service: env.OTEL_SERVICE_NAME || path.basename(process.argv[1] || process.argv0 || 'node'),
  };
}

/**
 * OTLP/HTTP with the SDK's own JSON encoding (otlp-transformer, which the official
 * exporter-metrics-otlp-http uses too), one attempt per collection on an unref'd socket. The
 * official exporter retries an unreachable collector on timers of its own, which kept an
 * exiting app alive as long as exports kept failing (tests/integration/metrics.test.ts).
 */
class OtlpJsonExporter {
  constructor(url, timeoutMs) {
    this.url = new URL(url);
    this.timeoutMs = timeoutMs;
    const { JsonMetricsSerializer } = require('@opentelemetry/otlp-transformer');
    this.serializer = JsonMetricsSerializer;
    this.agent = new (this.url.protocol === 'https:' ? https : http).Agent({ keepAlive: true, maxSockets: 1 });
  }

  export(metrics, resultCallback) {
    let answered = false;
    const done = (error) => {
      if (answered) return;
      answered = true;
      resultCallback(error ? { code: 1, error } : { code: 0 });
    };
    try {
      const body = this.serializer.serializeRequest(metrics);
      const req = (this.url.protocol === 'https:' ? https : http).request(this.url, {
        method: 'POST',
        agent: this.agent,
        timeout: this.timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      });
      req.on('socket', (socket) => socket.unref());
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode < 300 ? null : new Error(`the collector answered ${res.statusCode}`)));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', done);
      req.end(body);
    } catch (err) {
      done(err);
    }
  }

  forceFlush() {
    return Promise.resolve();
  }

  shutdown() {
    this.agent.destroy();
    return Promise.resolve();
  }
}

/**
 * Starts the instruments. read() answers, at each collection, every live pool's gauges:
 * { pools: [{ attrs, idle, used, pending, max, idleMax, idleMin, leaked }], orphans: number | null }.
 * Returns the per-event recorders (each takes a pool's attrs from attrsFor) and stop().
 */
function startPoolMetrics({ otlp = null, port = null, host = '127.0.0.1', intervalMs = 10000, service, read, warn }) {
  const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
  const { resourceFromAttributes } = require('@opentelemetry/resources');
  const resource = resourceFromAttributes({
    'service.name': service,
    'host.name': os.hostname(),
    'process.pid': process.pid,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
  });
  const { AggregationTemporality, DataPointType, InstrumentType } = require('@opentelemetry/sdk-metrics');
  const { ValueType } = require('@opentelemetry/api');
  const histograms = new Histograms({ AggregationTemporality, DataPointType, InstrumentType, ValueType }, SECONDS);
  const metricProducers = [histograms.producer(resource)];
  const readers = [];
  const closers = [];
  let server = null;
  if (port !== null) {
    const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus');
    // Our own server around the exporter's handler: the exporter's unrefs its listener but
    // not a scraper's kept-alive sockets, which would hold the app's exit.
    const exporter = new PrometheusExporter({ preventServerStart: true, withResourceConstantLabels: /^(service\.name|host\.name|process\.pid)$/, metricProducers });
    readers.push(exporter);
    server = http.createServer((req, res) => {
      if (req.method === 'GET' && (req.url || '').split('?')[0] === '/metrics') exporter.getMetricsRequestHandler(req, res);
      else res.writeHead(404).end();
    });
    server.on('connection', (socket) => socket.unref());
    server.on('error', (err) => warn(`metrics: no Prometheus endpoint on ${host}:${port} in process ${process.pid}: ${err.message}`));
    server.listen(port, host);
    server.unref();
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  }
  if (otlp !== null) {
    const exporter = new OtlpJsonExporter(otlp, OTLP_TIMEOUT_MS);
    readers.push(new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: intervalMs, exportTimeoutMillis: Math.min(OTLP_TIMEOUT_MS, intervalMs), metricProducers }));
  }
  const provider = new MeterProvider({ resource, readers });
  closers.push(() => provider.shutdown());
  const meter = provider.getMeter('poolscope');

  // Counts of connections and requests are whole numbers (OTLP's asInt).
  const gauge = (name, unit, description) => meter.createObservableUpDownCounter(name, { unit, description, valueType: ValueType.INT });
  const count = gauge('db.client.connection.count', '{connection}', 'The number of connections that are currently in state described by the state attribute.');
  const idleMax = gauge('db.client.connection.idle.max', '{connection}', 'The maximum number of idle open connections allowed.');
  const idleMin = gauge('db.client.connection.idle.min', '{connection}', 'The minimum number of idle open connections allowed.');
  const max = gauge('db.client.connection.max', '{connection}', 'The maximum number of open connections allowed.');
  const pending = gauge('db.client.connection.pending_requests', '{request}', 'The number of current pending requests for an open connection.');
  const leaked = gauge('poolscope.connection.leaked', '{connection}', 'Connections held past the leak threshold now.');
  const orphans = gauge('poolscope.connection.orphans', '{session}', "Sessions of Poolscope's on the server that no pool knows.");
  meter.addBatchObservableCallback(
    (result) => {
      const now = read();
      for (const p of now.pools) {
        result.observe(count, p.idle, { ...p.attrs, [STATE]: 'idle' });
        result.observe(count, p.used, { ...p.attrs, [STATE]: 'used' });
        result.observe(max, p.max, p.attrs);
        if (p.idleMax !== null) result.observe(idleMax, p.idleMax, p.attrs);
        if (p.idleMin !== null) result.observe(idleMin, p.idleMin, p.attrs);
        result.observe(pending, p.pending, p.attrs);
        result.observe(leaked, p.leaked, p.attrs);
      }
      if (now.orphans !== null) result.observe(orphans, now.orphans);
    },
    [count, idleMax, idleMin, max, pending, leaked, orphans],
  );

  const timeouts = meter.createCounter('db.client.connection.timeouts', { unit: '{timeout}', valueType: ValueType.INT, description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.' });
  const dirty = meter.createCounter('poolscope.connection.dirty_returns', { unit: '{connection}', valueType: ValueType.INT, description: 'Connections returned to the pool inside an open transaction.' });
  const createTime = histograms.add('db.client.connection.create_time', 'The time it took to create a new connection.', POOL_NAME);
  const waitTime = histograms.add('db.client.connection.wait_time', 'The time it took to obtain an open connection from the pool.', POOL_NAME);
  const useTime = histograms.add('db.client.connection.use_time', 'The time between borrowing a connection and returning it to the pool.', POOL_NAME);

  return {
    /** The attributes of a pool's every data point: its name (unique in the process). */
    attrsFor: (name) => Object.freeze({ [POOL_NAME]: name }),
    timeout: (attrs) => timeouts.add(1, attrs),
    dirtyReturn: (attrs) => dirty.add(1, attrs),
    createTime,
    waitTime,
    useTime,
    /** The scrape endpoint's address once it listens (null without one, or when it could not). */
    listening: () => {
      const a = server && server.address();
      return a && typeof a === 'object' ? { host: a.address, port: a.port } : null;
    },
    stop: () => Promise.all(closers.map((close) => close())).then(() => undefined),
  };
}

/**
 * A pool's name as the conventions ask when the pool has none: server.address:server.port/db.namespace,
 * made unique among the live pools by #2, #3… A name is free again when its pool ends: an
 * app that makes a pool per request keeps one series, not one per pool (the SDK keeps at
 * most 2,000 series per metric in any case).
 */
function namer() {
  const live = new Set();
  return {
    take(info) {
      const base = `${info.host}:${info.port}/${info.database}`;
      let name = base;
      for (let n = 2; live.has(name); n++) name = `${base}#${n}`;
      live.add(name);
      return name;
    },
    free: (name) => live.delete(name),
  };
}

/**
 * The attach agent's metrics: started with the process's first pool (a parent process that
 * never makes one, such as npm, never opens the port), fed by wrapping the recorder's own
 * methods on this instance, read from its live registry on collection.
 */
function watchRecorder(rec, guard, warn, config = metricsConfig()) {
  let metrics = null;
  const attrs = new Map(); // pool id → attributes
  const names = namer();
  const read = () => {
    const byPool = new Map();
    for (const [id, p] of rec.pools) {
      if (!attrs.has(id)) continue;
      const info = p.info;
      byPool.set(id, {
        attrs: attrs.get(id),
        idle: 0,
        used: 0,
        pending: 0,
        leaked: 0,
        max: info.max,
        idleMax: info.maxIdle ?? info.max,
        idleMin: info.min ?? null,
      });
    }
    for (const conn of rec.conns.values()) {
      const g = byPool.get(conn.pool);
      if (!g) continue;
      if (conn.holder === null) g.idle++;
      else g.used++;
    }
    const now = rec.now();
    for (const b of rec.borrowers()) {
      const g = byPool.get(b.pool);
      if (!g) continue;
      if (b.conn === null) g.pending++;
      else if (now - b.acquiredAt >= config.leakMs) g.leaked++;
    }
    return { pools: [...byPool.values()], orphans: null };
  };
  const seconds = (ms) => ms / 1000;
  const wrap = (name, before, after) => {
    const original = rec[name];
    rec[name] = function () {
      if (before) guard(() => before.apply(null, arguments));
      const result = original.apply(rec, arguments);
      if (after) guard(() => after(result, ...arguments));
      return result;
    };
  };

  wrap('addPool', null, (id, info) => {
    metrics ??= startPoolMetrics({ ...config, read: () => guard(read) ?? { pools: [], orphans: null }, warn });
    attrs.set(id, metrics.attrsFor(names.take(info)));
  });
  wrap('poolStatus', null, (_result, id, status) => {
    if (status !== 'ended' || !attrs.has(id)) return;
    names.free(attrs.get(id)[POOL_NAME]);
    attrs.delete(id);
  });
  wrap('openConn', null, (conn, pool, _serverId, connectMs) => {
    if (typeof connectMs === 'number' && attrs.has(pool)) metrics.createTime(attrs.get(pool), seconds(connectMs));
  });
  wrap('acquire', null, (_result, b) => {
    if (attrs.has(b.pool)) metrics.waitTime(attrs.get(b.pool), seconds(b.acquiredAt - b.t));
  });
  // Before the recorder forgets the borrower: a second report of the same end counts once.
  wrap('fail', (b, _message, timeout) => {
    if (timeout && b.live && attrs.has(b.pool)) metrics.timeout(attrs.get(b.pool));
  });
  wrap('release', (b, dirty) => {
    if (!b.live || !attrs.has(b.pool)) return;
    if (b.conn !== null) metrics.useTime(attrs.get(b.pool), seconds(rec.now() - b.acquiredAt));
    if (dirty) metrics.dirtyReturn(attrs.get(b.pool));
  });
  return { metrics: () => metrics };
}

module.exports = { metricsConfig, startPoolMetrics, watchRecorder, namer };
