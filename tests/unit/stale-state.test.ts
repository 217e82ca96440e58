import { describe, expect, it } from 'vitest';
import { diagnoseTimeout } from '../../shared/diagnosis';
import type { PoolEvent, PoolEventBody, TargetInfo } from '../../shared/events';
import { NO_TOXICS, activeFaults } from '../../shared/faults';
import { reduce, reduceAll } from '../../shared/reducer';
import { type Snapshot, emptySnapshot } from '../../shared/snapshot';
import { dismissalOf, shownTimeout } from '../../renderer/src/lib/diagnosis/dismiss';
import { pgSettings, target } from './helpers/fixtures';

let seq = 0;
const ev = (body: PoolEventBody, t = 1_000 + seq): PoolEvent => ({ ...body, seq: ++seq, t }) as PoolEvent;
const other: TargetInfo = { ...target, engine: 'mysql', port: 3306, display: 'mysql://root@127.0.0.1:3306/test' };
const diagnosis = { total: 1, borrowed: 1, idle: 0, connecting: 0, waiting: 0, max: 1, holders: [], cause: 'pool too small' as const, explanation: '' };

function timedOut(poolId: string, borrowerId: string, t: number): PoolEvent[] {
  return [
    ev({ type: 'borrower.enqueued', poolId, borrowerId, label: borrowerId, site: 'a.ts:1', deadline: null }, t - 10),
    ev({ type: 'borrower.timedout', borrowerId, waitedMs: 10, message: 'timed out', diagnosis }, t),
  ];
}

/** p1 active on `target`, with a scenario open and noting something, and one timeout. */
function withTimeout(): Snapshot {
  return reduceAll(emptySnapshot(), [
    ev({ type: 'pool.created', poolId: 'p1', target, settings: pgSettings() }),
    ev({ type: 'pool.verified', poolId: 'p1', serverVersion: '18', tls: null }),
    ev({ type: 'scenario.opened', name: 'leak', title: 'Leak', description: '', steps: [] }),
    ev({ type: 'scenario.noted', index: 0, text: 'the pool is dry' }),
    ...timedOut('p1', 'b1', 5_000),
  ]);
}

describe('the timeout diagnosis belongs to the target, the pool and the scenario on screen', () => {
  it('names its pool and its target as shown', () => {
    const s = withTimeout();
    expect(s.lastTimeout).toMatchObject({ borrowerId: 'b1', poolId: 'p1', target: target.display });
  });

  it('is cleared with the scenario note when the target changes, kept when only the settings do', () => {
    const s = withTimeout();
    reduceAll(s, [ev({ type: 'pool.created', poolId: 'p2', target, settings: pgSettings({ max: 5 }) }), ev({ type: 'pool.verified', poolId: 'p2', serverVersion: '18', tls: null })]);
    expect(s.lastTimeout?.borrowerId).toBe('b1');
    expect(s.scenario?.note).toBe('the pool is dry');
    reduceAll(s, [ev({ type: 'pool.created', poolId: 'p3', target: other, settings: pgSettings() }), ev({ type: 'pool.verified', poolId: 'p3', serverVersion: '11.8', tls: null })]);
    expect(s.lastTimeout).toBeNull();
    expect(s.scenario).toMatchObject({ note: null, noteStep: null });
  });

  it('never names another target: a timeout in a pool draining on the previous target is not shown', () => {
    const s = withTimeout();
    reduceAll(s, [ev({ type: 'pool.created', poolId: 'p3', target: other, settings: pgSettings() }), ev({ type: 'pool.verified', poolId: 'p3', serverVersion: '11.8', tls: null })]);
    reduceAll(s, timedOut('p1', 'b2', 9_000));
    expect(s.lastTimeout).toBeNull();
    reduceAll(s, timedOut('p3', 'b3', 9_500));
    expect(s.lastTimeout).toMatchObject({ borrowerId: 'b3', target: other.display });
  });

  it('is cleared when a scenario opens or restarts (the runner opens it again)', () => {
    const s = withTimeout();
    reduce(s, ev({ type: 'scenario.opened', name: 'leak', title: 'Leak', description: '', steps: [] }));
    expect(s.lastTimeout).toBeNull();
  });

  it('is cleared with the scenario when the scenario is closed', () => {
    const s = withTimeout();
    reduce(s, ev({ type: 'scenario.closed', name: 'leak' }));
    expect(s.scenario).toBeNull();
    expect(s.lastTimeout).toBeNull();
  });
});

