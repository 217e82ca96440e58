import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { pgUrl } from './helpers/servers';
import { sleep } from './helpers/start';

describe('the long transaction next to its fix (embedded PostgreSQL, demo schema)', () => {
  let service: PoolscopeService | null = null;
  afterEach(async () => {
    await service?.stop();
    service = null;
  });

  it('keeps connections pinned across the payment call in one pattern, and hardly at all in the other', async () => {
    service = new PoolscopeService(await Engine.start({ target: pgUrl(), settings: { max: 4, acquireTimeoutMs: 10_000 } }));
    const rec = new Recorder(service.engine);
    expect(await service.handle('pattern.start', { concurrency: 4, paymentMs: 200, emailMs: 100 })).toEqual({ ok: true, res: null });
    await sleep(2_600);
    expect(await service.handle('pattern.stop', undefined)).toEqual({ ok: true, res: null });
    const stats = rec.of('pattern.stats').slice(1); // the first interval is the warm-up
    const mean = (f: (s: (typeof stats)[number]) => number) => stats.reduce((n, s) => n + f(s), 0) / stats.length;
    expect(stats.length).toBeGreaterThanOrEqual(3);
    expect(mean((s) => s.inTransaction.ok)).toBeGreaterThan(0);
    expect(mean((s) => s.afterCommit.ok)).toBeGreaterThan(0);
    // Pinned across 300 ms of calls, the bad pattern holds the pool; the good one releases first.
    expect(mean((s) => s.inTransaction.holding)).toBeGreaterThan(2 * mean((s) => s.afterCommit.holding));
    expect(mean((s) => s.inTransaction.failed + s.afterCommit.failed)).toBe(0);
    expect(service.engine.log.live.patterns?.running).toBe(false);
    console.log(
      `patterns: holding in-tx ${mean((s) => s.inTransaction.holding).toFixed(2)} vs after-commit ${mean((s) => s.afterCommit.holding).toFixed(2)}; ` +
        `ok/interval ${mean((s) => s.inTransaction.ok).toFixed(1)} vs ${mean((s) => s.afterCommit.ok).toFixed(1)}; waiting ${mean((s) => s.inTransaction.waiting).toFixed(1)} vs ${mean((s) => s.afterCommit.waiting).toFixed(1)}`,
    );
  });
});
