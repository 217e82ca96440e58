import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../main/engine/clock';
import { EventLog } from '../../main/engine/event-log';

describe('the event log', () => {
  it('stamps events with increasing sequence numbers and the clock time, and folds them into the snapshot', () => {
    const clock = new ManualClock(5_000);
    const log = new EventLog(clock, 8);
    const seen: number[] = [];
    log.subscribe((e) => seen.push(e.seq));
    log.emit({ type: 'borrower.enqueued', poolId: 'p', borrowerId: 'b1', label: 'l', site: 's', deadline: null });
    clock.advance(7);
    const e = log.emit({ type: 'borrower.failed', borrowerId: 'b1', waitedMs: 7, message: 'm' });
    expect(e).toMatchObject({ seq: 2, t: 5_007 });
    expect(seen).toEqual([1, 2]);
    expect(log.live.counters.failed).toBe(1);
    expect(log.snapshot()).not.toBe(log.live);
  });

  it('keeps the latest events in a bounded ring and says when a reader fell behind it', () => {
    const log = new EventLog(new ManualClock(), 4);
    for (let i = 0; i < 10; i++) log.emit({ type: 'tx.began', connId: `c${i}` });
    expect(log.since(6)?.map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    expect(log.since(10)).toEqual([]);
    expect(log.since(5)).toBeNull();
    expect(log.snapshot().seq).toBe(10);
  });
});
