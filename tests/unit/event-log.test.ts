import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../main/engine/clock';
import { EventLog } from '../../main/engine/event-log';

describe('the event log', () => {
  it('stamps events with increasing sequence numbers and the clock time, and folds them into the snapshot', () => {
    const clock = new ManualClock(5_000);
    const log = new EventLog(clock);
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
});