describe('dismissing the diagnosis', () => {
  const first = { t: 5_000, borrowerId: 'b1' };
  it('hides it in every later snapshot (a new object each time) until a newer timeout', () => {
    const dismissed = dismissalOf(first);
    expect(shownTimeout(first, null)).toBe(first);
    // The same timeout in a replaced snapshot: equal, not identical.
    expect(shownTimeout(structuredClone(first), dismissed)).toBeNull();
    expect(shownTimeout({ t: 4_000, borrowerId: 'b0' }, dismissed)).toBeNull();
    const newer = { t: 5_001, borrowerId: 'b2' };
    expect(shownTimeout(newer, dismissed)).toBe(newer);
    // Another borrower in the same millisecond is a newer timeout too.
    const sameMs = { t: 5_000, borrowerId: 'b3' };
    expect(shownTimeout(sameMs, dismissed)).toBe(sameMs);
    expect(shownTimeout(null, dismissed)).toBeNull();
  });
});

describe('an injected fault', () => {
  it('is listed while set and named by the timeout diagnosis before what the counts suggest', () => {
    const s = reduceAll(emptySnapshot(), [
      ev({ type: 'pool.created', poolId: 'p1', target, settings: pgSettings({ max: 1 }) }),
      ev({ type: 'connection.connecting', poolId: 'p1', connId: 'p1.c1' }),
      ev({ type: 'connection.opened', connId: 'p1.c1', serverId: 7, handshake: { socketMs: 1, sshMs: null, tlsMs: null, authMs: 1, readyMs: 1, totalMs: 3 } }),
      ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'b1', label: 'holder', site: 'a.ts:1', deadline: null }),
      ev({ type: 'borrower.acquired', borrowerId: 'b1', connId: 'p1.c1', waitedMs: 0 }),
      ev({ type: 'statement.started', connId: 'p1.c1', sql: 'SELECT 1' }),
      ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'b2', label: 'waiter', site: 'a.ts:2', deadline: null }),
    ]);
    expect(activeFaults(s.faults)).toEqual([]);
    expect(diagnoseTimeout(s, 'p1', 0, s.t).cause).toBe('slow queries');

    reduce(s, ev({ type: 'fault.changed', toxics: { ...NO_TOXICS, blackhole: true }, proxy: { listen: '127.0.0.1:1', upstream: '127.0.0.1:5432' } }));
    reduce(s, ev({ type: 'fault.injected', faultId: 1, kind: 'blackhole', detail: 'blackhole: the proxy accepts and forwards nothing' }));
    expect(activeFaults(s.faults)).toEqual(['blackhole: the proxy accepts and forwards nothing']);
    const d = diagnoseTimeout(s, 'p1', 0, s.t);
    expect(d.cause).toBe('injected fault');
    expect(d.explanation).toContain('blackhole');
    expect(d.explanation).toContain('slow queries');

    reduce(s, ev({ type: 'fault.lifted', faultId: 1 }));
    reduce(s, ev({ type: 'fault.changed', toxics: { ...NO_TOXICS, latencyMs: 200 }, proxy: { listen: '127.0.0.1:1', upstream: '127.0.0.1:5432' } }));
    expect(activeFaults(s.faults)).toEqual(['latency 200 ms']);
    reduce(s, ev({ type: 'fault.changed', toxics: { ...NO_TOXICS }, proxy: { listen: '127.0.0.1:1', upstream: '127.0.0.1:5432' } }));
    expect(activeFaults(s.faults)).toEqual([]);
    expect(diagnoseTimeout(s, 'p1', 0, s.t).cause).toBe('slow queries');
  });
});
