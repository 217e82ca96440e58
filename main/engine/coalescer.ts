import type { Batch } from '../../shared/api';
import type { EventOf, PoolEvent } from '../../shared/events';
import type { Clock, TimerHandle } from './clock';
import type { EventLog } from './event-log';

type Summary = EventOf<'statement.summary'>;

/**
 * Batches the event log for a transport: at most `perSecond` batches, and each
 * connection's consecutive statement events folded into one `statement.summary`, so a
 * UI never receives per-query events at full rate. A batch the transport could not
 * deliver is dropped: the receiver sees the gap in `from` and rebases on a snapshot.
 */
export class Coalescer {
  readonly #clock: Clock;
  readonly #send: (batch: Batch) => boolean;
  readonly #intervalMs: number;
  readonly #unsubscribe: () => void;
  #pending: PoolEvent[] = [];
  readonly #runs = new Map<string, Summary>();
  #from: number;
  #to: number;
  #timer: TimerHandle | null = null;
  #lastFlush = -Infinity;

  constructor(log: EventLog, clock: Clock, send: (batch: Batch) => boolean, perSecond = 60) {
    this.#clock = clock;
    this.#send = send;
    this.#intervalMs = 1_000 / perSecond;
    this.#from = log.seq + 1;
    this.#to = log.seq;
    this.#unsubscribe = log.subscribe((e) => this.#push(e));
  }

  stop(): void {
    this.#unsubscribe();
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  /** Sends what is pending now (tests; a host's last words before closing). */
  flush(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    if (this.#to < this.#from) return;
    const batch: Batch = { from: this.#from, to: this.#to, events: this.#pending };
    this.#from = this.#to + 1;
    this.#pending = [];
    this.#runs.clear();
    this.#lastFlush = this.#clock.now();
    this.#send(batch);
  }

  #push(e: PoolEvent): void {
    this.#to = e.seq;
    if (e.type === 'statement.started' || e.type === 'statement.finished') {
      let run = this.#runs.get(e.connId);
      if (!run) {
        run = { type: 'statement.summary', connId: e.connId, started: 0, errors: 0, sql: null, since: null, finishedAt: null, lastError: null, seq: e.seq, t: e.t };
        this.#runs.set(e.connId, run);
        this.#pending.push(run);
      }
      if (e.type === 'statement.started') {
        run.started++;
        run.sql = e.sql;
        run.since = e.t;
      } else {
        run.sql = null;
        run.since = null;
        run.finishedAt = e.t;
        if (e.error !== null) {
          run.errors++;
          run.lastError = e.error;
        }
      }
      run.seq = e.seq;
      run.t = e.t;
    } else {
      // Any other event of the connection ends its run: what follows may see a new
      // transaction state or holder.
      if ('connId' in e) this.#runs.delete(e.connId);
      this.#pending.push(e);
    }
    if (this.#timer === null) {
      // Whole milliseconds, rounded up: a timer for 16.67 ms may fire after 16, and 60/s became 62.
      const wait = Math.ceil(Math.max(0, this.#lastFlush + this.#intervalMs - this.#clock.now()));
      this.#timer = this.#clock.setTimer(() => this.flush(), wait);
    }
  }
}
