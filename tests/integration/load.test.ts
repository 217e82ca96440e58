import { afterEach, describe, expect, it } from 'vitest';
import type { LoadStats } from '../../shared/snapshot';
import { poolCounts } from '../../shared/snapshot';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { pgUrl } from './helpers/servers';
import { sleep } from './helpers/start';

describe('load on the embedded PostgreSQL', () => {
  let service: PoolscopeService | null = null;
  afterEach(async () => {
    await service?.stop();
    service = null;
  });
  const start = async (max = 10) => {
    service = new PoolscopeService(await Engine.start({ target: pgUrl(), settings: { max, acquireTimeoutMs: 10_000 } }));
    return { s: service, rec: new Recorder(service.engine) };
  };
  const stats = (rec: Recorder): LoadStats[] => rec.of('load.stats');

  it('backpressure: 50 requests arrive at once on a pool of 10, 40 wait, none are lost', async () => {
    const { s, rec } = await start(10);
    const poolId = s.engine.pool.id;
    // Once all ten connections are handed out, the rest of the spike waits in line.
    let waitingWhenFull = -1;
    const off = s.engine.log.subscribe(() => {
      const c = poolCounts(s.engine.log.live, poolId);
      if (waitingWhenFull < 0 && c.borrowed === 10) waitingWhenFull = c.waiting;
    });
    expect(await s.handle('load.spike', { count: 50, query: 'sleep', sleepMs: 200 })).toEqual({ ok: true, res: null });
    await rec.waitFor('borrower.released', () => s.engine.log.live.counters.released >= 51);
    off();
    expect(waitingWhenFull).toBe(40);
    const c = s.engine.log.live.counters;
    expect(c.timedOut + c.failed).toBe(0);
    expect(Object.keys(s.engine.log.live.connections)).toHaveLength(10);
  });

  it('open loop: requests arrive at the chosen rate, and arrivals beyond the in-flight cap are shed and counted', async () => {
    const { s, rec } = await start(2);
    await s.handle('load.start', { concurrency: 4, rate: 200, query: 'sleep', sleepMs: 100 });
    await sleep(1_600);
    await s.handle('load.stop', undefined);
    const all = stats(rec);
    const requests = all.reduce((n, x) => n + x.requests, 0);
    const shed = all.reduce((n, x) => n + x.shed, 0);
    // 4 in flight at 100 ms each serve at most ~40/s of the 200/s that arrive.
    expect(requests).toBeGreaterThan(20);
    expect(shed).toBeGreaterThan(requests);
    expect(Math.max(...all.map((x) => x.inFlight))).toBeLessThanOrEqual(4);
  });

  it('changes concurrency while running', async () => {
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

  it('1 in N requests forgets to release: the pool dries up, the leaked rows point at the handler', async () => {
    const { s, rec } = await start(4);
    await s.handle('load.start', { concurrency: 2, query: 'select1', leakOneIn: 10 });
    await rec.waitFor('borrower.acquired', () => Object.values(s.engine.log.live.borrowers).filter((b) => b.label.endsWith('(leaked)')).length >= 4, 20_000);
    const leaked = Object.values(s.engine.log.live.borrowers).filter((b) => b.label.endsWith('(leaked)'));
    expect(leaked.every((b) => /handleRequestWithoutFinally \(load\/leaky-handler\.ts:\d+\)/.test(b.site))).toBe(true);
    expect(poolCounts(s.engine.log.live, s.engine.pool.id)).toMatchObject({ total: 4, borrowed: 4 });
  });

  it('runs the order write transaction on one connection, and reports a bad custom statement without stopping', async () => {
    const { s, rec } = await start(4);
    const before = await s.engine.pool.query('SELECT count(*)::int AS n FROM orders');
    await s.handle('load.start', { concurrency: 2, query: 'order' });
    await rec.waitFor('tx.ended', () => s.engine.log.live.counters.txCommitted >= 10);
    await s.handle('load.start', { concurrency: 2, query: 'custom', sql: 'SELECT * FROM no_such_table' });
    await rec.waitFor('statement.finished', (e) => e.error !== null && /no_such_table/.test(e.error));
    await s.handle('load.stop', undefined);
    const after = await s.engine.pool.query('SELECT count(*)::int AS n FROM orders');
    expect((after.rows[0] as { n: number }).n).toBeGreaterThanOrEqual((before.rows[0] as { n: number }).n + 10);
    expect(stats(rec).some((x) => x.failed > 0)).toBe(true);
    expect(await s.handle('load.start', { concurrency: 1, query: 'custom', sql: 'SELECT 1; DROP TABLE books' })).toMatchObject({
      ok: false,
      error: { message: 'load.start: sql: one statement only (no ; between statements)' },
    });
  });
});
