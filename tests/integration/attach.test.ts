import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineKind, EventOf } from '../../shared/events';
import { Engine } from '../../main/engine/engine';
import { type AttachServer, startAttachServer } from '../../main/engine/attach/attach-server';
import { PoolscopeService } from '../../main/engine/service';
import { NO_SECRET_BOX, SavedTargets } from '../../main/engine/saved-targets';
import { Recorder } from './helpers/recorder';
import { ENGINES, mysqlUrl, pgUrl } from './helpers/servers';
import { buildPicture } from '../../renderer/src/lib/picture/picture';
import { attachedRows } from '../../shared/sources';

// Small apps written for the tests (tests/integration/attach-apps/) run under
// `poolscope attach` against the real servers; what Poolscope shows is read from the engine
// the agent reports to, and what the app prints is compared with a run without the agent.

const ROOT = join(import.meta.dirname, '..', '..');
const APPS = join(import.meta.dirname, 'attach-apps');
const CLI = join(ROOT, 'bin', 'poolscope.mjs');
const BURST_APP = join(APPS, 'burst-app.cjs');
const APP: Record<EngineKind, string> = { postgres: join(APPS, 'pg-app.cjs'), mysql: join(APPS, 'mysql-app.mjs') };
const shortName: Record<EngineKind, string> = { postgres: 'attach-apps/pg-app.cjs', mysql: 'attach-apps/mysql-app.mjs' };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(argv: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, argv, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The app run bare, then under `poolscope attach`: the same stdout and exit code (3); on stderr, the summary line only. */
async function bareAndAttached(app: string, env: NodeJS.ProcessEnv, summary: RegExp): Promise<{ bare: Run; attached: Run }> {
  const bare = await run([app], env);
  const attached = await run([CLI, 'attach', '--', process.execPath, app], env);
  expect(bare.code, bare.stdout + bare.stderr).toBe(3);
  expect(attached.code, attached.stdout + attached.stderr).toBe(3);
  expect(attached.stdout).toBe(bare.stdout);
  expect(bare.stderr).toBe('');
  expect(attached.stderr.trim().split('\n')).toEqual([expect.stringMatching(summary)]);
  return { bare, attached };
}

/** The app file's line that holds `marker`, 1-based. */
function lineOf(file: string, marker: string): number {
  return readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(marker)) + 1;
}

let dir: string;
let engine: Engine;
let rec: Recorder;
let service: PoolscopeService;
let agents: AttachServer;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolscope-attach-test-'));
  engine = new Engine({});
  rec = new Recorder(engine);
  service = new PoolscopeService(engine, { saved: new SavedTargets(join(dir, 'saved.json'), NO_SECRET_BOX) });
  agents = await startAttachServer({ log: engine.log, clock: engine.clock, newPoolId: () => engine.newPoolId(), file: join(dir, 'attach.json') });
});

