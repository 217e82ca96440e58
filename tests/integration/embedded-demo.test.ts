import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Commands } from '../../shared/api';
import { joinServerView } from '../../shared/server-join';
import { DEMO_ROLE } from '../../main/engine/embedded/demo-role';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';

// The embedded demo as the app runs it: every pool, side pool and the monitor log in as
// the demo role, never as the superuser, and what the demo offers still works with it.
// This file starts its own embedded PostgreSQL (a fresh data dir, as on a first start).

let dataDir: string;
let service: PoolscopeService;
let rec: Recorder;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-demo-role-'));
  service = new PoolscopeService(await Engine.start({ embedded: { dataDir }, settings: { max: 4, acquireTimeoutMs: 10_000 } }));
  rec = new Recorder(service.engine);
});

afterAll(async () => {
  rec?.stop();
  await service?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function call<K extends keyof Commands>(cmd: K, req?: Commands[K]['req']): Promise<Commands[K]['res']> {
  const r = await service.handle(cmd, req);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.res as Commands[K]['res'];
}

it("the pools, side pools and monitor are the demo role's; no superuser session stays open", async () => {
  const e = service.engine;
  expect(e.pool.target.user).toBe(DEMO_ROLE);
  const [me] = (await e.pool.query("SELECT current_user AS name, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super")).rows as { name: string; super: boolean }[];
  expect(me).toEqual({ name: DEMO_ROLE, super: false });

  // The comparison's per-request pool and two app instances' pools, all at once.
  await call('compare.start', { concurrency: 2, query: 'select1' });
  await call('instances.start', { count: 2, poolSize: 2, query: 'sleep', sleepMs: 200 });
  // The inspected pool's sessions say 'poolscope', each side pool's 'poolscope-side <its id>'.
  const sides = [e.log.live.comparison?.perRequestPoolId, ...(e.log.live.instances?.poolIds ?? [])].filter((id) => id !== undefined && id !== null).map((id) => `poolscope-side ${id}`);
  const ours = (app: string | null) => app === 'poolscope' || sides.includes(app ?? '');
  await rec.waitFor('server.observed', (x) => x.sessions.filter((s) => ours(s.application)).length >= 5);
  // A backend still authenticating (the per-request side opens one after another) has no user yet.
  const sessions = (await e.pool.query("SELECT usename AS user, application_name AS app FROM pg_stat_activity WHERE backend_type = 'client backend' AND usename IS NOT NULL")).rows as { user: string; app: string }[];
  await call('instances.stop');
  await call('compare.stop');
  expect(sessions.some((s) => s.app === 'poolscope-monitor')).toBe(true);
  expect(sessions.filter((s) => ours(s.app)).length).toBeGreaterThanOrEqual(5);
  expect(sessions.some((s) => s.app.startsWith('poolscope-side p'))).toBe(true);
  expect(sessions.filter((s) => s.user !== DEMO_ROLE)).toEqual([]);
  // The monitor, as the demo role, still reads every session (pg_read_all_stats).
  expect(e.log.live.server?.note).toBeNull();
});

it('installs the demo schema on request and terminates its own sessions as the demo role', async () => {
  const e = service.engine;
  const tx = await call('tx.begin', { label: 'drop' });
  await call('tx.run', { borrowerId: tx.borrowerId, sql: 'DROP TABLE order_items, orders, inventory, books' });
  await call('tx.commit', { borrowerId: tx.borrowerId });
  expect(await call('demo.install')).toEqual({ created: true });
  expect((await e.pool.query('SELECT count(*)::int AS n FROM books')).rows).toEqual([{ n: 2000 }]);

  const lease = await e.pool.borrow();
  const serverId = lease.serverId as number;
  lease.release();
  await rec.waitFor('server.observed', () => joinServerView(e.log.live)?.byConnection[lease.connId]?.session !== null);
  await call('server.terminate', { serverId });
  expect((await rec.waitFor('connection.closed', (x) => x.connId === lease.connId)).reason).toBe('terminated by server');
});
