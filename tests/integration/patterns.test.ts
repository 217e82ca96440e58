import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { ENGINES, mysqlUrl, pgUrl } from './helpers/servers';

// The patterns are engine-neutral code, but BEGIN/COMMIT and the wire's transaction status
// are not (pg's ReadyForQuery, mysql2's OK and EOF packets): run on both.
describe.each(ENGINES)('the long transaction next to its fix on $engine (demo schema)', ({ engine, skip }) => {
  let service: PoolscopeService | null = null;
  afterEach(async () => {
    await service?.stop();
    service = null;
  });
  const start = async (max: number) => {
    service = new PoolscopeService(await Engine.start({ target: engine === 'postgres' ? pgUrl() : mysqlUrl, settings: { max, acquireTimeoutMs: 10_000 } }));
    // The embedded PostgreSQL has the demo shop; on MariaDB it is installed when missing (never dropped: shared).
    if (engine === 'mysql') expect((await service.handle('demo.install', undefined)).ok).toBe(true);
    return { s: service, rec: new Recorder(service.engine) };
  };

  it.skipIf(skip)('keeps connections pinned across the payment call in one pattern, and hardly at all in the other', async () => {
    const { s, rec } = await start(4);
    expect(await s.handle('pattern.start', { concurrency: 4, paymentMs: 200, emailMs: 100 })).toEqual({ ok: true, res: null });
    // Four intervals after the warm-up (2.6 s here unloaded), however slow the machine.
    await rec.waitFor('pattern.stats', () => rec.of('pattern.stats').length >= 5, 30_000);
    expect(await s.handle('pattern.stop', undefined)).toEqual({ ok: true, res: null });
    const stats = rec.of('pattern.stats').slice(1); // the first interval is the warm-up
    const mean = (f: (s: (typeof stats)[number]) => number) => stats.reduce((n, s) => n + f(s), 0) / stats.length;
    expect(stats.length).toBeGreaterThanOrEqual(3);
    expect(mean((s) => s.inTransaction.ok)).toBeGreaterThan(0);
    expect(mean((s) => s.afterCommit.ok)).toBeGreaterThan(0);
    // Pinned across 300 ms of calls, the bad pattern holds the pool; the good one releases first.
    expect(mean((s) => s.inTransaction.holding)).toBeGreaterThan(2 * mean((s) => s.afterCommit.holding));
    expect(mean((s) => s.inTransaction.failed + s.afterCommit.failed)).toBe(0);
    expect(s.engine.log.live.patterns?.running).toBe(false);
    console.log(
      `patterns (${engine}): holding in-tx ${mean((s) => s.inTransaction.holding).toFixed(2)} vs after-commit ${mean((s) => s.afterCommit.holding).toFixed(2)}; ` +
        `ok/interval ${mean((s) => s.inTransaction.ok).toFixed(1)} vs ${mean((s) => s.afterCommit.ok).toFixed(1)}; waiting ${mean((s) => s.inTransaction.waiting).toFixed(1)} vs ${mean((s) => s.afterCommit.waiting).toFixed(1)}`,
    );
  });

  it.skipIf(skip)('stop takes the waiting checkouts out of the line at once (cancelled); the holders commit, and the pool serves on', async () => {
    const { s, rec } = await start(2);
    // 20 checkouts on 2 connections, each pinned for 1.5 s: most of them wait.
    await s.handle('pattern.start', { concurrency: 10, paymentMs: 1_000, emailMs: 500 });
    await rec.waitFor('tx.began', () => s.engine.log.live.waiting.length >= 10);
    const waiting = [...s.engine.log.live.waiting];
    const acquiredBefore = new Set(rec.of('borrower.acquired').map((e) => e.borrowerId));

    expect(await s.handle('pattern.stop', undefined)).toEqual({ ok: true, res: null });
    // Every borrower waiting at the stop left as cancelled, and none of them was served.
    expect(rec.of('borrower.cancelled').map((e) => e.borrowerId).sort()).toEqual([...waiting].sort());
    expect(rec.of('borrower.acquired').filter((e) => waiting.includes(e.borrowerId))).toEqual([]);
    // Those holding a connection finished their checkout: committed, not failed.
    expect(rec.of('borrower.acquired').filter((e) => !acquiredBefore.has(e.borrowerId))).toEqual([]);
    expect(s.engine.log.live.counters).toMatchObject({ failed: 0, timedOut: 0, txRolledBack: 0 });
    expect(s.engine.log.live.waiting).toEqual([]);
    await expect.poll(() => s.engine.pool.driverCounts().waiting, { timeout: 5_000 }).toBe(0);
    rec.expectConsistent();
    expect((await s.engine.pool.query('SELECT 1 AS one')).rows).toHaveLength(1);
  });
});
