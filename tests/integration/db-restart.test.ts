import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { poolCounts } from '../../shared/snapshot';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';

// The embedded database restarted under load, as the UI's restart does it. This file
// starts its own embedded PostgreSQL (the run's shared one is not the engine's to stop).

let dataDir: string;
let service: PoolscopeService;
let rec: Recorder;
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-restart-'));
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  service = new PoolscopeService(await Engine.start({ embedded: { dataDir }, settings: { max: 10, acquireTimeoutMs: 2_000 } }));
  rec = new Recorder(service.engine);
});

afterAll(async () => {
  rec?.stop();
  await service?.stop();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  await rm(dataDir, { recursive: true, force: true });
});

it('stopping the database under 10 holders and 50 waiters fails each borrower clearly in time; after the restart the pool serves again', async () => {
  const e = service.engine;
  const pool = e.pool;
  const acquireTimeoutMs = pool.settings.acquireTimeoutMs;
  // 10 borrowers hold every connection in a long statement, 50 more wait in line.
  const work = (i: number) => pool.query('SELECT pg_sleep(20)', undefined, { label: `request ${i}` });
  const outcomes = Array.from({ length: 60 }, (_, i) => {
    const started = Date.now();
    return work(i).then(
      () => ({ ok: true as const, ms: Date.now() - started, message: '' }),
      (err: Error) => ({ ok: false as const, ms: Date.now() - started, message: err.message }),
    );
  });
  await rec.waitFor('statement.started', () => poolCounts(e.log.live, pool.id).borrowed === 10 && e.log.live.waiting.length === 50);

  const restartedAt = Date.now();
  const restart = service.handle('db.restart', { downMs: 3_000 });
  const settled = await Promise.all(outcomes);
  expect(settled.every((o) => !o.ok)).toBe(true);
  // Waiters give up by their acquire timeout; holders as soon as the server ends their statement.
  const lastEnd = Math.max(...settled.map((o) => o.ms)) - (restartedAt - Math.min(...settled.map((o) => Date.now() - o.ms)));
  expect(lastEnd).toBeLessThan(acquireTimeoutMs + 5_000);
  for (const o of settled) expect(o.message).toMatch(/terminat|refused|timed out|timeout|lost|shutting down|starting up|closed/i);
  expect((await restart).ok).toBe(true);

  const recovered = await rec.waitFor('fault.recovered', (x) => x.kind === 'restart', 60_000);
  expect(recovered.servedAt).not.toBeNull();
  expect(recovered.lost).toBeGreaterThanOrEqual(10);
  expect(recovered.socketsLeftOpen).toBe(0);
  expect(recovered.failures.reduce((n, f) => n + f.count, 0)).toBeGreaterThanOrEqual(60);
  console.info(`restart: pool served again ${(recovered.servedAt ?? 0) - recovered.startedAt} ms after the stop began (${(recovered.servedAt ?? 0) - (recovered.clearedAt ?? 0)} ms after the server was up)`);

  // The same pool, not a new app: it serves again.
  expect(e.pool).toBe(pool);
  await expect(pool.query('SELECT count(*) FROM books')).resolves.toBeDefined();
  expect(unhandled).toEqual([]);
  rec.expectConsistent();
});

it('after the embedded server was killed (SIGKILL to the postmaster), db.restart brings it back and the pool serves again', async () => {
  const e = service.engine;
  const pool = e.pool;
  await pool.query('SELECT 1');
  const postmaster = Number.parseInt(await readFile(path.join(dataDir, 'pgdata', 'postmaster.pid'), 'utf8'), 10);
  process.kill(postmaster, 'SIGKILL');
  await rec.waitFor('embedded.progressed', (x) => x.phase === 'stopped' && x.message.includes('exited unexpectedly'));
  await expect(pool.query('SELECT 1')).rejects.toThrow();

  const started = Date.now();
  const reply = await service.handle('db.restart', { downMs: 0 });
  expect(reply).toEqual({ ok: true, res: null });
  console.info(`restart of a killed server: answered in ${Date.now() - started} ms`);
  const recovered = await rec.waitFor('fault.recovered', (x) => x.kind === 'restart' && x.startedAt >= started, 30_000);
  expect(recovered.servedAt).not.toBeNull();
  expect(e.pool).toBe(pool);
  await expect(pool.query('SELECT count(*) FROM books')).resolves.toBeDefined();
  expect(unhandled).toEqual([]);
});
