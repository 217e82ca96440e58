import { createRequire } from 'node:module';
import { afterEach, expect, it } from 'vitest';

// The agent's metrics over its recorder (main/agent/metrics.cjs), read from the scrape endpoint
// as Prometheus reads it: the series a pool gets, and that they follow the recorder's state.

const load = createRequire(import.meta.url);
const { Recorder } = load('../../main/agent/recorder.cjs') as { Recorder: new () => AgentRecorder };
const { watchRecorder } = load('../../main/agent/metrics.cjs') as {
  watchRecorder: (rec: AgentRecorder, guard: <T>(fn: () => T) => T | undefined, warn: (m: string) => void, config: object) => { metrics: () => { listening(): { port: number } | null; stop(): Promise<void> } | null };
};

interface Borrower {
  id: number;
}
interface AgentRecorder {
  addPool(info: object): number;
  poolStatus(id: number, status: 'ending' | 'ended'): void;
  openConn(pool: number, serverId: number, connectMs: number): object;
  enqueue(pool: number, site: null): Borrower;
  acquire(b: Borrower, conn: object): void;
  release(b: Borrower, dirty: boolean, destroyed: boolean): void;
}

const info = { host: 'db.internal', port: 5432, database: 'shop', max: 5, min: 1 };
let stop: (() => Promise<void>) | null = null;

afterEach(async () => {
  await stop?.();
  stop = null;
});

async function agent() {
  const rec = new Recorder();
  const warnings: string[] = [];
  const guard = <T>(fn: () => T) => {
    try {
      return fn();
    } catch (err) {
      warnings.push(String(err));
      return undefined;
    }
  };
  const watch = watchRecorder(rec, guard, (m) => warnings.push(m), { port: 0, host: '127.0.0.1', otlp: null, intervalMs: 10_000, leakMs: 1_500, service: 'unit' });
  const scrape = async (metric: string) => {
    const m = watch.metrics();
    if (!m) return [];
    stop ??= () => m.stop();
    for (let i = 0; m.listening() === null && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    const text = await (await fetch(`http://127.0.0.1:${m.listening()?.port}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith(`${metric}{`)).map((l) => l.replace(/,otel_scope_name="poolscope",service_name="unit",host_name="[^"]*",process_pid="\d+"/, ''));
  };
  return { rec, scrape, warnings };
}

it('names a second live pool on the same database #2, and gives an ended pool’s name to the next (a pool per request keeps one series)', async () => {
  const { rec, scrape, warnings } = await agent();
  const first = rec.addPool(info);
  rec.addPool(info);
  expect((await scrape('db_client_connection_max')).sort()).toEqual([
    'db_client_connection_max{db_client_connection_pool_name="db.internal:5432/shop"} 5',
    'db_client_connection_max{db_client_connection_pool_name="db.internal:5432/shop#2"} 5',
  ]);
  rec.poolStatus(first, 'ended');
  rec.addPool({ ...info, max: 7 });
  expect((await scrape('db_client_connection_max')).sort()).toEqual([
    'db_client_connection_max{db_client_connection_pool_name="db.internal:5432/shop"} 7',
    'db_client_connection_max{db_client_connection_pool_name="db.internal:5432/shop#2"} 5',
  ]);
  expect(warnings).toEqual([]);
});

it('counts idle and used connections, waiters and holders past the leak threshold at each scrape, and dirty returns as they happen', async () => {
  const { rec, scrape, warnings } = await agent();
  const pool = rec.addPool(info);
  const a = rec.openConn(pool, 1, 3);
  const b = rec.openConn(pool, 2, 4);
  const holder = rec.enqueue(pool, null);
  rec.acquire(holder, a);
  rec.enqueue(pool, null); // waits
  const dirty = rec.enqueue(pool, null);
  rec.acquire(dirty, b);
  rec.release(dirty, true, false);
  const name = 'db_client_connection_pool_name="db.internal:5432/shop"';
  expect(await scrape('db_client_connection_count')).toEqual([`db_client_connection_count{${name},db_client_connection_state="idle"} 1`, `db_client_connection_count{${name},db_client_connection_state="used"} 1`]);
  expect(await scrape('db_client_connection_pending_requests')).toEqual([`db_client_connection_pending_requests{${name}} 1`]);
  expect(await scrape('poolscope_connection_dirty_returns_total')).toEqual([`poolscope_connection_dirty_returns_total{${name}} 1`]);
  expect(await scrape('db_client_connection_idle_min')).toEqual([`db_client_connection_idle_min{${name}} 1`]);
  expect(await scrape('poolscope_connection_leaked')).toEqual([`poolscope_connection_leaked{${name}} 0`]);
  await new Promise((r) => setTimeout(r, 1_500));
  expect(await scrape('poolscope_connection_leaked')).toEqual([`poolscope_connection_leaked{${name}} 1`]);
  expect(warnings).toEqual([]);
});
