import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, createServer } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../main/engine/engine';
import { type AttachServer, startAttachServer } from '../../main/engine/attach/attach-server';
import { type EngineMetrics, startEngineMetrics } from '../../main/engine/pool-metrics';
import { poolCounts } from '../../shared/snapshot';
import { PoolscopeService } from '../../main/engine/service';
import { NO_SECRET_BOX, SavedTargets } from '../../main/engine/saved-targets';
import { freePort, listening } from './helpers/free-port';
import { mysqlAvailable, mysqlUrl, openServer, pgUrl } from './helpers/servers';

// Pool metrics read by their real consumers: Debian's Prometheus scraping two apps under
// `poolscope attach --metrics-port` and Poolscope's own engine, and an OTLP/HTTP receiver
// that decodes what the SDK's exporter pushes (JSON, the exporter's own protocol).

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'poolscope.mjs');
const APP = join(import.meta.dirname, 'attach-apps', 'fleet-app.cjs');
const LAUNCHER = join(import.meta.dirname, 'attach-apps', 'launcher.cjs');
const PROMETHEUS = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';

/** Prometheus absent: one loud line and a skip, unless CI (or POOLSCOPE_REQUIRE_PROMETHEUS=1) requires it. */
const prometheusMissing = (() => {
  if (existsSync(PROMETHEUS)) return false;
  const why = `no Prometheus binary at ${PROMETHEUS} (apt-get install prometheus, or set PROMETHEUS_PATH)`;
  if (process.env.CI || process.env.POOLSCOPE_REQUIRE_PROMETHEUS === '1') throw new Error(`Prometheus is required in CI: ${why}`);
  console.warn(`\n*** PROMETHEUS TEST SKIPPED: ${why}. POOLSCOPE_REQUIRE_PROMETHEUS=1 makes this a failure. ***\n`);
  return true;
})();

interface Attached {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Closes the app's stdin (it releases and exits); resolves with attach's exit code. */
  end(): Promise<number | null>;
}

let dir: string;
let engine: Engine;
let agents: AttachServer;
const running: Attached[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolscope-metrics-test-'));
  engine = new Engine({ target: pgUrl() });
  agents = await startAttachServer({ log: engine.log, clock: engine.clock, newPoolId: () => engine.newPoolId(), file: join(dir, 'attach.json') });
});

