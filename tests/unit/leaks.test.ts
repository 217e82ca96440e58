import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../main/engine/clock';
import { EventLog } from '../../main/engine/event-log';
import { LeakDetector } from '../../main/engine/leak-detector';
import { handleRequestWithoutFinally } from '../../main/engine/load/leaky-handler';
import { ConnectionTracker } from '../../main/engine/pool/connection-tracker';
import { redactUrls } from '../../main/engine/errors';
import { InstrumentedPool } from '../../main/engine/pool/instrumented-pool';
import { poolSettings } from '../../main/engine/pool/pool-settings';
import { parseTargetUrl, targetInfo } from '../../main/engine/target-spec';
import { MemoryDriver } from './helpers/memory-driver';

function setup(max: number, acquireTimeoutMs: number) {
  const clock = new ManualClock();
  const log = new EventLog(clock);
  const spec = parseTargetUrl('postgres://app@db/shop');
  const settings = poolSettings('mysql', { max, acquireTimeoutMs });
  const tracker = new ConnectionTracker(log, clock, 'p1', settings, redactUrls);
  const pool = new InstrumentedPool({ id: 'p1', spec, target: targetInfo(spec), driver: new MemoryDriver(settings, tracker), tracker, log, clock });
  return { clock, log, pool, leaks: new LeakDetector(log, clock) };
}

describe('leaks', () => {
  it('flags a holder exactly when it passes the threshold, without taking its connection', async () => {
    const { clock, log, pool, leaks } = setup(2, 0);
    leaks.set(1_000);
    const kept = await pool.borrow({ label: 'kept' });
    clock.advance(400);
    const quick = await pool.borrow({ label: 'quick' });
    clock.advance(599);
    expect(log.live.counters.leaksFlagged).toBe(0);
    clock.advance(1);
    expect(log.live.borrowers[kept.borrowerId]?.flagged).toBe(true);
    expect(log.live.borrowers[quick.borrowerId]?.flagged).toBe(false);
    quick.release();
    clock.advance(1_000);
    expect(log.live.counters.leaksFlagged).toBe(1);
    expect(log.live.connections[kept.connId]?.borrowerId).toBe(kept.borrowerId);
    leaks.set(0);
    expect(log.live.leakThresholdMs).toBe(0);
  });

  it('diagnoses a timeout behind leaked connections as a leak and names the call site that leaked', async () => {
    const { clock, log, pool } = setup(2, 2_000);
    await handleRequestWithoutFinally(pool, 'leaked request');
    await handleRequestWithoutFinally(pool, 'leaked request');
    clock.advance(3_000);
    const victim = pool.borrow({ label: 'victim' }).then(
      () => null,
      (e: Error) => e,
    );
    clock.advance(2_000);
    const err = await victim;
    const d = log.live.lastTimeout?.diagnosis;
    expect(d).toMatchObject({ cause: 'leak', total: 2, borrowed: 2, idle: 0, waiting: 0 });
    expect(d?.holders).toHaveLength(2);
    expect(d?.holders[0]).toMatchObject({ label: 'leaked request', statement: null, inTransaction: false });
    expect(d?.holders[0]?.site).toMatch(/handleRequestWithoutFinally \(load\/leaky-handler\.ts:\d+\)/);
    expect(err?.message).toMatch(/Likely cause: leak: 2 of 2 holders have run nothing/);
    expect(err?.message).toMatch(/Holders, oldest first:\n {2}leaked request at handleRequestWithoutFinally/);
  });

  it('diagnoses holders that are all running statements as slow queries', async () => {
    const { clock, log, pool } = setup(1, 500);
    const lease = await pool.borrow({ label: 'report' });
    const slow = lease.query('SELECT pg_sleep(10)');
    const victim = pool.borrow().catch(() => undefined);
    clock.advance(500);
    await victim;
    await slow;
    expect(log.live.lastTimeout?.diagnosis.cause).toBe('slow queries');
  });
});
