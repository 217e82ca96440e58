import { afterEach, describe, expect, it } from 'vitest';
import type { LoadStats } from '../../shared/snapshot';
import { poolCounts } from '../../shared/snapshot';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { ENGINES, mysqlUrl, pgUrl } from './helpers/servers';
import { sleep } from './helpers/start';

// The load driver is engine-neutral code, but what it drives is not: pg-pool and mysql2
// queue, hand out and time out differently (pg hands a released connection on inside the
// release, mysql2 in a later tick; mysql2 has no acquire timeout of its own).
describe.each(ENGINES)('load on $engine', ({ engine, skip }) => {
  let service: PoolscopeService | null = null;
  afterEach(async () => {
    await service?.stop();
    service = null;
  });
  const start = async (max = 10, acquireTimeoutMs = 10_000) => {
    service = new PoolscopeService(await Engine.start({ target: engine === 'postgres' ? pgUrl() : mysqlUrl, settings: { max, acquireTimeoutMs } }));
    // The embedded PostgreSQL has the demo shop; on MariaDB it is installed when missing (never dropped: shared).
    if (engine === 'mysql') expect((await service.handle('demo.install', undefined)).ok).toBe(true);
    return { s: service, rec: new Recorder(service.engine) };
  };
  const stats = (rec: Recorder): LoadStats[] => rec.of('load.stats');

  it.skipIf(skip)('backpressure: 50 requests arrive at once on a pool of 10, 40 wait, none are lost', async () => {
    const { s, rec } = await start(10);
    const poolId = s.engine.pool.id;
    // Once all ten connections are handed out, the rest of the spike waits in line.
    const releasedBefore = s.engine.log.live.counters.released;
    let waitingWhenFull = -1;
    let doneWhenFull = -1;
    const off = s.engine.log.subscribe(() => {
      const c = poolCounts(s.engine.log.live, poolId);
      if (waitingWhenFull < 0 && c.borrowed === 10) {
        waitingWhenFull = c.waiting;
        doneWhenFull = s.engine.log.live.counters.released - releasedBefore;
      }
    });
    // Long enough that, here, none is done before the last of the ten handshakes.
    expect(await s.handle('load.spike', { count: 50, query: 'sleep', sleepMs: 600 })).toEqual({ ok: true, res: null });
    await rec.waitFor('borrower.released', () => s.engine.log.live.counters.released >= releasedBefore + 50);
    off();
    // 40, unless a slow handshake let a first holder finish before the tenth connection opened:
    // every request is either held, done or in the line.
    expect(waitingWhenFull).toBe(40 - doneWhenFull);
    expect(doneWhenFull).toBeLessThan(10);
    const c = s.engine.log.live.counters;
    expect(c.timedOut + c.failed).toBe(0);
    expect(Object.keys(s.engine.log.live.connections)).toHaveLength(10);
  });

  it.skipIf(skip)('open loop: requests arrive at the chosen rate, and arrivals beyond the in-flight cap are shed and counted', async () => {
    const { s, rec } = await start(2);
    await s.handle('load.start', { concurrency: 4, rate: 200, query: 'sleep', sleepMs: 100 });
    // Until more than 20 were served (1.6 s here unloaded), however slow the machine.
    await rec.waitFor('load.stats', () => stats(rec).reduce((n, x) => n + x.requests, 0) > 20, 20_000);
    await s.handle('load.stop', undefined);
    const all = stats(rec);
    const requests = all.reduce((n, x) => n + x.requests, 0);
    const shed = all.reduce((n, x) => n + x.shed, 0);
    // 4 in flight at 100 ms each serve at most ~40/s of the 200/s that arrive.
    expect(requests).toBeGreaterThan(20);
    expect(shed).toBeGreaterThan(requests);
    expect(Math.max(...all.map((x) => x.inFlight))).toBeLessThanOrEqual(4);
  });

  it.skipIf(skip)('in flight counts requests under way, not clients pausing after a timeout', async () => {
    // Both connections leaked: each of the 2 clients waits 100 ms, times out, pauses 100 ms, asks
    // again; the 500 ms stats ticks fall in the pauses about half the time.
    const { s, rec } = await start(2, 100);
    expect((await s.handle('leak.inject', { count: 2 })).ok).toBe(true);
    const poolId = s.engine.pool.id;
    const seen: { inFlight: number; waiting: number }[] = [];
    const off = s.engine.log.subscribe((e) => {
      if (e.type === 'load.stats') seen.push({ inFlight: e.inFlight, waiting: poolCounts(s.engine.log.live, poolId).waiting });
    });
    await s.handle('load.start', { concurrency: 2, query: 'select1' });
    await rec.waitFor('load.stats', () => seen.length >= 8, 20_000);
    off();
    await s.handle('load.stop', undefined);
    // No connection is free: a request under way is a borrower in line, and a pausing client is neither.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((x) => x.inFlight !== x.waiting)).toEqual([]);
  });

  it.skipIf(skip)('changes concurrency while running', async () => {
    const { s, rec } = await start(10);
    const borrowed = () => poolCounts(s.engine.log.live, s.engine.pool.id).borrowed;
    await s.handle('load.start', { concurrency: 2, query: 'sleep', sleepMs: 100 });
    await rec.waitFor('statement.started', () => borrowed() === 2);
    await s.handle('load.start', { concurrency: 6, query: 'sleep', sleepMs: 100 });
    await rec.waitFor('statement.started', () => borrowed() === 6);
    await s.handle('load.start', { concurrency: 1, query: 'sleep', sleepMs: 100 });
    await sleep(400);
    expect(borrowed()).toBeLessThanOrEqual(1);
    expect(s.engine.log.live.load).toMatchObject({ running: true, concurrency: 1 });
  });

  it.skipIf(skip)('1 in N requests forgets to release: the pool dries up, the leaked rows point at the handler', async () => {
    const { s, rec } = await start(4);
    await s.handle('load.start', { concurrency: 2, query: 'select1', leakOneIn: 10 });
    await rec.waitFor('borrower.acquired', () => Object.values(s.engine.log.live.borrowers).filter((b) => b.label.endsWith('(leaked)')).length >= 4, 20_000);
    const leaked = Object.values(s.engine.log.live.borrowers).filter((b) => b.label.endsWith('(leaked)'));
    expect(leaked.every((b) => /handleRequestWithoutFinally \(load\/leaky-handler\.ts:\d+\)/.test(b.site))).toBe(true);
    expect(poolCounts(s.engine.log.live, s.engine.pool.id)).toMatchObject({ total: 4, borrowed: 4 });
  });

  it.skipIf(skip)('runs the order write transaction on one connection, and reports a bad custom statement without stopping', async () => {
    const { s, rec } = await start(4);
    const orders = async () => Number((((await s.engine.pool.query('SELECT count(*) AS n FROM orders')).rows[0] as { n: unknown }).n));
    const before = await orders();
    await s.handle('load.start', { concurrency: 2, query: 'order' });
    await rec.waitFor('tx.ended', () => s.engine.log.live.counters.txCommitted >= 10);
    await s.handle('load.start', { concurrency: 2, query: 'custom', sql: 'SELECT * FROM no_such_table' });
    await rec.waitFor('statement.finished', (e) => e.error !== null && /no_such_table/.test(e.error));
    await s.handle('load.stop', undefined);
    expect(await orders()).toBeGreaterThanOrEqual(before + 10);
    expect(stats(rec).some((x) => x.failed > 0)).toBe(true);
    expect(await s.handle('load.start', { concurrency: 1, query: 'custom', sql: 'SELECT 1; DROP TABLE books' })).toMatchObject({
      ok: false,
      error: { message: 'load.start: sql: one statement only (no ; between statements)' },
    });
  });

  it.skipIf(skip)('stop takes a spike out of the waiting line at once: each waiter leaves as cancelled, none is served after, and the pool serves on', async () => {
    const SPIKE = 150;
    const MAX = 3;
    const { s, rec } = await start(MAX, 60_000);
    const poolId = s.engine.pool.id;
    // Each holder sleeps 2 s: served one after another, the line would take over a minute and a half.
    await s.handle('load.spike', { count: SPIKE, query: 'sleep', sleepMs: 2_000 });
    await rec.waitFor('borrower.enqueued', () => poolCounts(s.engine.log.live, poolId).waiting === SPIKE - MAX);
    const waiting = [...s.engine.log.live.waiting];
    expect(waiting).toHaveLength(SPIKE - MAX);

    expect(await s.handle('load.stop', undefined)).toEqual({ ok: true, res: null });
    const spike = (id: string) => rec.of('borrower.enqueued').some((e) => e.borrowerId === id && e.label.startsWith('spike #'));
    // Only the first MAX were ever served: stop did not wait for the line.
    expect(rec.of('borrower.acquired').filter((e) => spike(e.borrowerId))).toHaveLength(MAX);
    const cancelled = rec.of('borrower.cancelled');
    expect(cancelled.map((e) => e.borrowerId).sort()).toEqual([...waiting].sort());
    expect(cancelled.every((e) => e.reason === 'the load stopped')).toBe(true);
    // All of them left before the first holder was done with its connection.
    const firstRelease = rec.of('borrower.released').find((e) => spike(e.borrowerId));
    expect(firstRelease).toBeDefined();
    expect(Math.max(...cancelled.map((e) => e.seq))).toBeLessThan(firstRelease?.seq ?? 0);
    // Counted as cancelled, not as failures or timeouts.
    const all = stats(rec);
    expect(all.reduce((n, x) => n + x.cancelled, 0)).toBe(SPIKE - MAX);
    expect(all.reduce((n, x) => n + x.failed + x.timedOut, 0)).toBe(0);
    expect(s.engine.log.live.counters).toMatchObject({ timedOut: 0, failed: 0 });
    expect(s.engine.log.live.waiting).toEqual([]);

    // The driver's own queue still held the cancelled callbacks: each connection handed to one came straight back.
    await expect.poll(() => s.engine.pool.driverCounts().waiting, { timeout: 5_000 }).toBe(0);
    rec.expectConsistent();
    expect((await s.engine.pool.query('SELECT 1 AS one')).rows).toHaveLength(1);
  });
});
