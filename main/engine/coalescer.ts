import type { Batch } from '../../shared/api';
import type { PoolEvent } from '../../shared/events';
import type { Clock, TimerHandle } from './clock';
import type { EventLog } from './event-log';

/**
 * Batches the event log for a transport: at most `perSecond` batches, each the log's
 * folded chunks since the last (statement runs and borrowers served clean arrive as
 * summaries, see EventFolder), so a UI never receives per-request events at the pool's
 * rate. A batch the transport could not deliver is dropped: the receiver sees the gap in
 * `from` and rebases on a snapshot.
 */
export class Coalescer {
  readonly #log: EventLog;
  readonly #clock: Clock;
  readonly #send: (batch: Batch) => boolean;
  readonly #intervalMs: number;
  readonly #unsubscribe: () => void;
  #pending: PoolEvent[] = [];
  #from: number;
  #to: number;
  #timer: TimerHandle | null = null;
  #lastFlush = -Infinity;

  constructor(log: EventLog, clock: Clock, send: (batch: Batch) => boolean, perSecond = 60) {
    this.#log = log;
    this.#clock = clock;
    this.#send = send;
    this.#intervalMs = 1_000 / perSecond;
    // Events already folded belong to the snapshot the receiver starts from, not to a batch.
    const folded = log.live.seq;
    this.#from = folded + 1;
    this.#to = folded;
    this.#unsubscribe = log.subscribeFolded((events, to) => this.#take(events, to));
  }

  stop(): void {
    this.#unsubscribe();
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  /** Sends what is pending now (tests; a host's last words before closing). */
  flush(): void {
    this.#log.fold();
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    if (this.#to < this.#from) return;
    const batch: Batch = { from: this.#from, to: this.#to, events: this.#pending };
    this.#from = this.#to + 1;
    this.#pending = [];
    this.#lastFlush = this.#clock.now();
    this.#send(batch);
  }

  #take(events: readonly PoolEvent[], to: number): void {
    for (const e of events) this.#pending.push(e);
    this.#to = to;
    if (this.#timer === null) {
      // Whole milliseconds, rounded up: a timer for 16.67 ms may fire after 16, and 60/s became 62.
      const wait = Math.ceil(Math.max(0, this.#lastFlush + this.#intervalMs - this.#clock.now()));
      this.#timer = this.#clock.setTimer(() => this.flush(), wait);
    }
  }
}
