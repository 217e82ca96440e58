import { describe, expect, it } from 'vitest';
import type { TimeoutDiagnosis } from '../../shared/diagnosis';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { NO_TOXICS } from '../../shared/faults';
import { reduce, reduceAll } from '../../shared/reducer';
import type { Recording, StepOutcome } from '../../shared/scenario';
import { emptySnapshot, type Snapshot } from '../../shared/snapshot';
import { Replay, TIMEOUT_BURST_MS, findMarks, parseRecording } from '../../renderer/src/lib/replay/replay';
import { REPLAY_SPEEDS, ReplayClock } from '../../renderer/src/lib/replay/replay-clock';
import { handshake, pgSettings, target } from './helpers/fixtures';

const diagnosis: TimeoutDiagnosis = { total: 2, borrowed: 2, idle: 0, connecting: 0, waiting: 0, max: 2, holders: [], cause: 'pool too small', explanation: 'busy' };
const outcome = (index: number, status: StepOutcome['status']): StepOutcome => ({ index, summary: `step ${index}`, status, message: status === 'failed' ? 'waiting was 3' : null, startedAt: null, endedAt: null });

/** A deterministic session: connections churn, borrowers come and go, with timeouts, flags, faults, a refusal and a scenario. */
function session(count: number): { initial: Snapshot; events: PoolEvent[] } {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    // The high bits: an LCG's low bits repeat with a short period.
    return (seed >>> 16) % n;
  };
  const before: PoolEvent[] = [];
  const events: PoolEvent[] = [];
  let seq = 0;
  let t = 1_000_000;
  let out = before;
  const ev = (b: PoolEventBody) => out.push({ ...b, seq: ++seq, t: (t += 1 + rand(40)) } as PoolEvent);
  ev({ type: 'pool.created', poolId: 'p1', target, settings: pgSettings({ max: 4 }) });
  ev({ type: 'pool.verified', poolId: 'p1', serverVersion: '18', tls: null });
  const initial = reduceAll(emptySnapshot(), before);
  out = events;
  ev({ type: 'scenario.opened', name: 'demo', title: 'Demo', description: 'd', steps: [0, 1, 2].map((i) => outcome(i, 'pending')) });
  const open: string[] = [];
  const holding = new Map<string, string>();
  let conns = 0;
  let borrowers = 0;
  let step = 0;
  let fault = 0;
  while (events.length < count) {
    const r = rand(100);
    if (r < 15 && open.length < 4) {
      const id = `p1.c${++conns}`;
      ev({ type: 'connection.connecting', poolId: 'p1', connId: id });
      ev({ type: 'connection.opened', connId: id, serverId: 1000 + conns, handshake });
      open.push(id);
    } else if (r < 45 && open.length > 0) {
      const b = `p1.b${++borrowers}`;
      const c = open[rand(open.length)] as string;
      ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: b, label: 'req', site: 'x.ts:1', deadline: null });
      if ([...holding.values()].includes(c)) ev({ type: 'borrower.timedout', borrowerId: b, waitedMs: 1_000, message: 'timeout acquiring', diagnosis });
      else {
        ev({ type: 'borrower.acquired', borrowerId: b, connId: c, waitedMs: rand(20) });
        ev({ type: 'statement.started', connId: c, sql: 'SELECT 1' });
        holding.set(b, c);
      }
    } else if (r < 70 && holding.size > 0) {
      const [b, c] = [...holding.entries()][rand(holding.size)] as [string, string];
      ev({ type: 'statement.finished', connId: c, ms: 2, error: null });
      if (rand(5) === 0) ev({ type: 'borrower.flagged', borrowerId: b, connId: c, heldMs: 5_000, thresholdMs: 2_000 });
      ev({ type: 'borrower.released', borrowerId: b, connId: c, heldMs: 3, dirty: false, destroyed: false });
      holding.delete(b);
    } else if (r < 78 && open.length > 2) {
      const c = open.find((id) => ![...holding.values()].includes(id));
      if (c) {
        ev({ type: 'connection.closed', connId: c, reason: 'idle timeout', error: null });
        open.splice(open.indexOf(c), 1);
      }
    } else if (r < 82) {
      ev({ type: 'server.observed', sessions: open.map((_, i) => ({ id: 1000 + i, user: 'u', application: null, state: 'idle', inTransaction: false, transactionSince: null, waitEvent: null, query: null })), maxConnections: 100, reserved: 3, monitorId: 1, note: null });
    } else if (r < 84) {
      const faultId = ++fault;
      ev({ type: 'fault.injected', faultId, kind: 'reset', detail: 'all' });
      ev({ type: 'fault.lifted', faultId });
      ev({ type: 'fault.recovered', faultId, kind: 'reset', detail: 'all', startedAt: t, clearedAt: t, servedAt: t + 40, failures: [], lost: 1, opened: 1, socketsLeftOpen: 0 });
    } else if (r < 86) {
      ev({ type: 'connection.connecting', poolId: 'p1', connId: `p1.c${++conns}` });
      ev({ type: 'connection.closed', connId: `p1.c${conns}`, reason: 'connect failed', error: 'sorry, too many clients already' });
    } else if (r < 88 && step < 3) {
      ev({ type: 'scenario.changed', state: 'playing', current: step });
      ev({ type: 'scenario.noted', index: step, text: `note ${step}` });
      ev({ type: 'scenario.stepped', outcome: outcome(step, step === 2 ? 'failed' : 'passed') });
      step++;
    }
  }
  return { initial, events };
}

