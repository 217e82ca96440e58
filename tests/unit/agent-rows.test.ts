import { describe, expect, it } from 'vitest';
import { agentMessageSchema, servedWaits } from '../../main/engine/attach/agent-protocol';

// The agent's rows on the wire ([kind, t, a, b, c, ref], main/agent/recorder.cjs), checked
// by hand in agent-protocol.ts: a batch with one row the protocol does not have is refused whole.

const events = (rows: unknown[]) => agentMessageSchema.safeParse({ type: 'events', events: rows, dropped: 0 });
const good = [
  [3, 1000.125, 1, 7, 0, 'orders.js:9'],
  [4, 1000.5, 7, 2, 0, null],
  [6, 1012, 7, 2, 3, null],
];

describe("the agent's rows", () => {
  it('pass as sent: kinds, times, ids and refs', () => {
    const m = events(good);
    expect(m.success && m.data.type === 'events' && m.data.events).toEqual(good);
  });

  it.each([
    ['a kind the protocol lacks', [16, 1, 1, 0, 0, null]],
    ['kind 0', [0, 1, 1, 0, 0, null]],
    ['a negative time', [4, -1, 1, 2, 0, null]],
    ['a time past the range', [4, 1e14, 1, 2, 0, null]],
    ['a time that is text', [4, '5', 1, 2, 0, null]],
    ['an id that is not whole', [4, 1, 1.5, 2, 0, null]],
    ['a short row', [4, 1, 1, 2]],
    ['a row that is an object', { kind: 4 }],
  ])('refuse a batch with %s', (_what, bad) => {
    expect(events([...good, bad]).success).toBe(false);
  });

  it("reads a SERVED row's waits, an earlier agent's single number too, and shows a wait that is no time as 0", () => {
    expect(servedWaits([[0.5, 2, 7.25], null])).toEqual([0.5, 2, 7.25]);
    expect(servedWaits([3, 'boom'])).toEqual([3]);
    expect(servedWaits([[1, -5, 'x', 1e20, null], null])).toEqual([1, 0, 0, 0, 0]);
    expect(servedWaits([[], null])).toBeNull();
    expect(servedWaits('0.5')).toBeNull();
  });
});
