import { describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../shared/events';
import type { Snapshot } from '../../shared/snapshot';
import { ManualClock } from '../../main/engine/clock';
import { EventLog } from '../../main/engine/event-log';
import { LeakDetector } from '../../main/engine/leak-detector';
import { ConnectionTracker } from '../../main/engine/pool/connection-tracker';
import { InstrumentedPool } from '../../main/engine/pool/instrumented-pool';
import type { Lease } from '../../main/engine/pool/lease';
import { poolSettings } from '../../main/engine/pool/pool-settings';
import { parseTargetUrl, specScrubber, targetInfo } from '../../main/engine/target-spec';
import { MemoryDriver } from './helpers/memory-driver';

// Poolscope's own pools record borrowers, statements and releases as the attach agent does
// (main/engine/pool/pool-rows.ts): a borrower served clean between two reads of the ring is
// folded into its connection's summary. Each workload here runs twice on a stepped clock: once
// with a listener that wants every event (nothing folds), once with only listeners that accept
// summaries (the app's own case). The snapshot, which is what the screen shows, must be the same.

type Pool = InstrumentedPool<unknown>;

interface Run {
  clock: ManualClock;
  log: EventLog;
  pool: Pool;
  driver: MemoryDriver;
  /** What a listener accepting summaries was handed. */
  seen: PoolEvent[];
}

function setup(opts: { everyEvent: boolean; max?: number; acquireTimeoutMs?: number }): Run {
  const clock = new ManualClock();
  const log = new EventLog(clock);
  const spec = parseTargetUrl('mysql://app:pw@db.local:3306/shop');
  const settings = poolSettings('mysql', { max: opts.max ?? 3, acquireTimeoutMs: opts.acquireTimeoutMs ?? 0 });
  const tracker = new ConnectionTracker(log, clock, 'p1', settings, specScrubber(spec));
  const driver = new MemoryDriver(settings, tracker);
  const seen: PoolEvent[] = [];
  log.subscribe((e) => seen.push(e), { summaries: true });
  if (opts.everyEvent) log.subscribe(() => {});
  const pool = new InstrumentedPool({ id: 'p1', spec, target: targetInfo(spec), driver, tracker, log, clock }) as Pool;
  return { clock, log, pool, driver, seen };
}

/** Lets the memory driver's answers (microtasks) through. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

/** A borrower served: holds `holdMs` of the stepped clock (the log reads its rows every 16 ms of it). */
async function serve(pool: Pool, clock: ManualClock, holdMs = 1): Promise<void> {
  const lease = await pool.borrow({ label: 'served', site: 'app.ts:1' });
  clock.advance(holdMs);
  await lease.query('SELECT 1');
  lease.release();
}

/** The snapshot but its seq (folding emits fewer events). */
function shown(s: Readonly<Snapshot>): unknown {
  const { seq: _seq, ...rest } = structuredClone(s) as Snapshot;
  return rest;
}

/** The snapshot after `script` with every event, and with folding; and what the folding run handed its listener. */
async function both(script: (run: Run) => Promise<void>, opts: { max?: number; acquireTimeoutMs?: number } = {}) {
  const whole = setup({ everyEvent: true, ...opts });
  await script(whole);
  const folding = setup({ everyEvent: false, ...opts });
  await script(folding);
  return { whole: shown(whole.log.live), folded: shown(folding.log.live), seen: folding.seen, wholeSeen: whole.seen };
}

const count = (events: PoolEvent[], type: PoolEvent['type']) => events.filter((e) => e.type === type).length;

describe('our own pools through the agent’s rows', () => {
  it('folds borrowers served clean between two reads into one summary per connection, and the snapshot is the same', async () => {
    const { whole, folded, seen, wholeSeen } = await both(async ({ pool, clock, log }) => {
      await serve(pool, clock);
      // The connections open first: a borrower that waits while one opens is sent whole.
      await Promise.all(Array.from({ length: 3 }, () => serve(pool, clock)));
      log.fold();
      await Promise.all(Array.from({ length: 30 }, () => serve(pool, clock, 0)));
    });
    expect(folded).toEqual(whole);
    expect(count(wholeSeen, 'borrower.released')).toBe(34);
    const summaries = seen.filter((e) => e.type === 'borrower.summary');
    expect(summaries.reduce((n, e) => n + e.served, 0)).toBeGreaterThanOrEqual(30);
    expect(count(seen, 'borrower.enqueued')).toBeLessThanOrEqual(4);
    expect(summaries.length).toBeLessThanOrEqual(3 + 4);
    expect((whole as Snapshot).counters).toMatchObject({ enqueued: 34, acquired: 34, released: 34, statements: 34 });
  });

  it('sends whole the borrowers a summary cannot stand for: a transaction, a dirty return, a destroyed connection, one held across a read', async () => {
    const script = async ({ pool, clock, log }: Run) => {
      await serve(pool, clock);
      log.fold();
      const tx = await pool.borrow({ label: 'tx' });
      await tx.query('BEGIN');
      await tx.query('UPDATE t SET a = 1');
      await tx.query('COMMIT');
      tx.release();
      await serve(pool, clock);
      const dirty = await pool.borrow({ label: 'dirty' });
      await dirty.query('BEGIN');
      dirty.release();
      const gone = await pool.borrow({ label: 'destroyed' });
      await gone.query('SELECT 1');
      gone.destroy();
      const across = await pool.borrow({ label: 'held across a read' });
      await across.query('SELECT 1');
      clock.advance(50);
      log.fold();
      across.release();
      await serve(pool, clock);
      await settle();
    };
    const { whole, folded, seen } = await both(script);
    expect(folded).toEqual(whole);
    const firstRelease = seen.findIndex((e) => e.type === 'borrower.released');
    const released = seen.slice(firstRelease + 1).filter((e): e is Extract<PoolEvent, { type: 'borrower.released' }> => e.type === 'borrower.released');
    const label = (id: string) => seen.find((e): e is Extract<PoolEvent, { type: 'borrower.enqueued' }> => e.type === 'borrower.enqueued' && e.borrowerId === id)?.label;
    expect(released.map((e) => label(e.borrowerId))).toEqual(['tx', 'dirty', 'destroyed', 'held across a read']);
    expect(released.map((e) => [e.dirty, e.destroyed])).toEqual([[false, false], [true, false], [false, true], [false, false]]);
  });

  it('a timeout in the line keeps the borrowers it lived with whole, and is diagnosed the same', async () => {
    const script = async ({ pool, clock }: Run) => {
      const holder = await pool.borrow({ label: 'holder' });
      const late = pool.borrow({ label: 'late' }).catch((e: Error) => e);
      clock.advance(1_000);
      expect(await late).toMatchObject({ code: 'acquire-timeout' });
      holder.release();
      await serve(pool, clock);
    };
    const { whole, folded, seen } = await both(script, { max: 1, acquireTimeoutMs: 1_000 });
    expect(folded).toEqual(whole);
    expect(seen.find((e) => e.type === 'borrower.timedout')).toMatchObject({ waitedMs: 1_000 });
  });

  it('a listener that needs every event, joining while borrowers hold, gets each of their releases', async () => {
    const run = setup({ everyEvent: false });
    const leases: Lease<unknown>[] = await Promise.all([1, 2].map(() => run.pool.borrow({ label: 'held' })));
    const late: PoolEvent[] = [];
    run.log.subscribe((e) => late.push(e));
    for (const l of leases) l.release();
    await serve(run.pool, run.clock);
    run.log.deliver();
    expect(count(late, 'borrower.released')).toBe(3);
    expect(count(late, 'borrower.summary')).toBe(0);
  });

  it('flags a borrower held past the leak threshold the same way, folding or not', async () => {
    const flagged = async (everyEvent: boolean, thresholdMs: number) => {
      const run = setup({ everyEvent });
      const leaks = new LeakDetector(run.log, run.clock);
      leaks.set(thresholdMs);
      await serve(run.pool, run.clock);
      const leak = await run.pool.borrow({ label: 'leak' });
      // The end of the turn, when the detector hears of it.
      await settle();
      run.clock.advance(thresholdMs - 1);
      await serve(run.pool, run.clock);
      run.clock.advance(1);
      leak.release();
      run.log.deliver();
      leaks.stop();
      return run.seen.filter((e) => e.type === 'borrower.flagged').length;
    };
    for (const everyEvent of [true, false]) {
      expect(await flagged(everyEvent, 1_500)).toBe(1);
      // Below a fold's reach, too: a threshold of 5 ms sees borrowers that would otherwise fold.
      expect(await flagged(everyEvent, 5)).toBeGreaterThanOrEqual(1);
    }
  });

  it('never drops a row: a burst beyond the ring is read as it fills', async () => {
    const { whole, folded, seen } = await both(async ({ pool, clock }) => {
      // Six slots of the ring each (five rows folded where they lie, one summary row): 18,000 rows, beyond its 16,384.
      for (let i = 0; i < 3_000; i++) await serve(pool, clock, 0);
    });
    expect(folded).toEqual(whole);
    const summarised = seen.filter((e) => e.type === 'borrower.summary').reduce((n, e) => n + e.served, 0);
    expect(summarised + count(seen, 'borrower.released')).toBe(3_000);
    expect(summarised).toBeGreaterThan(2_990);
  });
});