function recordingOf(s: { initial: Snapshot; events: PoolEvent[] }, notes: Recording['notes'] = []): Recording {
  return { format: 'poolscope-recording', version: 1, recordedAt: '2026-11-24T16:00:00Z', target: target.display, initial: s.initial, events: s.events, notes };
}

describe('replaying a recording', () => {
  it('gives the same snapshot from checkpoints as a straight fold, at every seq', () => {
    const s = session(2_000);
    const rec = recordingOf(s);
    // Serialised as a file would be: the replay must not depend on shared objects.
    const replay = new Replay(JSON.parse(JSON.stringify(rec)) as Recording, 64);
    expect(replay.firstSeq).toBe(s.initial.seq);
    expect(replay.lastSeq).toBe(s.events.at(-1)?.seq);
    const straight = structuredClone(s.initial);
    const fresh = JSON.parse(JSON.stringify(rec)) as Recording;
    expect(replay.at(replay.firstSeq)).toEqual(straight);
    for (const e of fresh.events) {
      reduce(straight, e);
      expect(replay.at(e.seq)).toEqual(straight);
    }
    // Seeking backwards after the forward pass still rebuilds the past exactly.
    const mid = s.events[777] as PoolEvent;
    expect(replay.at(mid.seq)).toEqual(reduceAll(structuredClone(s.initial), structuredClone(s.events.slice(0, 778))));
  });

  it('keeps the recorded events as they were (scenario steps are not written through)', () => {
    const s = session(600);
    const replay = new Replay(recordingOf(structuredClone(s)), 50);
    const opened = replay.recording.events.find((e) => e.type === 'scenario.opened');
    expect(opened?.type === 'scenario.opened' && opened.steps.map((o) => o.status)).toEqual(['pending', 'pending', 'pending']);
    expect(replay.at((opened as PoolEvent).seq).scenario?.steps.map((o) => o.status)).toEqual(['pending', 'pending', 'pending']);
  });

  it('hands out snapshots the caller owns', () => {
    const replay = new Replay(recordingOf(session(300)), 50);
    const a = replay.at(replay.lastSeq);
    a.counters.acquired = -1;
    a.connections = {};
    expect(replay.at(replay.lastSeq).counters.acquired).toBeGreaterThan(0);
  });

  it('steps event by event and clamps to the range', () => {
    const s = session(200);
    const replay = new Replay(recordingOf(s), 32);
    const [e0, e1] = s.events as [PoolEvent, PoolEvent];
    expect(replay.nextSeq(replay.firstSeq)).toBe(e0.seq);
    expect(replay.nextSeq(e0.seq)).toBe(e1.seq);
    expect(replay.prevSeq(e1.seq)).toBe(e0.seq);
    expect(replay.prevSeq(e0.seq)).toBe(replay.firstSeq);
    expect(replay.nextSeq(replay.lastSeq)).toBe(replay.lastSeq);
    expect(replay.eventAt(e1.seq)).toBe(e1);
    expect(replay.eventsBefore(e1.seq, 10)).toEqual([e0, e1]);
  });

  it('samples the charts at event time, up to the moment shown', () => {
    const s = session(1_000);
    const replay = new Replay(recordingOf(s));
    const first = s.events[0] as PoolEvent;
    const mid = s.events[500] as PoolEvent;
    const cols = replay.seriesAt(mid.t);
    expect(cols.t.length).toBeGreaterThan(1);
    expect(cols.t[0]).toBeCloseTo(first.t / 1_000, 3);
    expect((cols.t.at(-1) as number) * 1_000).toBeLessThanOrEqual(mid.t);
    expect(cols.total.length).toBe(cols.t.length);
    expect(Math.max(...(replay.seriesAt((s.events.at(-1) as PoolEvent).t).total as number[]))).toBeGreaterThan(0);
  });

  it('seeks anywhere in 100k events without folding them all', () => {
    const s = session(100_000);
    // Counted, not timed: the events a seek reads (each folded one is read once).
    let reads = 0;
    let counting = false;
    const events = new Proxy(s.events, {
      get(list, key, receiver) {
        if (counting && typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(list, key, receiver) as unknown;
      },
    });
    const replay = new Replay(recordingOf({ ...s, events }));
    counting = true;
    for (let i = 0; i < 100; i++) replay.at((s.events[(i * 7_919) % s.events.length] as PoolEvent).seq);
    // A straight fold per seek would read up to 100k; from the nearest checkpoint, at most one
    // interval of them after a binary search for the seq.
    expect(replay.checkpointEvery).toBeLessThanOrEqual(1_000);
    expect(reads / 100).toBeLessThanOrEqual(replay.checkpointEvery + 2 * Math.ceil(Math.log2(s.events.length)));
    expect(reads).toBeGreaterThan(0);
  });

  it('replays an empty recording as its initial snapshot', () => {
    const initial = emptySnapshot();
    const replay = new Replay(recordingOf({ initial, events: [] }));
    expect(replay.firstSeq).toBe(0);
    expect(replay.lastSeq).toBe(0);
    expect(replay.at(0)).toEqual(initial);
  });
});

describe('marks in a recording', () => {
  it('marks each timeout (a burst once, with its count), the first leak flag and refusal, every fault set and lifted, recovery, pool and note, in order', () => {
    const s = session(3_000);
    const marks = findMarks(recordingOf(s));
    const kinds = (k: string) => marks.filter((m) => m.kind === k);
    const firstOf = (type: string) => s.events.find((e) => e.type === type)?.seq;
    const timeouts = s.events.filter((e) => e.type === 'borrower.timedout');
    expect(kinds('timeout')[0]?.seq).toBe(firstOf('borrower.timedout'));
    expect(kinds('timeout').reduce((n, m) => n + m.count, 0)).toBe(timeouts.length);
    // A new mark only where a timeout came more than TIMEOUT_BURST_MS after the burst's first.
    for (const [i, m] of kinds('timeout').entries()) {
      const next = kinds('timeout')[i + 1];
      if (next) expect(next.t - m.t).toBeGreaterThan(TIMEOUT_BURST_MS);
    }
    expect(kinds('leak').map((m) => m.seq)).toEqual([firstOf('borrower.flagged')]);
    expect(kinds('refusal').map((m) => m.seq)).toEqual([s.events.find((e) => e.type === 'connection.closed' && e.reason === 'connect failed')?.seq]);
    expect(kinds('refusal')[0]?.label).toContain('too many clients');
    expect(kinds('fault').length).toBe(s.events.filter((e) => e.type === 'fault.injected' || e.type === 'fault.lifted').length);
    expect(kinds('fault')[1]?.label).toBe('fault lifted: connections reset');
    expect(kinds('recovery').length).toBe(s.events.filter((e) => e.type === 'fault.recovered').length);
    expect(kinds('recovery')[0]?.label).toBe('recovered from connections reset in 40 ms');
    expect(kinds('note').map((m) => m.label)).toEqual(['note: note 0', 'note: note 1', 'note: note 2']);
    expect(marks.map((m) => m.seq)).toEqual(marks.map((m) => m.seq).sort((a, b) => a - b));
  });

  it("adds the recorder's notes that have no event, once", () => {
    const s = session(300);
    const noted = s.events.find((e) => e.type === 'scenario.noted') as PoolEvent;
    const marks = findMarks(recordingOf(s, [{ seq: noted.seq, text: 'note 0' }, { seq: 5, text: 'kept by the recorder' }]));
    expect(marks.filter((m) => m.kind === 'note' && m.seq === noted.seq)).toHaveLength(1);
    expect(marks.find((m) => m.seq === 5 && m.kind === 'note')?.label).toBe('note: kept by the recorder');
  });

  it('marks a link condition set and cleared, and a pool ended', () => {
    const events = ([
      { type: 'pool.created', poolId: 'p2', target, settings: pgSettings({ max: 4 }) },
      { type: 'fault.changed', toxics: { ...NO_TOXICS, latencyMs: 200 }, proxy: null },
      { type: 'fault.changed', toxics: { ...NO_TOXICS, latencyMs: 200 }, proxy: null },
      { type: 'fault.changed', toxics: { ...NO_TOXICS }, proxy: null },
      { type: 'pool.ended', poolId: 'p1' },
    ] as PoolEventBody[]).map((b, i) => ({ ...b, seq: i + 1, t: 1_000 + i }) as PoolEvent);
    expect(findMarks({ events, notes: [] }).map((m) => [m.kind, m.label])).toEqual([
      ['pool', `pool p2 created: ${target.display}, max 4`],
      ['fault', 'link: latency 200 ms'],
      ['fault', 'link faults cleared'],
      ['pool', 'pool p1 ended'],
    ]);
  });

  it('is empty for a quiet session', () => {
    expect(findMarks({ events: [], notes: [] })).toEqual([]);
  });
});

describe('recording files', () => {
  const good = () => recordingOf(session(50));

  it('opens a recording written as JSON', () => {
    const parsed = parseRecording(JSON.stringify(good()));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.recording.events).toHaveLength(good().events.length);
  });

  it('opens a recording made before notes kept their step: the note shown, with no step, reading time or goal', () => {
    const r = good();
    const scenario = { name: 'leak', title: 'A leak', description: '', state: 'paused', current: 1, steps: [], note: 'an old note', target: null, review: null };
    const old = JSON.parse(JSON.stringify({ ...r, initial: { ...r.initial, scenario } })) as Recording;
    const parsed = parseRecording(JSON.stringify(old));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.recording.initial.scenario).toEqual({ ...scenario, noteStep: null, readMs: null, goal: null, spotlight: null });
  });

  it('says what is wrong with a bad file', () => {
    const bad = (v: unknown) => {
      const r = parseRecording(typeof v === 'string' ? v : JSON.stringify(v));
      return r.ok ? 'opened' : r.error;
    };
    expect(bad('{"format": ')).toMatch(/^This file is not JSON \(/);
    expect(bad({ ...good(), format: 'har' })).toBe('Not a recording Poolscope can open: format: not a Poolscope recording (format must be "poolscope-recording").');
    expect(bad({ ...good(), version: 2 })).toBe('Not a recording Poolscope can open: version: unsupported recording version (this Poolscope reads version 1).');
    expect(bad({ title: 'Demo', steps: [] })).toMatch(/^Not a recording Poolscope can open: format: /);
    const noSeq = good();
    (noSeq.events[3] as Partial<PoolEvent>).seq = undefined;
    expect(bad(noSeq)).toMatch(/^Not a recording Poolscope can open: events\[3\] \([a-z.]+\)\.seq: /);
    const { connections: _gone, ...initial } = good().initial;
    expect(bad({ ...good(), initial })).toMatch(/^Not a recording Poolscope can open: initial\.connections: /);
    const shuffled = good();
    shuffled.events.reverse();
    expect(bad(shuffled)).toMatch(/^Not a recording Poolscope can open: events\[1\] \([a-z.]+\)\.seq: \d+ does not follow \d+\.$/);
    expect(bad({ ...good(), extra: 1 })).toMatch(/^Not a recording Poolscope can open: /);
  });

  it('refuses a crafted file before replaying it, naming the event, its type and the field', () => {
    const sample = recordingOf(session(300));
    const bad = (type: PoolEvent['type'], edit: (e: Record<string, unknown>, r: Recording) => void) => {
      const r = structuredClone(sample);
      const i = r.events.findIndex((e) => e.type === type);
      edit(r.events[i] as unknown as Record<string, unknown>, r);
      const parsed = parseRecording(JSON.stringify(r));
      return parsed.ok ? 'opened' : parsed.error.replace(`events[${i}]`, 'events[i]');
    };
    const prefix = 'Not a recording Poolscope can open: events[i]';
    // Ids the engine never makes: prototype keys above all.
    for (const id of ['__proto__', 'constructor', 'prototype', 'toString', 'p1.c1.x', 'p01.c1']) {
      expect(bad('connection.opened', (e) => void (e.connId = id))).toBe(`${prefix} (connection.opened).connId: not a connection id Poolscope makes (p<n>.c<n>).`);
    }
    expect(bad('borrower.enqueued', (e) => void (e.borrowerId = '__proto__'))).toBe(`${prefix} (borrower.enqueued).borrowerId: not a borrower id Poolscope makes (p<n>.b<n>).`);
    expect(bad('connection.opened', (_e, r) => void (r.initial.connections = JSON.parse('{"__proto__": {}}') as Snapshot['connections']))).toBe(
      'Not a recording Poolscope can open: initial.connections.__proto__: not an id Poolscope makes.',
    );
    // Times: not finite, far beyond any clock, or far from the recording's own span.
    expect(bad('connection.opened', (e) => void (e.t = 1e19))).toBe(`${prefix} (connection.opened).t: must be at most 10000000000000.`);
    expect(bad('connection.opened', (e) => void (e.t = -1))).toBe(`${prefix} (connection.opened).t: must not be negative.`);
    expect(bad('connection.opened', (e, r) => void (e.t = (r.events[0] as PoolEvent).t + 40 * 86_400_000))).toMatch(
      /^Not a recording Poolscope can open: events\[i\] \(connection\.opened\)\.t: \d+ is not within 60 s before and 31 days after the first event/,
    );
    // Wrong payload types, unknown types, indexes beyond any scenario, extra fields.
    expect(bad('borrower.acquired', (e) => void (e.waitedMs = '5'))).toBe(`${prefix} (borrower.acquired).waitedMs: Invalid input: expected number, received string.`);
    expect(bad('connection.opened', (e) => void (e.handshake = null))).toMatch(/^Not a recording Poolscope can open: events\[i\] \(connection\.opened\)\.handshake: /);
    expect(bad('connection.opened', (e) => void (e.type = 'connection.hijacked'))).toBe(`${prefix} (connection.hijacked).type: not an event type Poolscope knows.`);
    expect(bad('scenario.stepped', (e) => void ((e.outcome as { index: number }).index = 1e9))).toBe(
      `${prefix} (scenario.stepped).outcome.index: must be below 1000 (the most steps a scenario has).`,
    );
    expect(bad('connection.opened', (e) => void (e.extra = 1))).toMatch(/^Not a recording Poolscope can open: events\[i\] \(connection\.opened\): Unrecognized key: "extra"/);
    expect(bad('connection.opened', () => undefined)).toBe('opened');
  });

  it('folds an id like __proto__ into its own entry, never into Object.prototype, even into a snapshot that went through JSON', () => {
    const s = JSON.parse(JSON.stringify(good().initial)) as Snapshot;
    expect(Object.getPrototypeOf(s.connections)).toBe(Object.prototype);
    const crafted = [
      // Closing a connection never opened: on a plain object, s.connections.__proto__ is Object.prototype.
      { type: 'connection.closing', connId: '__proto__', reason: 'error' },
      { type: 'borrower.flagged', borrowerId: '__proto__', connId: 'p1.c1', heldMs: 1, thresholdMs: 1 },
      { type: 'connection.connecting', poolId: 'p1', connId: '__proto__' },
      { type: 'connection.opened', connId: '__proto__', serverId: 1, handshake },
      { type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'constructor', label: 'x', site: 'y', deadline: null },
    ].map((e, i) => ({ ...e, seq: s.seq + 1 + i, t: s.t + i }) as PoolEvent);
    const polluted = Object.prototype as Record<string, unknown>;
    try {
      reduceAll(s, crafted);
      expect(({} as Record<string, unknown>).state).toBeUndefined();
      expect(({} as Record<string, unknown>).flagged).toBeUndefined();
    } finally {
      for (const k of ['state', 'stateSince', 'closeReason', 'flagged']) delete polluted[k];
    }
    expect(Object.hasOwn(s.connections, '__proto__')).toBe(true);
    expect(s.connections.__proto__?.state).toBe('idle');
    expect(Object.hasOwn(s.borrowers, 'constructor')).toBe(true);
  });

  it('replays a file whose snapshot the faults panel can read', () => {
    const parsed = parseRecording(JSON.stringify(good()));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(new Replay(parsed.recording).at(0).faults.toxics).toEqual(NO_TOXICS);
  });
});

