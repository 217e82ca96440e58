import type { Clock, TimerHandle } from './clock';
import type { EventLog } from './event-log';

/** A threshold this long or longer is never reached by a borrower the log folds. */
const FOLDED_HOLD_MS = 1_000;

/**
 * HikariCP's leakDetectionThreshold: a borrower that holds its connection longer than
 * the threshold is flagged (borrower.flagged, with its call site in the snapshot), and
 * keeps the connection. One timer, set for the earliest holder due.
 */
export class LeakDetector {
  readonly #log: EventLog;
  readonly #clock: Clock;
  #thresholdMs = 0;
  #timer: TimerHandle | null = null;
  #dueAt = Infinity;
  #unsubscribe: () => void;

  constructor(log: EventLog, clock: Clock) {
    this.#log = log;
    this.#clock = clock;
    this.#unsubscribe = this.#listen(0);
  }

  // A borrower folded into a summary (EventLog) held its connection within one fold's interval,
  // tens of milliseconds: below FOLDED_HOLD_MS every borrower must be seen.
  #listen(thresholdMs: number): () => void {
    return this.#log.subscribe(
      (e) => {
        if (e.type === 'borrower.acquired' && this.#thresholdMs > 0) this.#schedule(e.t + this.#thresholdMs);
      },
      { summaries: thresholdMs === 0 || thresholdMs >= FOLDED_HOLD_MS },
    );
  }

  /** 0 turns detection off. */
  set(thresholdMs: number): void {
    this.#unsubscribe();
    this.#unsubscribe = this.#listen(thresholdMs);
    this.#thresholdMs = thresholdMs;
    this.#log.emit({ type: 'leak.thresholdset', thresholdMs });
    this.#cancel();
    if (thresholdMs > 0) this.#check();
  }

  stop(): void {
    this.#unsubscribe();
    this.#cancel();
  }

  #cancel(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#dueAt = Infinity;
  }

  #schedule(at: number): void {
    if (at >= this.#dueAt) return;
    this.#cancel();
    this.#dueAt = at;
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = null;
      this.#dueAt = Infinity;
      this.#check();
    }, Math.max(0, at - this.#clock.now()));
  }

  #check(): void {
    const now = this.#clock.now();
    const threshold = this.#thresholdMs;
    let next = Infinity;
    for (const b of Object.values(this.#log.live.borrowers)) {
      if (b.state !== 'holding' || b.flagged || b.acquiredAt === null || b.connId === null) continue;
      const due = b.acquiredAt + threshold;
      if (due <= now) {
        this.#log.emit({ type: 'borrower.flagged', borrowerId: b.id, connId: b.connId, heldMs: now - b.acquiredAt, thresholdMs: threshold });
      } else {
        next = Math.min(next, due);
      }
    }
    if (next < Infinity) this.#schedule(next);
  }
}
