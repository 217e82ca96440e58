import { describe, expect, it } from 'vitest';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { EventJournal, NO_FILTER, describeEvent, idMatches, matchesFilter } from '../../renderer/src/lib/store/journal';

let seq = 0;
const ev = (b: PoolEventBody): PoolEvent => ({ ...b, seq: ++seq, t: 1_700_000_000_000 + seq }) as PoolEvent;

const enq = (b: string) => ev({ type: 'borrower.enqueued', poolId: 'p1', borrowerId: b, label: 'load #1', site: 'app.ts:10', deadline: null });
const acq = (b: string, c: string) => ev({ type: 'borrower.acquired', borrowerId: b, connId: c, waitedMs: 2 });
const began = (c: string) => ev({ type: 'tx.began', connId: c });

describe('the event journal', () => {
  it('keeps the last N events in a ring, newest first', () => {
    const j = new EventJournal(5);
    const events = [enq('p1.b1'), acq('p1.b1', 'p1.c1'), began('p1.c1'), enq('p1.b2'), acq('p1.b2', 'p1.c2'), began('p1.c2'), began('p1.c11')];
    j.push(events.slice(0, 3));
    j.push(events.slice(3));
    expect(j.length).toBe(5);
    expect(j.received).toBe(7);
    const all = j.query();
    expect(all.map((e) => e.event.seq)).toEqual(events.slice(2).reverse().map((e) => e.seq));
    // Keys are unique and newest is highest.
    expect(all.map((e) => e.key)).toEqual([6, 5, 4, 3, 2]);
    expect(j.query(NO_FILTER, 2)).toHaveLength(2);
  });

  it('keeps only the tail of a batch larger than the ring', () => {
    const j = new EventJournal(3);
    const events = Array.from({ length: 10 }, (_, i) => began(`p1.c${i}`));
    j.push(events);
    expect(j.length).toBe(3);
    expect(j.received).toBe(10);
    expect(j.query().map((e) => e.event.seq)).toEqual(events.slice(7).reverse().map((e) => e.seq));
    expect(new Set(j.query().map((e) => e.key)).size).toBe(3);
  });

  it('filters by type prefix, connection and borrower', () => {
    const j = new EventJournal(100);
    j.push([enq('p1.b1'), acq('p1.b1', 'p1.c1'), began('p1.c1'), acq('p1.b12', 'p1.c11'), began('p1.c11')]);
    expect(j.query({ ...NO_FILTER, type: 'tx.' }).map((e) => e.event.type)).toEqual(['tx.began', 'tx.began']);
    expect(j.query({ ...NO_FILTER, type: 'borrower.acquired' })).toHaveLength(2);
    // "c1" is p1.c1, not p1.c11.
    const c1 = j.query({ ...NO_FILTER, conn: 'c1' });
    expect(c1.map((e) => e.event.type)).toEqual(['tx.began', 'borrower.acquired']);
    expect(j.count({ ...NO_FILTER, conn: 'p1.c11' })).toBe(2);
    expect(j.query({ ...NO_FILTER, borrower: 'b1' })).toHaveLength(2);
    expect(j.query({ type: 'borrower.', conn: 'c1', borrower: 'B1', monitor: false })).toHaveLength(1);
    expect(j.count(NO_FILTER)).toBe(5);
  });

  it('matches ids whole or by their last part, case-insensitively', () => {
    expect(idMatches('p1.c3', 'c3')).toBe(true);
    expect(idMatches('p1.c3', 'P1.C3')).toBe(true);
    expect(idMatches('p1.c33', 'c3')).toBe(false);
    expect(idMatches(null, 'c3')).toBe(false);
    expect(idMatches(null, ' ')).toBe(true);
    expect(matchesFilter(enq('p1.b1'), { ...NO_FILTER, conn: 'c1' })).toBe(false);
  });

  it('stops appending while paused but keeps counting', () => {
    const j = new EventJournal(10);
    j.push([began('p1.c1')]);
    j.setPaused(true);
    j.push([began('p1.c2'), began('p1.c3')]);
    expect(j.length).toBe(1);
    expect(j.received).toBe(3);
    expect(j.skipped).toBe(2);
    j.setPaused(false);
    j.push([began('p1.c4')]);
    expect(j.query().map((e) => (e.event.type === 'tx.began' ? e.event.connId : ''))).toEqual(['p1.c4', 'p1.c1']);
    j.setPaused(true);
    expect(j.skipped).toBe(0);
  });

  it("hides the monitor's server.observed events unless asked for", () => {
    const j = new EventJournal(100);
    const observed = () => ev({ type: 'server.observed', sessions: [], maxConnections: 100, reserved: 3, monitorId: 7, note: null });
    j.push([observed(), began('p1.c1'), observed(), observed()]);
    expect(j.query().map((e) => e.event.type)).toEqual(['tx.began']);
    expect(j.count(NO_FILTER)).toBe(1);
    expect(j.query({ ...NO_FILTER, monitor: true })).toHaveLength(4);
    expect(j.count({ ...NO_FILTER, monitor: true, type: 'server.' })).toBe(3);
    expect(describeEvent(observed())).toBe('0 server sessions of max_connections 100');
  });

  it('says what happened for the events that used to show an empty row', () => {
    const lines = [
      ev({ type: 'pool.draining', poolId: 'p1', waiting: 2, holding: 1 }),
      ev({ type: 'fault.changed', toxics: { latencyMs: 200, jitterMs: 0, bandwidthKbps: 0, blackhole: false, refuse: false }, proxy: { listen: '127.0.0.1:40000', upstream: '127.0.0.1:5432' } }),
      ev({ type: 'fault.injected', faultId: 3, kind: 'blackhole', detail: '' }),
      ev({ type: 'fault.lifted', faultId: 3 }),
      ev({ type: 'sweep.measured', size: 8, throughput: 101.4, p50Ms: 12, p99Ms: 40, failed: 0 }),
      ev({ type: 'scenario.noted', index: 0, text: 'Watch the waiting line.' }),
      ev({ type: 'scenario.changed', state: 'playing', current: 0, goal: 4 }),
      ev({ type: 'scenario.closed', name: 'leak' }),
      ev({ type: 'record.changed', recording: true, fromSeq: 12 }),
      ev({ type: 'compare.changed', running: false, concurrency: 4, query: 'point', perRequestPoolId: null }),
    ].map(describeEvent);
    expect(lines).toEqual([
      'replaced: serving its 2 waiting borrowers and 1 holder, then ending',
      'link: latency 200 ms, through the fault proxy 127.0.0.1:40000',
      'fault 3: blackhole',
      'fault 3 lifted: waiting for the pool to serve',
      'pool of 8: 101 req/s, p50 12 ms, p99 40 ms',
      'note: Watch the waiting line.',
      'playing at step 1, going back to step 5',
      'closed leak',
      'recording from event 12',
      'per-request vs pooled stopped',
    ]);
  });

  it('describes events in a few words', () => {
    expect(describeEvent(acq('p1.b1', 'p1.c1'))).toBe('waited 2.0 ms');
    expect(describeEvent(ev({ type: 'connection.closed', connId: 'c', reason: 'idle timeout', error: null }))).toBe('idle timeout');
    expect(describeEvent(ev({ type: 'statement.summary', connId: 'c', started: 3, errors: 1, sql: null, since: null, finishedAt: 1, lastError: 'boom' }))).toBe(
      '3 statements, 1 error (boom)',
    );
    expect(
      describeEvent(ev({ type: 'borrower.summary', connId: 'c', served: 2, waits: [0.5, 4], started: 3, errors: 0, lastError: null, finishedAt: 1, releasedAt: 2 })),
    ).toBe('2 borrowers served, waited up to 4.0 ms, 3 statements');
  });
});