describe('a replay read by time', () => {
  it('shows the start before the first event, the last event at or before a time, and the end after the last', () => {
    const s = session(300);
    const r = new Replay(recordingOf(s));
    const [first, second] = s.events as [PoolEvent, PoolEvent];
    const last = s.events.at(-1) as PoolEvent;
    expect([r.startT, r.endT]).toEqual([first.t, last.t]);
    expect(r.seqAtTime(first.t - 1)).toBe(r.firstSeq);
    expect(r.seqAtTime(first.t)).toBe(first.seq);
    expect(r.seqAtTime(second.t - 0.5)).toBe(second.t - 0.5 >= first.t ? first.seq : r.firstSeq);
    expect(r.seqAtTime(last.t + 1_000)).toBe(r.lastSeq);
    expect(r.timeAt(r.firstSeq)).toBe(first.t);
    expect(r.timeAt(second.seq)).toBe(second.t);
    // Every seq read back by its time lands on itself or a later event stamped the same moment.
    for (const e of s.events) expect(r.seqAtTime(r.timeAt(e.seq))).toBeGreaterThanOrEqual(e.seq);
  });
});

describe('the replay clock', () => {
  it('stands still at the start until played, then runs at the speed chosen and stops at the end', () => {
    const c = new ReplayClock(1_000, 11_000);
    expect(c.at(0)).toBe(1_000);
    expect(c.at(5_000)).toBe(1_000);
    c.play(5_000);
    expect(c.at(6_000)).toBe(2_000);
    c.setSpeed(2, 6_000);
    expect(c.at(7_000)).toBe(4_000);
    c.setSpeed(10, 7_000);
    expect(c.at(7_500)).toBe(9_000);
    expect(c.playing).toBe(true);
    expect(c.at(8_000)).toBe(11_000);
    expect(c.playing).toBe(false);
    expect(c.at(60_000)).toBe(11_000);
  });

  it('pauses where it is, resumes from there, follows a seek, and plays again from the start once at the end', () => {
    const c = new ReplayClock(0, 10_000);
    c.setSpeed(5, 0);
    c.play(0);
    c.pause(1_000);
    expect(c.at(9_000)).toBe(5_000);
    c.play(9_000);
    expect(c.at(9_200)).toBe(6_000);
    c.seek(2_000, 9_200);
    expect(c.at(9_400)).toBe(3_000);
    c.seek(50_000, 9_400);
    expect(c.playing).toBe(false);
    expect(c.at(9_500)).toBe(10_000);
    c.play(10_000);
    expect(c.at(10_000)).toBe(0);
    expect(REPLAY_SPEEDS).toEqual([1, 2, 5, 10]);
  });

  it('a recording with one moment cannot play', () => {
    const c = new ReplayClock(500, 500);
    c.play(0);
    expect(c.playing).toBe(false);
    expect(c.at(100)).toBe(500);
  });
});