afterEach(async () => {
  await agents.close();
  rec.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(ENGINES)('poolscope attach on $engine', ({ engine: kind, skip }) => {
  const url = () => (kind === 'postgres' ? pgUrl() : mysqlUrl);
  const app = APP[kind];

  it.skipIf(skip)("shows the app's pool, each borrower at the app's own line, with the app's output and exit code unchanged", async () => {
    const env = { APP_DB_URL: url(), POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json') };
    // The agent adds one line on stderr, the summary, and nothing else.
    const { bare } = await bareAndAttached(app, env, /^poolscope: attached to 1 process: 1 pool, \d+ connections?, 11 borrowers, \d+ statements, 0 events dropped$/);
    expect(bare.stdout).toContain('select [{"one":1}]');

    await rec.waitFor('source.detached');
    const [source] = rec.of('source.attached');
    expect(source?.command).toContain(shortName[kind].split('/')[1]);
    const pooled = rec.of('source.pooled');
    expect(pooled).toHaveLength(1);
    const created = rec.of('pool.created').find((p) => p.poolId === pooled[0]?.poolId);
    expect(created?.target).toMatchObject({ engine: kind, host: '127.0.0.1', embedded: false });
    expect(created?.settings.max).toBe(2);

    // Every borrower is at a line of the app's own file; the leaky step's line among them.
    const enqueued = rec.of('borrower.enqueued');
    expect(enqueued).toHaveLength(11);
    for (const b of enqueued) expect(b.site).toMatch(new RegExp(`${shortName[kind].replace(/\./g, '\\.')}:\\d+\\)?$`));
    expect(enqueued.map((b) => b.site)).toContainEqual(expect.stringContaining(`${shortName[kind]}:${lineOf(app, 'LEAK-LINE')}`));

    // Connections with the server's own ids, statements with literals masked, the failing one's error, a transaction.
    const opened = rec.of('connection.opened');
    expect(opened.length).toBeGreaterThanOrEqual(2);
    for (const o of opened) expect(o.serverId).toBeGreaterThan(0);
    const sqls = rec.of('statement.started').map((s) => s.sql);
    expect(sqls).toContain("SELECT '***'");
    expect(sqls.join('\n')).not.toContain('secret-literal');
    expect(rec.of('statement.finished').some((f) => f.error !== null && /no_such_table/.test(f.error))).toBe(true);
    expect(rec.of('tx.began').length).toBeGreaterThanOrEqual(1);
    expect(rec.of('tx.ended').map((t) => t.outcome)).toContain('committed');
    // The app destroyed one connection itself (release(err) / destroy()).
    expect(rec.of('borrower.released').some((r) => r.destroyed)).toBe(true);

    // When the process ends, nothing of it is left waiting or holding.
    const live = engine.log.live;
    expect(live.sources[source!.sourceId]?.status).toBe('detached');
    expect(Object.values(live.borrowers).filter((b) => b.poolId === created?.poolId)).toEqual([]);
    expect(Object.values(live.connections).filter((c) => c.poolId === created?.poolId)).toEqual([]);
    expect(live.pools[created!.poolId]?.status).toBe('ended');
    expect(rec.violations).toEqual([]);
  });

  it.skipIf(skip)("flags a connection held past the leak threshold at the app's line", async () => {
    await service.handle('leak.threshold', { ms: 150 });
    const running = run([CLI, 'attach', '--', process.execPath, app], { APP_DB_URL: url(), POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json'), HOLD_MS: '700' });
    // While the app holds its leaky connection, Poolscope will not release it for the app.
    const first = await rec.waitFor('borrower.flagged');
    const refused = await service.handle('lease.release', { borrowerId: first.borrowerId });
    expect(refused).toMatchObject({ ok: false, error: { code: 'not-ours' } });
    const result = await running;
    expect(result.code).toBe(3);
    await rec.waitFor('source.detached');
    const siteOf = (id: string) => rec.of('borrower.enqueued').find((b) => b.borrowerId === id)?.site;
    const heldOf = (id: string) => rec.of('borrower.released').find((r) => r.borrowerId === id)?.heldMs ?? 0;
    const flagged = rec.of('borrower.flagged');
    // The leaky step (held 700 ms) is flagged at its line; so is any other holder past 150 ms (pg's app holds two for its timeout), and no one else.
    expect(flagged.map((f) => siteOf(f.borrowerId))).toContainEqual(expect.stringContaining(`${shortName[kind]}:${lineOf(app, 'LEAK-LINE')}`));
    for (const f of flagged) expect(heldOf(f.borrowerId)).toBeGreaterThanOrEqual(150);
    const longHolders = rec.of('borrower.released').filter((r) => r.heldMs >= 250).map((r) => r.borrowerId);
    expect(flagged.map((f) => f.borrowerId).sort()).toEqual(expect.arrayContaining(longHolders.sort()));
  });

  it.skipIf(skip)('with no Poolscope listening, the app runs as without the agent and exits as soon', async () => {
    const env = { APP_DB_URL: url(), POOLSCOPE_ATTACH_FILE: join(dir, 'nobody-here.json') };
    const bare = await run([app], env);
    const alone = await run(['--require', join(ROOT, 'main', 'agent', 'agent.cjs'), app], env);
    expect(alone.code).toBe(bare.code);
    expect(alone.stdout).toBe(bare.stdout);
    expect(alone.stderr).toBe('');
  });
});

describe.skipIf(ENGINES[0]!.skip)('poolscope attach: timeouts on postgres', () => {
  it("diagnoses a borrower's timeout with the app's holders and their lines", async () => {
    const result = await run([CLI, 'attach', '--', process.execPath, APP.postgres], { APP_DB_URL: pgUrl(), POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json') });
    expect(result.code).toBe(3);
    await rec.waitFor('source.detached');
    const timedOut = rec.of('borrower.timedout');
    // The app's third borrower while two hold, and the waiter left behind end(): both by pg's connectionTimeoutMillis (400 ms).
    expect(timedOut).toHaveLength(2);
    const first = timedOut[0] as EventOf<'borrower.timedout'>;
    expect(first.waitedMs).toBeGreaterThanOrEqual(390);
    expect(first.diagnosis.holders).toHaveLength(2);
    for (const h of first.diagnosis.holders) expect(h.site).toMatch(/attach-apps\/pg-app\.cjs:\d+/);
    expect(first.message).toContain('Timed out after');
  });
});

describe('the agents\' listener', () => {
  it('closes a socket that does not give the token, and no source appears', async () => {
    const port = (JSON.parse(readFileSync(join(dir, 'attach.json'), 'utf8')) as { port: number }).port;
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.write(`${JSON.stringify({ type: 'hello', token: 'wrong', pid: 1, command: 'x', node: 'v20' })}\n`);
        s.write(`${JSON.stringify({ type: 'events', events: [[12, 1, 1, 0, 0, {}]], dropped: 0 })}\n`);
      });
      s.on('error', () => {});
      s.once('close', () => resolve(true));
    });
    expect(closed).toBe(true);
    expect(rec.of('source.attached')).toEqual([]);
    expect(agents.attached).toBe(0);
  });

  it('keeps the port and token in a file only this user can read', () => {
    expect(statSync(join(dir, 'attach.json')).mode & 0o777).toBe(0o600);
  });
});

describe.each(ENGINES)("poolscope attach: knex's own pool (tarn over the driver's connections) on $engine", ({ engine: kind, skip }) => {
  const KNEX_APP = join(APPS, 'knex-app.cjs');
  const at = (marker: string) => `attach-apps/knex-app.cjs:${lineOf(KNEX_APP, marker)}`;
  const driver = kind === 'postgres' ? 'pg' : 'mysql2';
  const appEnv = () => ({ KNEX_CLIENT: driver, APP_DB_URL: kind === 'postgres' ? pgUrl() : mysqlUrl, POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json') });

  it.skipIf(skip)("shows knex's pool with its waiters in order, each borrower at the app's line, a timeout diagnosed with the app's holders", async () => {
    const { bare } = await bareAndAttached(KNEX_APP, appEnv(), /^poolscope: attached to 1 process: 1 pool, 2 connections, 11 borrowers, \d+ statements, 0 events dropped$/);
    expect(bare.stdout).toContain('served 1,2,3');

    await rec.waitFor('source.detached');
    const pooled = rec.of('source.pooled');
    expect(pooled).toHaveLength(1);
    expect(pooled[0]?.driver).toMatch(new RegExp(`^knex 3\\.\\d+\\.\\d+, tarn 3\\.\\d+\\.\\d+ pool on ${driver} \\d+\\.\\d+\\.\\d+$`));
    const poolId = pooled[0]!.poolId;
    const created = rec.of('pool.created').find((p) => p.poolId === poolId);
    expect(created?.target).toMatchObject({ engine: kind, host: '127.0.0.1', embedded: false });
    expect(created?.settings).toMatchObject({ max: 2, min: 0, acquireTimeoutMs: 2000 });

    const enqueued = rec.of('borrower.enqueued');
    expect(enqueued).toHaveLength(11);
    for (const b of enqueued) expect(b.site).toMatch(/attach-apps\/knex-app\.cjs:\d+\)?$/);
    const sites = enqueued.map((b) => b.site);
    expect(sites).toContainEqual(expect.stringContaining(at('LEAK-LINE')));
    // The three that waited behind two held transactions: asked in order, served in that order.
    const waiters = enqueued.filter((b) => b.site.includes(at('WAITER-LINE'))).map((b) => b.borrowerId);
    expect(waiters).toHaveLength(3);
    const acquired = rec.of('borrower.acquired').map((a) => a.borrowerId);
    expect(acquired.filter((id) => waiters.includes(id))).toEqual(waiters);
    for (const id of waiters) expect(rec.of('borrower.acquired').find((a) => a.borrowerId === id)!.waitedMs).toBeGreaterThanOrEqual(40);

    // The driver's connections made by knex, with the server's ids; statements masked, the failing one's error, transactions.
    const opened = rec.of('connection.opened');
    expect(opened).toHaveLength(2);
    for (const o of opened) expect(o.serverId).toBeGreaterThan(0);
    const sqls = rec.of('statement.started').map((s) => s.sql);
    expect(sqls).toContain("SELECT '***'");
    expect(sqls.join('\n')).not.toContain('secret-literal');
    expect(rec.of('statement.finished').some((f) => f.error !== null && /no_such_table/.test(f.error))).toBe(true);
    expect(rec.of('tx.ended').map((t) => t.outcome)).toEqual(expect.arrayContaining(['committed', 'rolled back']));

    // The fourth borrower timed out (tarn's acquireTimeoutMillis) while two transactions held: the diagnosis names them.
    const timedOut = rec.of('borrower.timedout');
    expect(timedOut).toHaveLength(1);
    expect(timedOut[0]!.waitedMs).toBeGreaterThanOrEqual(1990);
    expect(timedOut[0]!.diagnosis.holders).toHaveLength(2);
    for (const h of timedOut[0]!.diagnosis.holders) expect(h.site).toMatch(/attach-apps\/knex-app\.cjs:\d+/);

    // knex.destroy() ended the pool; nothing of the process is left.
    const live = engine.log.live;
    expect(live.pools[poolId]?.status).toBe('ended');
    expect(rec.of('connection.closed').map((c) => c.reason)).toEqual(['pool ended', 'pool ended']);
    expect(Object.values(live.borrowers).filter((b) => b.poolId === poolId)).toEqual([]);
    expect(Object.values(live.connections).filter((c) => c.poolId === poolId)).toEqual([]);
    expect(rec.violations).toEqual([]);
  });

  it.skipIf(skip)('with no Poolscope listening, the knex app runs as without the agent', async () => {
    const env = { ...appEnv(), POOLSCOPE_ATTACH_FILE: join(dir, 'nobody-here.json') };
    const bare = await run([KNEX_APP], env);
    const alone = await run(['--require', join(ROOT, 'main', 'agent', 'agent.cjs'), KNEX_APP], env);
    expect(bare.code, bare.stdout + bare.stderr).toBe(3);
    expect(alone.code, alone.stdout + alone.stderr).toBe(3);
    expect(alone.stdout).toBe(bare.stdout);
    expect(alone.stderr).toBe('');
  });

  it.skipIf(skip)("flags a knex transaction held past the leak threshold at the app's line", async () => {
    await service.handle('leak.threshold', { ms: 500 });
    const result = await run([CLI, 'attach', '--', process.execPath, KNEX_APP], { ...appEnv(), HOLD_MS: '1500' });
    expect(result.code).toBe(3);
    await rec.waitFor('source.detached');
    const siteOf = (id: string) => rec.of('borrower.enqueued').find((b) => b.borrowerId === id)?.site;
    const flagged = rec.of('borrower.flagged').map((f) => siteOf(f.borrowerId));
    expect(flagged).toContainEqual(expect.stringContaining(at('LEAK-LINE')));
    // Queries that hold for milliseconds are never flagged.
    expect(flagged.filter((s) => s?.includes(at('WAITER-LINE')))).toEqual([]);
  });
});

describe.skipIf(ENGINES[0]!.skip)('poolscope attach: a worker thread with its own pool', () => {
  const WORKER_APP = join(APPS, 'worker-app.cjs');

  it("shows the worker's pool as a source of its own (same pid, its thread id), its leak flagged at the worker's line", async () => {
    await service.handle('leak.threshold', { ms: 500 });
    const env = { APP_DB_URL: pgUrl(), POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json'), HOLD_MS: '1500' };
    // One process, whose two threads each made a pool.
    const { bare } = await bareAndAttached(WORKER_APP, env, /^poolscope: attached to 1 process: 2 pools, 2 connections, 3 borrowers, \d+ statements, 0 events dropped$/);
    expect(bare.stdout).toContain('worker select 2');

    await rec.waitFor('source.detached', () => rec.of('source.detached').length === 2);
    const sources = rec.of('source.attached');
    expect(sources).toHaveLength(2);
    const main = sources.find((s) => s.thread === null)!;
    const worker = sources.find((s) => s.thread !== null)!;
    expect(worker.pid).toBe(main.pid);
    expect(worker.thread).toBeGreaterThanOrEqual(1);

    const poolOf = (sourceId: string) => rec.of('source.pooled').filter((p) => p.sourceId === sourceId).map((p) => p.poolId);
    expect(poolOf(main.sourceId)).toHaveLength(1);
    expect(poolOf(worker.sourceId)).toHaveLength(1);
    const settings = (poolId: string) => rec.of('pool.created').find((p) => p.poolId === poolId)?.settings.max;
    expect(settings(poolOf(main.sourceId)[0]!)).toBe(1);
    expect(settings(poolOf(worker.sourceId)[0]!)).toBe(2);

    // Each thread's borrowers in its own pool, at its own lines, labelled with the thread.
    const enqueued = rec.of('borrower.enqueued');
    const inPool = (poolId: string) => enqueued.filter((b) => b.poolId === poolId);
    expect(inPool(poolOf(main.sourceId)[0]!).map((b) => [b.site, b.label])).toEqual([[expect.stringContaining(`attach-apps/worker-app.cjs:${lineOf(WORKER_APP, 'MAIN-LINE')}`), `pid ${main.pid}`]]);
    const workers = inPool(poolOf(worker.sourceId)[0]!);
    expect(workers).toHaveLength(2);
    for (const b of workers) expect(b.label).toBe(`pid ${worker.pid} thread ${worker.thread}`);
    const leakSite = `attach-apps/worker-app.cjs:${lineOf(WORKER_APP, 'WORKER-LEAK-LINE')}`;
    const flagged = rec.of('borrower.flagged').map((f) => enqueued.find((b) => b.borrowerId === f.borrowerId));
    expect(flagged.map((b) => b?.site)).toEqual([expect.stringContaining(leakSite)]);
    expect(flagged[0]?.poolId).toBe(poolOf(worker.sourceId)[0]);

    // Both threads gone: nothing of either is left.
    const live = engine.log.live;
    for (const s of sources) expect(live.sources[s.sourceId]?.status).toBe('detached');
    expect(Object.values(live.connections)).toEqual([]);
    expect(Object.values(live.borrowers)).toEqual([]);
    expect(rec.violations).toEqual([]);
  });
});

describe.skipIf(ENGINES[1]!.skip)('poolscope attach: mysql2 createPoolCluster on mysql', () => {
  const CLUSTER_APP = join(APPS, 'mysql-cluster-app.mjs');
  const at = (marker: string) => `attach-apps/mysql-cluster-app.mjs:${lineOf(CLUSTER_APP, marker)}`;

  it("shows each member pool as a pool of its own, labelled with its member id, its borrowers at the app's lines", async () => {
    const env = { APP_DB_URL: mysqlUrl, POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json') };
    const bare = await run([CLUSTER_APP], env);
    const running = run([CLI, 'attach', '--', process.execPath, CLUSTER_APP], { ...env, HOLD_MS: '3000' });
    // While the app holds its connections: a lane per member pool, labelled with its member id.
    const lanes = await vi.waitFor(
      () => {
        const shown = buildPicture(engine.log.live).lanes.filter((l) => l.counts.borrowed > 0);
        // All three held: the replica's second borrow may come a moment after the first lanes show.
        if (shown.length < 2 || shown.reduce((n, l) => n + l.counts.borrowed, 0) < 3) throw new Error('not yet three connections held in two lanes');
        return shown;
      },
      { timeout: 15_000, interval: 50 },
    );
    const attached = await running;
    expect(bare.code).toBe(3);
    expect(attached.code).toBe(3);
    expect(attached.stdout).toBe(bare.stdout);
    expect(bare.stdout).toContain('replica 2 true');
    expect(attached.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^poolscope: attached to 1 process: 2 pools, 3 connections, 3 borrowers, \d+ statements, 0 events dropped$/)]);

    await rec.waitFor('source.detached');
    const pooled = rec.of('source.pooled');
    expect(pooled).toHaveLength(2);
    const created = pooled.map((p) => rec.of('pool.created').find((c) => c.poolId === p.poolId)!);
    expect(created.map((c) => [c.target.display, c.settings.max])).toEqual([
      [expect.stringMatching(/^mysql:\/\/root@127\.0\.0\.1:\d+\/test \[cluster member primary\]$/), 1],
      [expect.stringMatching(/^mysql:\/\/root@127\.0\.0\.1:\d+\/test \[cluster member replica\]$/), 2],
    ]);
    const [primary, replica] = created.map((c) => c.poolId);
    const sitesIn = (poolId: string | undefined) => rec.of('borrower.enqueued').filter((b) => b.poolId === poolId).map((b) => b.site);
    expect(sitesIn(primary)).toEqual([expect.stringContaining(at('PRIMARY-LINE'))]);
    expect(sitesIn(replica)).toEqual([expect.stringContaining(at('REPLICA-LINE')), expect.stringContaining(at('REPLICA-LINE-2'))]);
    const conns = (poolId: string | undefined) => rec.of('connection.connecting').filter((c) => c.poolId === poolId).length;
    expect([conns(primary), conns(replica)]).toEqual([1, 2]);
    expect(lanes.map((l) => [l.poolId, l.label, l.detail?.text, l.counts.borrowed])).toEqual([
      [primary, expect.stringMatching(/^app pid \d+$/), expect.stringMatching(/^127\.0\.0\.1:\d+\/test \[cluster member primary\]$/), 1],
      [replica, expect.stringMatching(/^app pid \d+$/), expect.stringMatching(/^127\.0\.0\.1:\d+\/test \[cluster member replica\]$/), 2],
    ]);
    // cluster.end() ended both.
    for (const id of [primary, replica]) expect(engine.log.live.pools[id!]?.status).toBe('ended');
    expect(rec.violations).toEqual([]);
  });
});

// `--site-budget N`: a burst of borrows beyond the budget; the first borrowers carry the app's
// line, the rest read "not sampled", and the summary line and the source count them.
describe.skipIf(ENGINES[0]!.skip)('poolscope attach --site-budget on postgres', () => {
  it('captures call sites within the budget and shows the other borrowers as not sampled, counted', async () => {
    const env = { APP_DB_URL: pgUrl(), POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json'), BURST: '60' };
    const r = await run([CLI, 'attach', '--site-budget', '5', '--', process.execPath, BURST_APP], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('borrows 60\n');
    const summary = /^poolscope: attached to 1 process: 1 pool, \d+ connections?, 60 borrowers, \d+ statements, 0 events dropped, (\d+) borrowers? not sampled \(site budget 5\/s\)$/;
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(summary)]);
    const reported = Number(summary.exec(r.stderr.trim())![1]);

    await rec.waitFor('source.detached');
    const sites = rec.of('borrower.enqueued').map((b) => b.site);
    expect(sites).toHaveLength(60);
    // All 60 asked in one turn: the budget's 5 went to the first five, the rest are not sampled.
    const line = new RegExp(`attach-apps/burst-app\\.cjs:${lineOf(BURST_APP, 'BURST-LINE')}\\)?$`);
    expect(sites.slice(0, 5)).toEqual(Array(5).fill(expect.stringMatching(line)));
    expect(sites.slice(5)).toEqual(Array(55).fill('not sampled (site budget 5/s)'));
    expect(reported).toBe(55);
    // What the Attached processes panel shows for the process.
    const [row] = attachedRows(engine.log.live);
    expect(row?.source).toMatchObject({ siteBudget: 5, notSampled: 55 });
    expect(rec.violations).toEqual([]);
  });

  it('captures 100 call sites a second without the option: a burst of 150 has 100 at its line and 50 not sampled', async () => {
    const env = { APP_DB_URL: pgUrl(), POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json'), BURST: '150' };
    const r = await run([CLI, 'attach', '--', process.execPath, BURST_APP], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^poolscope: attached to 1 process: 1 pool, \d+ connections?, 150 borrowers, \d+ statements, 0 events dropped, 50 borrowers not sampled \(site budget 100\/s\)$/)]);
    await rec.waitFor('source.detached');
    const line = new RegExp(`attach-apps/burst-app\\.cjs:${lineOf(BURST_APP, 'BURST-LINE')}\\)?$`);
    const sites = rec.of('borrower.enqueued').map((b) => b.site);
    expect(sites.slice(0, 100)).toEqual(Array(100).fill(expect.stringMatching(line)));
    expect(sites.slice(100)).toEqual(Array(50).fill('not sampled (site budget 100/s)'));
    expect(attachedRows(engine.log.live)[0]?.source).toMatchObject({ siteBudget: 100, notSampled: 50 });
  });

  it('counts every borrower served past the budget, though those served within a batch arrive folded into one row each', async () => {
    const env = { APP_DB_URL: pgUrl(), POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json'), BURST: '0', SERIAL: '400' };
    const r = await run([CLI, 'attach', '--site-budget', '5', '--', process.execPath, BURST_APP], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('borrows 0\nqueries 400\n');
    await rec.waitFor('source.detached');
    // The five sampled borrowers (and any not served within a batch) arrive whole, the rest as summaries.
    const whole = rec.of('borrower.enqueued').length;
    const folded = rec.of('borrower.summary').reduce((n, e) => n + e.served, 0);
    expect(whole).toBeGreaterThanOrEqual(5);
    expect(folded).toBeGreaterThan(200);
    expect(whole + folded).toBe(400);
    // What the pool's counters show: the app's 400 borrows and statements, none lost to the fold.
    expect(engine.log.live.counters).toMatchObject({ enqueued: 400, acquired: 400, released: 400, statements: 400, statementErrors: 0 });
    expect(rec.violations).toEqual([]);
  });

  it('captures every borrower at its line with --site-budget all, and the summary line says nothing of sampling', async () => {
    const env = { APP_DB_URL: pgUrl(), POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json'), BURST: '150' };
    const r = await run([CLI, 'attach', '--site-budget', 'all', '--', process.execPath, BURST_APP], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^poolscope: attached to 1 process: 1 pool, \d+ connections?, 150 borrowers, \d+ statements, 0 events dropped$/)]);
    await rec.waitFor('source.detached');
    const line = new RegExp(`attach-apps/burst-app\\.cjs:${lineOf(BURST_APP, 'BURST-LINE')}\\)?$`);
    expect(rec.of('borrower.enqueued').map((b) => b.site)).toEqual(Array(150).fill(expect.stringMatching(line)));
    expect(attachedRows(engine.log.live)[0]?.source).toMatchObject({ siteBudget: null, notSampled: 0 });
  });

  it('refuses a budget that is not a whole number from 1 or all (exit 2), naming the option', async () => {
    for (const bad of ['0', '-3', 'fast', '2.5']) {
      const r = await run([CLI, 'attach', `--site-budget=${bad}`, '--', process.execPath, '-e', 'process.exit(0)'], { POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json') });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--site-budget must be a whole number of call sites per second from 1, such as 100, or all, not "${bad}"`);
    }
    expect(rec.of('source.attached')).toEqual([]);
  });
});

describe.skipIf(ENGINES[0]!.skip)('poolscope check and a site budget in the environment', () => {
  it("names a long holder's line though the budget would have left it unsampled", async () => {
    // A budget of 1 would go to the first of three borrowers: the last, which holds 700 ms, would not be sampled.
    const r = await run([CLI, 'check', '--hold-threshold', '300ms', '--', process.execPath, BURST_APP], { APP_DB_URL: pgUrl(), BURST: '3', HOLD_MS: '700', POOLSCOPE_SITE_BUDGET: '1' });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`long-hold  borrow \\(attach-apps/burst-app\\.cjs:${lineOf(BURST_APP, 'BURST-LINE')}\\)`));
    expect(r.stderr).not.toContain('not sampled');
  });
});
