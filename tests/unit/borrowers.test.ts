import { describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../shared/events';
import { poolCounts } from '../../shared/snapshot';
import { ManualClock } from '../../main/engine/clock';
import { EventLog } from '../../main/engine/event-log';
import { ConnectionTracker } from '../../main/engine/pool/connection-tracker';
import { InstrumentedPool } from '../../main/engine/pool/instrumented-pool';
import { poolSettings } from '../../main/engine/pool/pool-settings';
import { targetInfo, parseTargetUrl, specScrubber } from '../../main/engine/target-spec';
import { MemoryDriver } from './helpers/memory-driver';

function setup(max: number, acquireTimeoutMs: number) {
  const clock = new ManualClock();
  const log = new EventLog(clock);
  const spec = parseTargetUrl('mysql://app:pw@db.local:3306/shop');
  const settings = poolSettings('mysql', { max, acquireTimeoutMs });
  const tracker = new ConnectionTracker(log, clock, 'p1', settings, specScrubber(spec));
  const driver = new MemoryDriver(settings, tracker);
  const seen: PoolEvent[] = [];
  log.subscribe((e) => seen.push(e));
  // What listeners are handed by the end of this turn of the event loop.
  const events = () => (log.deliver(), seen);
  const pool = new InstrumentedPool({ id: 'p1', spec, target: targetInfo(spec), driver, tracker, log, clock });
  return { clock, log, events, driver, pool };
}

describe('borrower bookkeeping (manual clock)', () => {
  it('times a waiting borrower out exactly at its deadline, with the pool state in the message', async () => {
    const { clock, log, events, pool } = setup(1, 1_000);
    const holder = await pool.borrow({ label: 'holder' });
    const t0 = clock.now();
    const waiting = pool.borrow({ label: 'late' }).catch((e: Error) => e);
    expect(log.live.waiting).toHaveLength(1);
    expect(Object.values(log.live.borrowers).find((b) => b.label === 'late')?.deadline).toBe(t0 + 1_000);

    clock.advance(999);
    expect(log.live.counters.timedOut).toBe(0);
    clock.advance(1);
    const err = await waiting;
    expect(err).toMatchObject({ code: 'acquire-timeout' });
    expect((err as Error).message).toContain('Timed out after 1000 ms');
    expect((err as Error).message).toContain('total 1, borrowed 1, idle 0, connecting 0, waiting 0 others; max 1');
    const ev = events().find((e) => e.type === 'borrower.timedout');
    expect(ev).toMatchObject({ waitedMs: 1_000 });
    expect(log.live.waiting).toEqual([]);
    holder.release();
  });

  it('times out borrowers who joined the line at different moments, each at its own deadline', async () => {
    const { clock, log, pool } = setup(1, 1_000);
    const holder = await pool.borrow();
    const outcomes: string[] = [];
    const wait = (label: string) => pool.borrow({ label }).then(() => outcomes.push(`${label} served`), () => outcomes.push(`${label} timed out`));
    const first = wait('first');
    clock.advance(300);
    const second = wait('second');
    clock.advance(300);
    const third = wait('third');

    clock.advance(400); // t = 1000: the first is due
    await first;
    expect(outcomes).toEqual(['first timed out']);
    clock.advance(299);
    await Promise.resolve();
    expect(outcomes).toEqual(['first timed out']);
    clock.advance(1); // t = 1300: the second is due
    await second;
    holder.release(); // the third is served before its deadline and must not be timed out
    await third;
    clock.advance(1_000);
    expect(outcomes).toEqual(['first timed out', 'second timed out', 'third served']);
    expect(log.live.counters.timedOut).toBe(2);
  });

  it('gives back a connection the driver hands to a borrower that already timed out', async () => {
    const { clock, log, driver, pool } = setup(1, 500);
    const holder = await pool.borrow();
    const late = pool.borrow().catch(() => 'timed out');
    clock.advance(500);
    expect(await late).toBe('timed out');
    expect(driver.queue).toHaveLength(1); // mysql2 keeps the stale callback
    holder.release(); // ... and hands the connection to it
    expect(driver.released).toBe(2);
    expect(driver.free).toHaveLength(1);
    expect(poolCounts(log.live, 'p1')).toMatchObject({ total: 1, idle: 1, borrowed: 0, waiting: 0 });
  });

  it('keeps waiters in the order they asked and measures each wait from its own call', async () => {
    const { clock, log, events, pool } = setup(1, 0);
    const holder = await pool.borrow();
    const order: string[] = [];
    const waits = [0, 1, 2].map((i) => {
      clock.advance(10);
      return pool.borrow({ label: `w${i}` }).then((l) => {
        order.push(`w${i}`);
        return l;
      });
    });
    expect(log.live.waiting.map((id) => log.live.borrowers[id]?.label)).toEqual(['w0', 'w1', 'w2']);
    clock.advance(70);
    holder.release();
    const w0 = await waits[0];
    clock.advance(5);
    w0?.release();
    const w1 = await waits[1];
    w1?.release();
    (await waits[2])?.release();
    expect(order).toEqual(['w0', 'w1', 'w2']);
    const waited = events().filter((e) => e.type === 'borrower.acquired').map((e) => ('waitedMs' in e ? e.waitedMs : -1));
    // holder waited 0; w0 asked at +10 and got it at +100; w1 at +20 → +105; w2 at +30 → +105.
    expect(waited).toEqual([0, 90, 85, 75]);
    expect(log.live.acquireWait.total).toBe(4);
  });

  it('fails every waiter with pool ended when the pool ends, and refuses new borrowers', async () => {
    const { log, pool } = setup(1, 0);
    await pool.borrow();
    const a = pool.borrow().catch((e: { code: string }) => e.code);
    const b = pool.borrow().catch((e: { code: string }) => e.code);
    await pool.end();
    expect(await Promise.all([a, b])).toEqual(['pool-ended', 'pool-ended']);
    await expect(pool.borrow()).rejects.toMatchObject({ code: 'pool-ended' });
    const c = log.live.counters;
    expect(c.enqueued).toBe(c.acquired + c.timedOut + c.failed);
    expect(log.live.pools.p1?.status).toBe('ended');
  });

  it('captures the call site that asked for the connection', async () => {
    const { log, pool } = setup(2, 0);
    const lease = await pool.borrow();
    expect(log.live.borrowers[lease.borrowerId]?.site).toMatch(/borrowers\.test\.ts:\d+/);
  });

  it('turns BEGIN/COMMIT on the wire into tx events and a pinned connection', async () => {
    const { log, pool } = setup(1, 0);
    const lease = await pool.borrow();
    await lease.query('BEGIN');
    expect(log.live.connections[lease.connId]?.state).toBe('in-transaction');
    await lease.query('UPDATE x SET y = 1');
    expect(log.live.connections[lease.connId]?.txStatements).toBe(1);
    await lease.query('COMMIT');
    expect(log.live.connections[lease.connId]?.state).toBe('borrowed');
    expect(log.live.counters).toMatchObject({ txBegan: 1, txCommitted: 1, statements: 3 });
  });

  it('answers a borrower whose driver throws instead of calling back, and leaves no one waiting', async () => {
    const { log, driver, pool } = setup(1, 1_000);
    driver.acquire = () => {
      throw new Error('connectionLimit must be a number');
    };
    await expect(pool.borrow({ label: 'unlucky' })).rejects.toThrow(/connectionLimit must be a number/);
    expect(log.live.waiting).toEqual([]);
    expect(log.live.counters.failed).toBe(1);
    await pool.drain();
  });

  it('takes the first answer of a driver that answers a statement twice', async () => {
    const { log, events, driver, pool } = setup(1, 0);
    driver.query = (_c, _sql, _params, done) => {
      done(new Error('could not serialise the value'));
      done(null, { rows: [], affected: null, insertId: null });
    };
    const lease = await pool.borrow();
    await expect(lease.query('SELECT $1', [1])).rejects.toThrow(/could not serialise/);
    expect(events().filter((e) => e.type === 'statement.finished')).toHaveLength(1);
    lease.release();
    expect(log.live.counters).toMatchObject({ statements: 1, statementErrors: 1 });
  });
});