afterEach(async () => {
  for (const a of running.splice(0)) await a.end();
  await agents.close();
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The fleet app under `poolscope attach <flags>` (through `via`, a parent process, when given), once it printed "ready". */
function attachApp(flags: string[], env: NodeJS.ProcessEnv, via?: string): Promise<Attached> {
  const child = spawn(process.execPath, [CLI, 'attach', ...flags, '--', process.execPath, ...(via ? [via] : []), APP], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json'), ...env },
  });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app was not ready within 20 s; stderr: ${err}`)), 20_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const a: Attached = {
        child,
        pid: Number(m[1]),
        stdout: () => out,
        stderr: () => err,
        end: () => {
          child.stdin.end();
          return exited;
        },
      };
      running.push(a);
      resolve(a);
    });
    child.once('close', (code) => reject(new Error(`the app exited (${code}) before it was ready; stderr: ${err}`)));
  });
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type Sample = { metric: Record<string, string>; value: [number, string] };

describe('Prometheus scraping two attached apps and Poolscope', () => {
  it.skipIf(prometheusMissing)("finds each instance's pool counts, max, timeouts, dirty returns and its leak under the conventions' names", async () => {
    const [portA, portB, portOwn, portProm] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // The second instance on MariaDB when it is there: one fleet, both drivers.
    const urlB = mysqlAvailable ? mysqlUrl : pgUrl();
    const a = await attachApp(['--metrics-port', String(portA), '--metrics-leak-ms', '300'], { APP_DB_URL: pgUrl(), APP_NAME: 'fleet-a' });
    // B holds its connection too, never counted as leaked: a threshold far past this test (the default, 10 s, is not: Prometheus may take 20 s to listen).
    const b = await attachApp(['--metrics-port', String(portB), '--metrics-leak-ms', '600000'], { APP_DB_URL: urlB, APP_NAME: 'fleet-b' });
    const warnings: string[] = [];
    let own: EngineMetrics | null = startEngineMetrics(engine.log, { port: portOwn }, (m) => warnings.push(m));
    await engine.start();
    // Poolscope's own pool holds one connection past its leak threshold (its Leaks panel's controls).
    const service = new PoolscopeService(engine, { saved: new SavedTargets(join(dir, 'saved.json'), NO_SECRET_BOX) });
    expect(await service.handle('leak.threshold', { ms: 300 })).toMatchObject({ ok: true });
    expect(await service.handle('leak.inject', { count: 1 })).toMatchObject({ ok: true });

    writeFileSync(
      join(dir, 'prometheus.yml'),
      ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: fleet', '    static_configs:', `      - targets: ['127.0.0.1:${portA}', '127.0.0.1:${portB}', '127.0.0.1:${portOwn}']`, ''].join('\n'),
    );
    const prom = spawn(PROMETHEUS, ['--config.file=prometheus.yml', `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${portProm}`, '--log.level=warn'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let promLog = '';
    prom.stderr.setEncoding('utf8').on('data', (d: string) => (promLog += d));
    try {
      await listening(portProm, 20_000, 'prometheus');
      const query = async (q: string): Promise<Sample[]> => {
        const res = await fetch(`http://127.0.0.1:${portProm}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await res.json()) as { status: string; data: { result: Sample[] } };
        if (body.status !== 'success') throw new Error(JSON.stringify(body));
        return body.data.result;
      };
      const byInstance = (samples: Sample[]) => Object.fromEntries(samples.map((s) => [`${s.metric.instance}${s.metric.db_client_connection_state ? ` ${s.metric.db_client_connection_state}` : ''}`, Number(s.value[1])]));
      const ia = `127.0.0.1:${portA}`;
      const ib = `127.0.0.1:${portB}`;
      const io = `127.0.0.1:${portOwn}`;

      // All three targets scraped, and A's connection held past 300 ms counted as leaked.
      const leaked = await until('A leak in Prometheus', 30_000, async () => {
        const r = byInstance(await query('poolscope_connection_leaked'));
        return r[ia] === 1 && ib in r && io in r ? r : undefined;
      });
      expect(leaked).toEqual({ [ia]: 1, [ib]: 0, [io]: 1 });

      const counts = byInstance(await query('db_client_connection_count{instance!="' + io + '"}'));
      expect(counts).toEqual({ [`${ia} idle`]: 2, [`${ia} used`]: 1, [`${ib} idle`]: 1, [`${ib} used`]: 1 });
      // What the server itself lists for A (by its application_name) agrees.
      const server = await openServer('postgres');
      try {
        const rows = await server.admin<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'fleet-a'");
        expect(Number(rows[0]?.n)).toBe(3);
      } finally {
        await server.close();
      }

      // The fleet's ceiling: instances x pool size, as the docs' query sums it.
      const ceiling = await query(`sum(db_client_connection_max{instance=~"${ia}|${ib}"})`);
      expect(Number(ceiling[0]?.value[1])).toBe(5);
      expect(byInstance(await query('db_client_connection_timeouts_total'))).toEqual({ [ia]: 1 });
      // One each: pg's by the client's transaction status, mysql2's by the OK packet's flag.
      expect(byInstance(await query('poolscope_connection_dirty_returns_total'))).toEqual({ [ia]: 1, [ib]: 1 });
      expect(byInstance(await query('db_client_connection_wait_time_count{instance="' + ia + '"}'))).toEqual({ [ia]: 4 });
      expect(byInstance(await query('db_client_connection_pending_requests'))).toEqual({ [ia]: 0, [ib]: 0, [io]: 0 });

      // Each series names its pool, host and process.
      const [series] = await query(`db_client_connection_max{instance="${ia}"}`);
      const pgPort = new URL(pgUrl()).port;
      expect(series?.metric).toMatchObject({ db_client_connection_pool_name: `127.0.0.1:${pgPort}/${new URL(pgUrl()).pathname.slice(1)}`, host_name: hostname(), process_pid: String(a.pid), service_name: 'fleet-app.cjs' });

      // Poolscope's own pool, as its engine counts it; the attached apps' pools are not in its series.
      const mine = poolCounts(engine.log.live, engine.pool.id);
      const ownSeries = await until("Poolscope's own pool in Prometheus", 15_000, async () => {
        const r = await query(`db_client_connection_count{instance="${io}"}`);
        return r.length > 0 ? r : undefined;
      });
      expect(new Set(ownSeries.map((s) => s.metric.db_client_connection_pool_name)).size).toBe(1);
      expect(byInstance(ownSeries)).toEqual({ [`${io} idle`]: mine.idle, [`${io} used`]: mine.borrowed });
      expect(mine.borrowed).toBe(1);
      expect(byInstance(await query(`db_client_connection_max{instance="${io}"}`))).toEqual({ [io]: engine.pool.settings.max });
      // Server sessions of Poolscope's that no pool knows: none here, as the engine's monitor sees the server.
      const orphans = await until('the orphans gauge', 15_000, async () => {
        const r = await query(`poolscope_connection_orphans{instance="${io}"}`);
        return r.length > 0 ? byInstance(r) : undefined;
      });
      expect(orphans).toEqual({ [io]: 0 });

      expect(await a.end()).toBe(0);
      expect(await b.end()).toBe(0);
      await own.stop();
      own = null;
    } finally {
      await own?.stop();
      prom.kill('SIGTERM');
      await new Promise((r) => prom.once('close', r));
    }
    expect(promLog).not.toMatch(/level=error/);
    expect(warnings).toEqual([]);
  }, 90_000);
});

