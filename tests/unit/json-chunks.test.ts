import { describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../shared/events';
import { type Recording, checkRecording } from '../../shared/scenario';
import { ManualClock } from '../../main/engine/clock';
import { EventLog } from '../../main/engine/event-log';
import { jsonChunks } from '../../main/engine/json-chunks';
import { SessionRecorder } from '../../main/engine/recording';

async function collect(chunks: AsyncGenerator<string>): Promise<string[]> {
  const parts: string[] = [];
  for await (const c of chunks) parts.push(c);
  return parts;
}

describe('JSON written in chunks', () => {
  it('parses back to the same value, its big array a chunk at a time with a turn of the event loop before each', async () => {
    const items = Array.from({ length: 2_345 }, (_, i) => ({ seq: i + 1, text: `quote " backslash \\ line\n é ${'\u{1F600}'}`, nested: { n: i, none: null } }));
    const value = { format: 'x', version: 1, items, notes: [{ seq: 3, text: 'a note' }] };
    // A turn between chunks: an immediate queued before the first chunk has run before the second.
    let turns = 0;
    const parts: string[] = [];
    for await (const part of jsonChunks(value, 'items', 1_000)) {
      parts.push(part);
      setImmediate(() => turns++);
    }
    expect(parts).toHaveLength(2 + 3); // head, 3 chunks of at most 1,000, the close
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(parts.join(''))).toEqual(value);
  });

  it('writes an empty array and an object with nothing else', async () => {
    expect(JSON.parse((await collect(jsonChunks({ items: [] as number[] }, 'items'))).join(''))).toEqual({ items: [] });
    expect(JSON.parse((await collect(jsonChunks({ a: 1, items: [1, 2, 3] }, 'items', 2))).join(''))).toEqual({ a: 1, items: [1, 2, 3] });
  });

  it("a stopped recording is a file text that parses back to the events recorded, and passes the replay's check", async () => {
    const clock = new ManualClock();
    const log = new EventLog(clock);
    const recorder = new SessionRecorder(log, clock);
    const seen: PoolEvent[] = [];
    log.subscribe((e) => seen.push(e));
    recorder.start();
    for (let i = 1; i <= 12_000; i++) {
      log.emit({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: `p1.b${i}`, label: `load #${i}`, site: 'here (x.ts:1)', deadline: null });
      log.emit({ type: 'borrower.cancelled', borrowerId: `p1.b${i}`, waitedMs: i % 7, reason: 'the load stopped' });
      clock.advance(1);
    }
    const text = await recorder.stop();
    const recording = JSON.parse(text) as Recording;
    expect(checkRecording(recording)).toMatchObject({ ok: true });
    // The recording holds every event from its start, record.changed included, in order.
    const from = seen.findIndex((e) => e.type === 'record.changed');
    expect(recording.events).toEqual(JSON.parse(JSON.stringify(seen.slice(from, from + recording.events.length))));
    expect(recording.events.filter((e) => e.type === 'borrower.cancelled')).toHaveLength(12_000);
  });

  it('a recording made before load.stats counted cancelled requests still opens, with 0 cancelled', async () => {
    const clock = new ManualClock();
    const log = new EventLog(clock);
    const recorder = new SessionRecorder(log, clock);
    recorder.start();
    log.emit({ type: 'load.stats', intervalMs: 500, requests: 3, ok: 3, failed: 0, timedOut: 0, cancelled: 0, leaked: 0, shed: 0, inFlight: 0, p50Ms: 1, p99Ms: 2 });
    const old = JSON.parse(await recorder.stop()) as { events: Record<string, unknown>[] };
    for (const e of old.events) if (e.type === 'load.stats') delete e.cancelled;
    const checked = checkRecording(old);
    expect(checked.ok && checked.recording.events.find((e) => e.type === 'load.stats')).toMatchObject({ requests: 3, cancelled: 0 });
  });
});
