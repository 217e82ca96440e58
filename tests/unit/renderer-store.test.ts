import { describe, expect, it } from 'vitest';
import type { Batch, CommandName, Commands, Transport } from '../../shared/api';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { reduceAll } from '../../shared/reducer';
import { emptySnapshot, poolCounts, type Snapshot } from '../../shared/snapshot';
import { PoolStore, type SyncStatus } from '../../renderer/src/lib/store/pool-store';
import { handshake, pgSettings, target } from './helpers/fixtures';

// The renderer store against a fake, in-memory transport; the "engine" side folds the
// same events with the shared reducer, so the store's copy can be compared with it.

const settings = pgSettings({ max: 4, idleTimeoutMs: 10_000 });

/** An engine: a log of events with seqs, and its snapshot at any seq. */
class FakeEngine {
  readonly events: PoolEvent[] = [];

  emit(...bodies: PoolEventBody[]): PoolEvent[] {
    return bodies.map((b) => {
      const e = { ...b, seq: this.events.length + 1, t: 1_000 + this.events.length } as PoolEvent;
      this.events.push(e);
      return e;
    });
  }

  snapshotAt(seq: number): Snapshot {
    return reduceAll(emptySnapshot(), structuredClone(this.events.slice(0, seq)));
  }

  batch(from: number, to: number): Batch {
    return { from, to, events: structuredClone(this.events.slice(from - 1, to)) };
  }
}

/** A busy pool: two connections, borrowers coming and going, a transaction. */
function script(engine: FakeEngine): void {
  engine.emit(
    { type: 'pool.created', poolId: 'p1', target, settings },
    { type: 'connection.connecting', poolId: 'p1', connId: 'p1.c1' },
    { type: 'connection.opened', connId: 'p1.c1', serverId: 101, handshake },
    { type: 'pool.verified', poolId: 'p1', serverVersion: '18.4', tls: null },
    { type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'p1.b1', label: 'a', site: 'a.ts:1', deadline: null },
    { type: 'borrower.acquired', borrowerId: 'p1.b1', connId: 'p1.c1', waitedMs: 0.2 },
    { type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'p1.b2', label: 'b', site: 'b.ts:2', deadline: 5_000 },
    { type: 'connection.connecting', poolId: 'p1', connId: 'p1.c2' },
    { type: 'connection.opened', connId: 'p1.c2', serverId: 102, handshake },
    { type: 'borrower.acquired', borrowerId: 'p1.b2', connId: 'p1.c2', waitedMs: 3 },
    { type: 'tx.began', connId: 'p1.c2' },
    { type: 'statement.summary', connId: 'p1.c2', started: 3, errors: 0, sql: 'UPDATE t SET x = 1', since: 1_011, finishedAt: 1_010, lastError: null },
    { type: 'borrower.released', borrowerId: 'p1.b1', connId: 'p1.c1', heldMs: 4, dirty: false, destroyed: false },
    { type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'p1.b3', label: 'c', site: 'c.ts:3', deadline: null },
    { type: 'borrower.acquired', borrowerId: 'p1.b3', connId: 'p1.c1', waitedMs: 1 },
    { type: 'borrower.enqueued', poolId: 'p1', borrowerId: 'p1.b4', label: 'd', site: 'd.ts:4', deadline: null },
  );
}

class FakeTransport implements Transport {
  readonly calls: string[] = [];
  readonly #listeners = new Set<(b: Batch) => void>();
  readonly #pending: { resolve: (v: { seq: number; snapshot: Snapshot }) => void; reject: (e: Error) => void }[] = [];