describe('OTLP/HTTP', () => {
  it('pushes the conventions’ metrics with the resource’s host and process to a receiver, which decodes them', async () => {
    const bodies: unknown[] = [];
    const receiver = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.setEncoding('utf8').on('data', (d: string) => (text += d));
      req.on('end', () => {
        if (req.url === '/v1/metrics' && req.headers['content-type'] === 'application/json') bodies.push(JSON.parse(text));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const { port } = receiver.address() as { port: number };
    try {
      const app = await attachApp(['--metrics-otlp', `http://127.0.0.1:${port}/v1/metrics`], { APP_DB_URL: pgUrl(), APP_NAME: 'fleet-otlp', POOLSCOPE_METRICS_INTERVAL_MS: '300' });
      type Attr = { key: string; value: { stringValue?: string; intValue?: string | number } };
      type Point = { attributes: Attr[]; asInt?: string | number; asDouble?: number; count?: string | number };
      type Metric = { name: string; unit: string; sum?: { dataPoints: Point[]; isMonotonic?: boolean }; histogram?: { dataPoints: Point[] } };
      type Body = { resourceMetrics: { resource: { attributes: Attr[] }; scopeMetrics: { metrics: Metric[] }[] }[] };
      const attr = (list: Attr[], key: string) => {
        const v = list.find((x) => x.key === key)?.value;
        return v?.stringValue ?? (v?.intValue === undefined ? undefined : Number(v.intValue));
      };
      const body = await until('an export with the used connection', 15_000, async () =>
        (bodies as Body[]).find((x) =>
          x.resourceMetrics.some((rm) =>
            rm.scopeMetrics.some((sm) => sm.metrics.some((m) => m.name === 'db.client.connection.count' && m.sum?.dataPoints.some((p) => attr(p.attributes, 'db.client.connection.state') === 'used' && Number(p.asInt) === 1))),
          ),
        ),
      );
      const [rm] = body.resourceMetrics;
      expect(attr(rm!.resource.attributes, 'host.name')).toBe(hostname());
      expect(attr(rm!.resource.attributes, 'process.pid')).toBe(app.pid);
      expect(attr(rm!.resource.attributes, 'service.name')).toBe('fleet-app.cjs');
      expect(attr(rm!.resource.attributes, 'process.runtime.name')).toBe('nodejs');
      const metrics = rm!.scopeMetrics.flatMap((sm) => sm.metrics);
      const named = (n: string) => metrics.find((m) => m.name === n);
      expect(metrics.map((m) => m.name).sort()).toEqual(
        [
          'db.client.connection.count',
          'db.client.connection.create_time',
          'db.client.connection.idle.max',
          'db.client.connection.idle.min',
          'db.client.connection.max',
          'db.client.connection.pending_requests',
          'db.client.connection.timeouts',
          'db.client.connection.use_time',
          'db.client.connection.wait_time',
          'poolscope.connection.dirty_returns',
          'poolscope.connection.leaked',
        ].sort(),
      );
      const idle = named('db.client.connection.count')?.sum?.dataPoints.find((p) => attr(p.attributes, 'db.client.connection.state') === 'idle');
      expect(Number(idle?.asInt)).toBe(2);
      expect(attr(idle!.attributes, 'db.client.connection.pool.name')).toBe(`127.0.0.1:${new URL(pgUrl()).port}/${new URL(pgUrl()).pathname.slice(1)}`);
      expect(Number(named('db.client.connection.max')?.sum?.dataPoints[0]?.asInt)).toBe(3);
      expect(named('db.client.connection.timeouts')?.sum?.isMonotonic).toBe(true);
      expect(Number(named('db.client.connection.timeouts')?.sum?.dataPoints[0]?.asInt)).toBe(1);
      expect(named('db.client.connection.wait_time')?.unit).toBe('s');
      expect(Number(named('db.client.connection.wait_time')?.histogram?.dataPoints[0]?.count)).toBe(4);
      expect((named('db.client.connection.wait_time')?.histogram?.dataPoints[0] as { explicitBounds?: number[] }).explicitBounds).toEqual([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);
      expect(await app.end()).toBe(0);
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  }, 60_000);

  it('with no collector listening, its scrape port taken, or a collector that never answers, the app runs and exits as it would have', async () => {
    const dead = await freePort();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port: busy } = taken.address() as { port: number };
    try {
      const app = await attachApp(['--metrics-otlp', `http://127.0.0.1:${dead}/v1/metrics`, '--metrics-port', String(busy)], { APP_DB_URL: pgUrl(), POOLSCOPE_METRICS_INTERVAL_MS: '200' });
      // Several exports fail while it runs.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await app.end()).toBe(0);
      expect(app.stdout()).toMatch(/^timed out: timeout exceeded when trying to connect\nready \d+\n$/);
      const lines = app.stderr().trim().split('\n');
      expect(lines).toEqual([
        `poolscope agent: metrics: no Prometheus endpoint on 127.0.0.1:${busy} in process ${app.pid}: listen EADDRINUSE: address already in use 127.0.0.1:${busy}`,
        expect.stringMatching(/^poolscope: attached to 1 process: 1 pool, 3 connections, 5 borrowers/),
      ]);

      // A collector that takes the request and never answers: the same.
      const asked: string[] = [];
      taken.on('request', (req: IncomingMessage) => asked.push(req.url ?? ''));
      const hung = await attachApp(['--metrics-otlp', `http://127.0.0.1:${busy}/v1/metrics`], { APP_DB_URL: pgUrl(), POOLSCOPE_METRICS_INTERVAL_MS: '200' });
      await until('an export to the silent collector', 10_000, async () => (asked.length > 0 ? true : undefined));
      expect(await hung.end()).toBe(0);
      expect(hung.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^poolscope: attached to 1 process/)]);
    } finally {
      taken.closeAllConnections();
      await new Promise((r) => taken.close(r));
    }
  }, 30_000);
});

describe('the scrape endpoint', () => {
  it('opens in the process that makes a pool, not in its parent that makes none (npm, a watcher)', async () => {
    const port = await freePort();
    const app = await attachApp(['--metrics-port', String(port)], { APP_DB_URL: pgUrl() }, LAUNCHER);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain(`process_pid="${app.pid}"`);
    expect(text).toMatch(/^db_client_connection_count\{.*db_client_connection_state="used".*\} 1$/m);
    expect(await app.end()).toBe(0);
    expect(app.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^poolscope: attached to 2 processes: 1 pool, 3 connections/)]);
  }, 30_000);
});

describe('metrics options', () => {
  it.each([
    [['attach', '--metrics-port', '99999', '--', 'node', '-e', '1'], '--metrics-port must be a whole number from 1 to 65535, not "99999".'],
    [['attach', '--metrics-host', '0.0.0.0', '--', 'node', '-e', '1'], '--metrics-host needs --metrics-port N.'],
    [['attach', '--metrics-otlp', 'collector:4318', '--', 'node', '-e', '1'], '--metrics-otlp must be an http(s) URL of an OTLP/HTTP collector, such as http://127.0.0.1:4318/v1/metrics, not "collector:4318".'],
    [['watch', '--metrics-port', '9464'], '--metrics-port applies to web and attach only.'],
    [['web', '--metrics-port', '9464', '--metrics-leak-ms', '5'], '--metrics-leak-ms applies to attach only: web counts the holders its leak threshold flags (set in the Leaks panel).'],
  ])('poolscope %j is refused with what to give (exit 2), nothing started', async (argv, message) => {
    const child = spawn(process.execPath, [CLI, ...argv], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json') } });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(2);
    expect(err.trim()).toBe(`poolscope: ${message}`);
  });
});
