import { expect } from 'vitest';
import type { EventOf, PoolEvent, PoolEventType } from '../../../shared/events';
import { isBorrowedState, poolCounts } from '../../../shared/snapshot';
import type { Engine } from '../../../main/engine/engine';

/**
 * Keeps every event of an engine from the moment it is made, and checks, after each one,
 * what must always hold: total <= max; a borrowed connection has exactly the borrower that
 * holds it; the waiting list is exactly the waiting borrowers.
 */
export class Recorder {
  /** Recorders not yet checked since they stopped: `setup/invariants.ts` checks them after every test. */
  static readonly unchecked = new Set<Recorder>();
  readonly #events: PoolEvent[] = [];
  readonly #violations: string[] = [];
  readonly #engine: Engine;
  readonly #stop: () => void;
  #stopped = false;
  #reported = 0;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#stop = engine.log.subscribe((e) => {
      this.#events.push(e);
      this.#check(e);
    });
    Recorder.unchecked.add(this);
  }

  /** Every event emitted so far: those the log would hand over at the end of this turn are delivered now. */
  get events(): readonly PoolEvent[] {
    this.#engine.log.deliver();
    return this.#events;
  }

  /** The invariants broken so far, checked at every event up to now (delivered first, as `events`). */
  get violations(): readonly string[] {
    this.#engine.log.deliver();
    return this.#violations;
  }

  of<K extends PoolEventType>(type: K): EventOf<K>[] {
    return this.events.filter((e): e is EventOf<K> => e.type === type);
  }

  /** Resolves with the first event (already seen or coming) that matches. */
  async waitFor<K extends PoolEventType>(type: K, pred: (e: EventOf<K>) => boolean = () => true, timeoutMs = 15_000): Promise<EventOf<K>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.of(type).find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} event matching within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  stop(): void {
    this.#engine.log.deliver();
    this.#stop();
    this.#stopped = true;
  }

  /** The invariants broken since the last call (once stopped, nothing more is delivered). */
  newlyBroken(): string[] {
    const all = this.#stopped ? this.#violations : this.violations;
    const fresh = all.slice(this.#reported);
    this.#reported = all.length;
    if (this.#stopped) Recorder.unchecked.delete(this);
    return fresh;
  }

  /** Asserts the invariants held at every event, and that our counts agree with the driver's now. */
  expectConsistent(): void {
    expect(this.violations).toEqual([]);
    const pool = this.#engine.pool;
    const ours = poolCounts(this.#engine.log.live, pool.id);
    const theirs = pool.driverCounts();
    expect({ total: ours.total, idle: ours.idle, waiting: ours.waiting }).toEqual(theirs);
  }

  #check(e: PoolEvent): void {
    const s = this.#engine.log.live;
    for (const poolId of Object.keys(s.pools)) {
      const c = poolCounts(s, poolId);
      if (c.total > c.max) this.#violations.push(`seq ${e.seq} ${e.type}: total ${c.total} > max ${c.max}`);
    }
    for (const conn of Object.values(s.connections)) {
      const holder = conn.borrowerId === null ? undefined : s.borrowers[conn.borrowerId];
      if (isBorrowedState(conn.state) && (!holder || holder.connId !== conn.id)) {
        this.#violations.push(`seq ${e.seq} ${e.type}: ${conn.id} is ${conn.state} without its holder`);
      }
      if (conn.state === 'idle' && conn.borrowerId !== null) {
        this.#violations.push(`seq ${e.seq} ${e.type}: ${conn.id} is idle but held by ${conn.borrowerId}`);
      }
    }
    const waiting = Object.values(s.borrowers).filter((b) => b.state === 'waiting').map((b) => b.id);
    if (waiting.length !== s.waiting.length || waiting.some((id) => !s.waiting.includes(id))) {
      this.#violations.push(`seq ${e.seq} ${e.type}: waiting list ${s.waiting.length} != waiting borrowers ${waiting.length}`);
    }
  }
}