  invoke<K extends CommandName>(cmd: K, _req: Commands[K]['req']): Promise<Commands[K]['res']> {
    this.calls.push(cmd);
    if (cmd !== 'snapshot.get') return Promise.resolve(undefined as Commands[K]['res']);
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve: resolve as (v: { seq: number; snapshot: Snapshot }) => void, reject });
    });
  }

  subscribe(onBatch: (b: Batch) => void): () => void {
    this.calls.push('subscribe');
    this.#listeners.add(onBatch);
    return () => this.#listeners.delete(onBatch);
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  get waiting(): number {
    return this.#pending.length;
  }

  send(batch: Batch): void {
    for (const l of this.#listeners) l(batch);
  }

  /** Answers the oldest snapshot.get and lets its continuation run. */
  async answer(engine: FakeEngine, seq: number): Promise<void> {
    const p = this.#pending.shift();
    if (!p) throw new Error('no snapshot.get is waiting');
    p.resolve({ seq, snapshot: engine.snapshotAt(seq) });
    await Promise.resolve();
    await Promise.resolve();
  }

  async fail(message: string): Promise<void> {
    const p = this.#pending.shift();
    if (!p) throw new Error('no snapshot.get is waiting');
    p.reject(new Error(message));
    await Promise.resolve();
    await Promise.resolve();
  }
}

function setup() {
  const engine = new FakeEngine();
  script(engine);
  const transport = new FakeTransport();
  const timers: (() => void)[] = [];
  const store = new PoolStore(transport, { setTimer: (fn) => timers.push(fn), clearTimer: () => {} });
  const statuses: SyncStatus[] = [];
  const applied: number[][] = [];
  let rebased = 0;
  store.listen({
    status: (s) => statuses.push(s),
    applied: (events) => applied.push(events.map((e) => e.seq)),
    rebased: () => rebased++,
  });
  return { engine, transport, store, statuses, applied, timers, rebased: () => rebased };
}

describe('the renderer pool store', () => {
  it('subscribes before it asks for the snapshot, then follows batches with the shared reducer', async () => {
    const { engine, transport, store, applied } = setup();
    store.start();
    expect(transport.calls).toEqual(['subscribe', 'snapshot.get']);
    expect(store.status).toBe('connecting');

    await transport.answer(engine, 4);
    expect(store.status).toBe('live');
    expect(store.snapshot).toEqual(engine.snapshotAt(4));

    transport.send(engine.batch(5, 10));
    transport.send(engine.batch(11, 16));
    expect(applied).toEqual([
      [5, 6, 7, 8, 9, 10],
      [11, 12, 13, 14, 15, 16],
    ]);
    expect(store.lastTo).toBe(16);
    expect(store.snapshot).toEqual(engine.snapshotAt(16));
    expect(poolCounts(store.snapshot, 'p1')).toMatchObject({ total: 2, borrowed: 2, waiting: 1 });
    expect(store.snapshot.connections['p1.c2']).toMatchObject({ state: 'in-transaction', txStatements: 3, statement: 'UPDATE t SET x = 1' });
  });

  it('buffers batches until the snapshot arrives and folds only what reaches past it', async () => {
    const { engine, transport, store, applied } = setup();
    store.start();
    // The host subscribed us at seq 2; the snapshot is taken at seq 7, inside the second batch.
    transport.send(engine.batch(3, 5));
    transport.send(engine.batch(6, 9));
    transport.send(engine.batch(10, 12));
    expect(applied).toEqual([]);
    expect(store.hasSnapshot).toBe(false);

    await transport.answer(engine, 7);
    // [3..5] is skipped, only 8 and 9 of [6..9] are folded, [10..12] whole.
    expect(applied).toEqual([[8, 9], [10, 11, 12]]);
    expect(store.snapshot).toEqual(engine.snapshotAt(12));
    // Counters were not counted twice.
    expect(store.snapshot.counters.acquired).toBe(2);
    expect(store.snapshot.acquireWait.total).toBe(2);

    transport.send(engine.batch(13, 16));
    expect(store.snapshot).toEqual(engine.snapshotAt(16));
  });

  it('rebases on a new snapshot when a batch does not follow the last one', async () => {
    const { engine, transport, store, applied, statuses, rebased } = setup();
    store.start();
    await transport.answer(engine, 5);
    transport.send(engine.batch(6, 8));
    expect(store.lastTo).toBe(8);

    // 9..10 were lost on the way.
    transport.send(engine.batch(11, 12));
    expect(store.status).toBe('resyncing');
    expect(transport.waiting).toBe(1);
    expect(applied).toEqual([[6, 7, 8]]);
    // The copy is kept (not cleared) while the new snapshot is on its way.
    expect(store.snapshot.seq).toBe(8);

    transport.send(engine.batch(13, 14));
    await transport.answer(engine, 13);
    expect(store.rebases).toBe(1);
    expect(rebased()).toBe(2);
    expect(applied.at(-1)).toEqual([14]);
    expect(store.snapshot).toEqual(engine.snapshotAt(14));
    expect(statuses).toEqual(['connecting', 'live', 'resyncing', 'live']);

    transport.send(engine.batch(15, 16));
    expect(store.snapshot).toEqual(engine.snapshotAt(16));
  });

  it('rebases on a transport reconnect gap and when the host restarted and counts from 1 again', async () => {
    const { engine, transport, store } = setup();
    store.start();
    await transport.answer(engine, 10);

    // The WebSocket transport's reconnect marker: no events, from = to = -1.
    transport.send({ from: -1, to: -1, events: [] });
    expect(store.status).toBe('resyncing');
    await transport.answer(engine, 12);
    expect(store.snapshot).toEqual(engine.snapshotAt(12));

    // A restarted host: a fresh log.
    const fresh = new FakeEngine();
    fresh.emit({ type: 'pool.created', poolId: 'p1', target, settings }, { type: 'connection.connecting', poolId: 'p1', connId: 'p1.c1' });
    transport.send(fresh.batch(1, 2));
    expect(store.status).toBe('resyncing');
    await transport.answer(fresh, 2);
    expect(store.snapshot).toEqual(fresh.snapshotAt(2));
    expect(store.rebases).toBe(2);
  });

  it('rebases again when even the buffered batches leave a gap after the new snapshot', async () => {
    const { engine, transport, store } = setup();
    store.start();
    transport.send(engine.batch(9, 10));
    await transport.answer(engine, 6);
    // 7..8 never came: ask again.
    expect(store.status).toBe('resyncing');
    expect(transport.waiting).toBe(1);
    transport.send(engine.batch(11, 12));
    await transport.answer(engine, 10);
    expect(store.snapshot).toEqual(engine.snapshotAt(12));
  });

  it('says it is offline when the snapshot cannot be read, and retries', async () => {
    const { engine, transport, store, timers } = setup();
    store.start();
    await transport.fail('socket closed');
    expect(store.status).toBe('offline');
    expect(store.error).toContain('socket closed');
    expect(timers).toHaveLength(1);
    timers[0]?.();
    expect(transport.waiting).toBe(1);
    await transport.answer(engine, 3);
    expect(store.status).toBe('live');
    expect(store.error).toBeNull();
  });

  it('rebases when told the transport reconnected, once, and at once after a failed attempt', async () => {
    const { engine, transport, store } = setup();
    store.start();
    await transport.answer(engine, 8);
    store.resync();
    expect(store.status).toBe('resyncing');
    // A second signal for the same reconnect (the gap batch) finds the fetch under way.
    store.resync();
    transport.send({ from: -1, to: -1, events: [] });
    expect(transport.waiting).toBe(1);
    await transport.fail('disconnected');
    expect(store.status).toBe('offline');
    store.resync();
    expect(transport.waiting).toBe(1);
    await transport.answer(engine, 12);
    expect(store.status).toBe('live');
    expect(store.snapshot).toEqual(engine.snapshotAt(12));
  });

  it('stops listening when stopped, and ignores a snapshot that arrives after', async () => {
    const { engine, transport, store } = setup();
    store.start();
    store.stop();
    expect(transport.listeners).toBe(0);
    await transport.answer(engine, 3);
    expect(store.hasSnapshot).toBe(false);
    expect(store.status).toBe('stopped');
  });
});
