import { describe, expect, it } from 'vitest';
import type { Batch } from '../../shared/api';
import { applyBatch } from '../../shared/reducer';
import { emptySnapshot } from '../../shared/snapshot';
import { ManualClock } from '../../main/engine/clock';
import { Coalescer } from '../../main/engine/coalescer';
import { EventLog } from '../../main/engine/event-log';
import { ConnectionTracker } from '../../main/engine/pool/connection-tracker';
import { InstrumentedPool } from '../../main/engine/pool/instrumented-pool';
import { poolSettings } from '../../main/engine/pool/pool-settings';
import { parseTargetUrl, targetInfo } from '../../main/engine/target-spec';
import { MemoryDriver } from './helpers/memory-driver';

function setup() {
  const clock = new ManualClock();
  const log = new EventLog(clock);
  const batches: Batch[] = [];
  const coalescer = new Coalescer(log, clock, (b) => (batches.push(b), true));
  const spec = parseTargetUrl('postgres://app@db/shop');
  const settings = poolSettings('postgres', { max: 3, acquireTimeoutMs: 0 });
  const tracker = new ConnectionTracker(log, clock, 'p1', settings, null);
  const pool = new InstrumentedPool({ id: 'p1', spec, target: targetInfo(spec), driver: new MemoryDriver(settings, tracker), tracker, log, clock });
  return { clock, log, pool, batches, coalescer };
}

describe('the coalescer', () => {
  it('folds statement runs into summaries that rebuild exactly the snapshot the engine has', async () => {
    const { clock, log, pool, batches, coalescer } = setup();
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
    expect(rebuilt).toEqual(log.live);

    const sent = batches.reduce((n, b) => n + b.events.length, 0);
    expect(sent).toBeLessThan(log.seq * 0.8);
    expect(batches.flatMap((b) => b.events).some((e) => e.type === 'statement.summary')).toBe(true);
    // Contiguous: every batch starts where the previous one ended.
    for (let i = 1; i < batches.length; i++) expect(batches[i]?.from).toBe((batches[i - 1]?.to ?? 0) + 1);
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
