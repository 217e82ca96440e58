import { describe, expect, it } from 'vitest';
import type { Batch } from '../../shared/api';
import { applyBatch, reduce } from '../../shared/reducer';
import { emptySnapshot } from '../../shared/snapshot';
import type { Snapshot } from '../../shared/snapshot';
import { ManualClock } from '../../main/engine/clock';
import { Coalescer } from '../../main/engine/coalescer';
import { LeakDetector } from '../../main/engine/leak-detector';
import { EventLog } from '../../main/engine/event-log';
import { ConnectionTracker } from '../../main/engine/pool/connection-tracker';
import { redactUrls } from '../../main/engine/errors';
import { InstrumentedPool } from '../../main/engine/pool/instrumented-pool';
import { poolSettings } from '../../main/engine/pool/pool-settings';
import { parseTargetUrl, targetInfo } from '../../main/engine/target-spec';
import { MemoryDriver } from './helpers/memory-driver';

function setup(acquireTimeoutMs = 0) {
  const clock = new ManualClock();
  const log = new EventLog(clock);
  const batches: Batch[] = [];
  const coalescer = new Coalescer(log, clock, (b) => (batches.push(b), true));
  const spec = parseTargetUrl('mysql://app@db/shop');
  const settings = poolSettings('mysql', { max: 3, acquireTimeoutMs });
  const tracker = new ConnectionTracker(log, clock, 'p1', settings, redactUrls);
  const pool = new InstrumentedPool({ id: 'p1', spec, target: targetInfo(spec), driver: new MemoryDriver(settings, tracker), tracker, log, clock });
  return { clock, log, pool, batches, coalescer };
}

describe('the coalescer', () => {
  it('folds statement runs into summaries that rebuild exactly the snapshot the engine has', async () => {
    const { clock, log, pool, batches, coalescer } = setup();
    const raw = log.snapshot();
    log.subscribe((e) => reduce(raw, e));
    for (let round = 0; round < 20; round++) {
      const leases = await Promise.all([pool.borrow(), pool.borrow()]);
      for (const [i, lease] of leases.entries()) {
        if (round % 3 === 0) await lease.query('BEGIN');
        await lease.query('SELECT 1');
        await lease.query(`UPDATE t SET n = ${round}`);
        if (round % 3 === 0 && i === 0) await lease.query('COMMIT');
        clock.advance(3);
      }
      leases[1]?.release();
      leases[0]?.release();
      clock.advance(5);
    }
    coalescer.flush();
    const rebuilt = emptySnapshot();
    for (const b of batches) applyBatch(rebuilt, b);
    expect(rebuilt).toEqual(raw);
    expect(log.live).toEqual(raw);

    const sent = batches.reduce((n, b) => n + b.events.length, 0);
    // Everything is folded after the flush: live.seq is the number of raw events.
    expect(sent).toBeLessThan(log.live.seq * 0.8);
    expect(batches.flatMap((b) => b.events).some((e) => e.type === 'statement.summary')).toBe(true);
    // Contiguous: every batch starts where the previous one ended.
    for (let i = 1; i < batches.length; i++) expect(batches[i]?.from).toBe((batches[i - 1]?.to ?? 0) + 1);
  });

  it('folds borrowers served clean into summaries, and rebuilds the engine snapshot under mixed traffic', async () => {
    const { clock, log, pool, batches, coalescer } = setup(40);
    const leaks = new LeakDetector(log, clock);
    leaks.set(30);
    // The reference: every raw event reduced one by one (from the pool's creation on). The
    // engine's own snapshot is folded from the same summarised chunks as the batches, so it
    // is checked against it too.
    const raw = log.snapshot();
    log.subscribe((e) => reduce(raw, e));
    const rebuilt = emptySnapshot();
    let applied = 0;
    // The receiver's view after every batch, not only at the end: a summary must not
    // leave a connection or the line wrong in between.
    const check = (): Snapshot => {
      for (; applied < batches.length; applied++) applyBatch(rebuilt, batches[applied] as Batch);
      return rebuilt;
    };
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < 400; i++) {
      // Five borrowers ask for three connections: a line forms; some wait past their deadline.
      inFlight.push(
        pool
          .borrow({ label: `r${i}` })
          .then(async (lease) => {
            const r = random();
            if (r < 0.1) await lease.query('BEGIN');
            await lease.query('SELECT 1');
            if (r > 0.9) await lease.query('SELECT broken').catch(() => undefined);
            // Mostly short holds; a few long ones get flagged as leaks and make others time out.
            clock.advance(r > 0.5 && r < 0.53 ? 60 : Math.floor(random() * 4));
            if (r < 0.05) await lease.query('COMMIT');
            if (r > 0.97) lease.destroy();
            else lease.release();
          })
          .catch(() => undefined),
      );
      if (inFlight.length >= 5) await inFlight.shift();
      clock.advance(Math.floor(random() * 2));
      if (i % 50 === 0) {
        coalescer.flush();
        expect(check()).toEqual(raw);
        expect(log.live).toEqual(raw);
      }
    }
    await Promise.all(inFlight);
    coalescer.flush();
    expect(check()).toEqual(raw);
    expect(log.live).toEqual(raw);
    const sent = batches.flatMap((b) => b.events);
    const summaries = sent.filter((e) => e.type === 'borrower.summary');
    expect(summaries.reduce((n, e) => n + (e.type === 'borrower.summary' ? e.served : 0), 0)).toBeGreaterThan(50);
    // Every borrower that did not come and go clean still arrives as its own events.
    expect(sent.some((e) => e.type === 'borrower.released' && (e.dirty || e.destroyed))).toBe(true);
    expect(sent.some((e) => e.type === 'borrower.timedout')).toBe(true);
    expect(log.live.counters.leaksFlagged).toBeGreaterThan(0);
    leaks.stop();
  });

  it('sends at most 60 batches a second however many events arrive', () => {
    const { clock, log, batches } = setup();
    for (let ms = 0; ms < 1_000; ms++) {
      for (let k = 0; k < 20; k++) log.emit({ type: 'tx.began', connId: `c${k}` });
      clock.advance(1);
    }
    expect(batches.length).toBeLessThanOrEqual(61);
    expect(batches.length).toBeGreaterThanOrEqual(55);
    // Waits are whole milliseconds: the last events leave with the batch after the loop.
    clock.advance(17);
    expect(batches.flatMap((b) => b.events).filter((e) => e.type === 'tx.began')).toHaveLength(20_000);
  });

  it('leaves a gap the receiver can see when a batch could not be delivered', () => {
    const { clock, log } = setup();
    const got: Batch[] = [];
    let deliver = false;
    new Coalescer(log, clock, (b) => (deliver ? (got.push(b), true) : false));
    log.emit({ type: 'tx.began', connId: 'a' });
    clock.advance(20);
    deliver = true;
    log.emit({ type: 'tx.began', connId: 'b' });
    clock.advance(20);
    expect(got).toHaveLength(1);
    expect(got[0]?.from).toBeGreaterThan(1);
  });
});
