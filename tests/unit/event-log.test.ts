import { describe, expect, it, vi } from 'vitest';
import type { PoolEvent } from '../../shared/events';
import { ManualClock } from '../../main/engine/clock';
import { EventLog } from '../../main/engine/event-log';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('the event log', () => {
  it('stamps events with increasing sequence numbers and the clock time, and its snapshot has them at once', () => {
    const clock = new ManualClock(5_000);
    const log = new EventLog(clock);
    log.emit({ type: 'borrower.enqueued', poolId: 'p', borrowerId: 'b1', label: 'l', site: 's', deadline: null });
    clock.advance(7);
    const e = log.emit({ type: 'borrower.failed', borrowerId: 'b1', waitedMs: 7, message: 'm' });
    expect(e).toMatchObject({ seq: 2, t: 5_007 });
    expect(log.live.counters.failed).toBe(1);
    expect(log.live.seq).toBe(2);
    expect(log.snapshot()).not.toBe(log.live);
  });

  it('hands events to listeners at the end of the turn, in order, with what a listener emits after what it was handed', async () => {
    const log = new EventLog(new ManualClock());
    const first: string[] = [];
    const second: number[] = [];
    log.subscribe((e) => {
      first.push(e.type);
      if (e.type === 'borrower.acquired') log.emit({ type: 'borrower.flagged', borrowerId: 'b1', connId: 'c1', heldMs: 1, thresholdMs: 1 });
    });
    log.subscribe((e) => second.push(e.seq));
    log.emit({ type: 'borrower.enqueued', poolId: 'p', borrowerId: 'b1', label: 'l', site: 's', deadline: null });
    log.emit({ type: 'borrower.acquired', borrowerId: 'b1', connId: 'c1', waitedMs: 0 });
    log.emit({ type: 'borrower.released', borrowerId: 'b1', connId: 'c1', heldMs: 1, dirty: false, destroyed: false });
    expect(first).toEqual([]);
    await turn();
    expect(first).toEqual(['borrower.enqueued', 'borrower.acquired', 'borrower.released', 'borrower.flagged']);
    expect(second).toEqual([1, 2, 3, 4]);
  });

  it('shows a listener the snapshot as it was at the event it is handed', async () => {
    const log = new EventLog(new ManualClock());
    const seen: [number, number, number][] = [];
    log.subscribe((e) => seen.push([e.seq, log.live.seq, log.live.counters.failed]));
    for (let i = 1; i <= 3; i++) log.emit({ type: 'borrower.failed', borrowerId: `b${i}`, waitedMs: 1, message: 'm' });
    await turn();
    expect(seen).toEqual([
      [1, 1, 1],
      [2, 2, 2],
      [3, 3, 3],
    ]);
    expect(log.live.seq).toBe(3);
  });

  it('still folds, on its timer, the events delivered after a listener read the snapshot', async () => {
    const clock = new ManualClock();
    const log = new EventLog(clock);
    const chunks: number[] = [];
    log.subscribeFolded((_events, to) => chunks.push(to));
    log.subscribe((e) => {
      if (e.seq === 1) expect(log.live.seq).toBe(1);
    });
    for (let i = 1; i <= 3; i++) log.emit({ type: 'borrower.failed', borrowerId: `b${i}`, waitedMs: 1, message: 'm' });
    await turn();
    expect(chunks).toEqual([1]);
    clock.advance(16);
    expect(chunks).toEqual([1, 3]);
  });

  it('folds a long burst in chunks of at most 4,096 events, each handed to chunk listeners once', async () => {
    const log = new EventLog(new ManualClock());
    const chunks: number[] = [];
    log.subscribeFolded((events, to) => chunks.push(to));
    for (let i = 1; i <= 10_000; i++) log.emit({ type: 'borrower.failed', borrowerId: `b${i}`, waitedMs: 1, message: 'm' });
    await turn();
    expect(chunks).toEqual([4_096, 8_192]);
    expect(log.live.counters.failed).toBe(10_000);
    expect(chunks).toEqual([4_096, 8_192, 10_000]);
  });

  it('keeps delivering to the other listeners when one throws, and says which event it failed on', async () => {
    const log = new EventLog(new ManualClock());
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const seen: PoolEvent[] = [];
    log.subscribe(() => {
      throw new Error('listener bug');
    });
    log.subscribe((e) => seen.push(e));
    try {
      log.emit({ type: 'leak.thresholdset', thresholdMs: 5 });
      log.emit({ type: 'leak.thresholdset', thresholdMs: 6 });
      await turn();
      expect(seen.map((e) => e.seq)).toEqual([1, 2]);
      expect(error).toHaveBeenCalledTimes(2);
      expect(String(error.mock.calls[0]?.[0])).toContain('leak.thresholdset (seq 1)');
    } finally {
      error.mockRestore();
    }
  });

  it('hands a listener exactly the events emitted while it was subscribed', async () => {
    const log = new EventLog(new ManualClock());
    log.emit({ type: 'leak.thresholdset', thresholdMs: 5 });
    const seen: number[] = [];
    const unsubscribe = log.subscribe((e) => seen.push(e.seq));
    log.emit({ type: 'leak.thresholdset', thresholdMs: 6 });
    unsubscribe();
    log.emit({ type: 'leak.thresholdset', thresholdMs: 7 });
    await turn();
    expect(seen).toEqual([2]);
  });

  it('hands a listener subscribed during a delivery only the events emitted after it subscribed', async () => {
    const log = new EventLog(new ManualClock());
    const late: number[] = [];
    log.subscribe((e) => {
      if (e.seq !== 1) return;
      log.subscribe((later) => late.push(later.seq));
      log.emit({ type: 'leak.thresholdset', thresholdMs: 8 });
    });
    // Emitted in one turn: 2 is still to be delivered when the first listener subscribes the second.
    log.emit({ type: 'leak.thresholdset', thresholdMs: 5 });
    log.emit({ type: 'leak.thresholdset', thresholdMs: 6 });
    await turn();
    expect(late).toEqual([3]);
  });
});
