import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Recovery } from '../../shared/faults';
import { NO_TOXICS, failureGroup } from '../../shared/faults';
import { describeOpen, describeToxics, recoveryRow, recoveryRows, sameToxics } from '../../renderer/src/lib/faults/faults';
import { toxicFrom } from '../../renderer/src/lib/forms/controls';
import { LatestOnly } from '../../renderer/src/lib/forms/latest-only';

const recovery = (given: Partial<Recovery> = {}): Recovery => ({
  faultId: 1,
  kind: 'restart',
  detail: 'embedded PostgreSQL down for 2 s',
  startedAt: 1_000,
  clearedAt: 3_000,
  servedAt: 3_450,
  failures: [
    { message: 'Connection terminated unexpectedly', count: 2 },
    { message: 'connect ECONNREFUSED 127.0.0.1:5432', count: 7 },
  ],
  lost: 4,
  opened: 4,
  socketsLeftOpen: 0,
  ...given,
});

describe('recovery rows', () => {
  it('say how long until the pool served again, the outage, and what failed, most frequent first', () => {
    expect(recoveryRow(recovery())).toEqual({
      faultId: 1,
      kind: 'restart',
      label: 'database restart',
      detail: 'embedded PostgreSQL down for 2 s',
      recovery: '2.4 s',
      recovered: true,
      outage: '2.0 s',
      failures: [
        { message: 'connect ECONNREFUSED 127.0.0.1:5432', count: 7 },
        { message: 'Connection terminated unexpectedly', count: 2 },
      ],
      failed: 9,
      lost: 4,
      opened: 4,
      socketsLeftOpen: '0',
      leftOpen: false,
    });
  });

  it('flag sockets left open and say when the pool has not served yet', () => {
    const r = recoveryRow(recovery({ servedAt: null, clearedAt: null, socketsLeftOpen: 2 }));
    expect(r).toMatchObject({ recovery: 'not yet', recovered: false, outage: '–', socketsLeftOpen: '2', leftOpen: true });
    expect(recoveryRow(recovery({ socketsLeftOpen: null }))).toMatchObject({ socketsLeftOpen: '–', leftOpen: false });
  });

  it('list the newest first', () => {
    expect(recoveryRows([recovery({ faultId: 1 }), recovery({ faultId: 2, kind: 'terminate' })]).map((r) => r.faultId)).toEqual([2, 1]);
  });

  it('describe an open outage, lifted or not', () => {
    const o = { faultId: 3, kind: 'blackhole' as const, detail: '', startedAt: 1_000, liftedAt: null };
    expect(describeOpen(o, 4_200)).toBe('blackhole for 3.2 s');
    expect(describeOpen({ ...o, kind: 'restart', liftedAt: 4_000 }, 4_500)).toBe('database restart for 3.5 s: lifted 500 ms ago, waiting for the pool to serve');
  });
});

describe('the link in one line', () => {
  it('names each condition set, or none', () => {
    expect(describeToxics(NO_TOXICS)).toBe('no faults');
    expect(describeToxics({ ...NO_TOXICS, latencyMs: 50, jitterMs: 10, bandwidthKbps: 100, refuse: true })).toBe('latency 50 ± 10 ms · 100 KB/s · refusing new connections');
    expect(describeToxics({ ...NO_TOXICS, blackhole: true })).toBe('blackhole');
    expect(sameToxics(NO_TOXICS, { ...NO_TOXICS })).toBe(true);
    expect(sameToxics(NO_TOXICS, { ...NO_TOXICS, latencyMs: 1 })).toBe(false);
  });
});

describe('one numeric condition from the form', () => {
  it('checks it against the contract schema', () => {
    expect(toxicFrom('jitterMs', '15')).toEqual({ ok: true, value: { jitterMs: 15 } });
    expect(toxicFrom('bandwidthKbps', 0)).toEqual({ ok: true, value: { bandwidthKbps: 0 } });
    expect(toxicFrom('latencyMs', 20_000)).toEqual({ ok: false, error: 'latency (ms) must be at most 10000' });
    expect(toxicFrom('jitterMs', -1)).toEqual({ ok: false, error: 'jitter (ms) must be at least 0' });
    expect(toxicFrom('bandwidthKbps', '')).toEqual({ ok: false, error: 'bandwidth (KB/s) is empty' });
  });
});

describe('a slider dragged across its range', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends at most one value per interval, never two at once, and ends on the last', async () => {
    const sent: number[] = [];
    let finish: (() => void) | null = null;
    const send = (v: number) => {
      sent.push(v);
      return new Promise<void>((r) => (finish = r));
    };
    const slider = new LatestOnly(send, 150, () => undefined);
    for (let v = 0; v <= 100; v++) slider.push(v);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(150);
    expect(sent).toEqual([100]);
    slider.push(120);
    slider.push(130);
    await vi.advanceTimersByTimeAsync(1_000);
    // The first is still on its way: nothing more goes out meanwhile.
    expect(sent).toEqual([100]);
    expect(slider.busy).toBe(true);
    finish!();
    await vi.advanceTimersByTimeAsync(150);
    expect(sent).toEqual([100, 130]);
    finish!();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent).toEqual([100, 130]);
    expect(slider.busy).toBe(false);
  });

  it('reports a refusal, and clears it when a later value is accepted', async () => {
    const errors: (string | null)[] = [];
    let fail = true;
    const slider = new LatestOnly((_v: number) => (fail ? Promise.reject(new Error('latency (ms) must be at most 10000')) : Promise.resolve()), 100, (m) => errors.push(m));
    slider.push(99_999);
    await vi.advanceTimersByTimeAsync(100);
    fail = false;
    slider.push(50);
    await vi.advanceTimersByTimeAsync(100);
    expect(errors).toEqual(['latency (ms) must be at most 10000', null]);
  });

  it('drops a value not yet sent when cancelled', async () => {
    const sent: number[] = [];
    const slider = new LatestOnly(async (v: number) => void sent.push(v), 100, () => undefined);
    slider.push(1);
    slider.cancel();
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([]);
    expect(slider.busy).toBe(false);
  });
});

describe('recovery failures grouped by message', () => {
  it('counts timeouts that differ only in their numbers and holders as one message', () => {
    const timeout = (ms: number, waiting: number) =>
      `Timed out after ${ms} ms waiting for a connection from postgres://u@127.0.0.1:5432/d (total 3, borrowed 3, idle 0, connecting 0, waiting ${waiting} others; max 3).\nLikely cause: injected fault: …\nHolders, oldest first:\n  request ${ms} at a.ts:1: held ${ms} ms`;
    const groups = new Map<string, number>();
    for (const m of [timeout(1001, 4), timeout(1003, 2), timeout(998, 0), 'Connection terminated unexpectedly', 'Connection terminated unexpectedly']) {
      const k = failureGroup(m);
      groups.set(k, (groups.get(k) ?? 0) + 1);
    }
    expect([...groups.values()]).toEqual([3, 2]);
    const [first] = groups.keys();
    expect(first).toMatch(/^Timed out after N ms waiting for a connection from .*waiting N others; max N\)\.$/);
  });
});
