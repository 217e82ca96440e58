import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { reduce } from '../../shared/reducer';
import { emptySnapshot, type Snapshot } from '../../shared/snapshot';
import type { Clock, TimerHandle } from './clock';
import { EventFolder } from './event-folder';
import { PoolRows } from './pool/pool-rows';

export type EventListener = (e: PoolEvent) => void;
/** A folded chunk of events (see EventFolder) and the seq of the last event it covers. */
export type ChunkListener = (events: readonly PoolEvent[], to: number) => void;
/** A listener and the last seq emitted before it subscribed: it gets the events after. */
interface Subscriber {
  readonly listener: EventListener;
  readonly after: number;
  readonly summaries: boolean;
}

// How long events may wait to be folded, and how many: the live snapshot folds on read
// anyway; these bound the work a fold does and how late a transport sees events. About
// one coalescer interval (60/s), so that a batch is one chunk: at 8 ms, two chunks per
// batch doubled the bytes sent (tests/bench pipeline).
const FOLD_AFTER_MS = 16;
const FOLD_AT = 4_096;

/**
 * Stamps events with a monotonic sequence number and the clock's time, hands them to
 * listeners, and folds them into the live snapshot with the shared reducer.
 *
 * Delivery waits for the end of the event loop's turn (setImmediate), or for the first
 * reader that needs it (the snapshot, a fold, a listener joining or leaving), so that a
 * borrower's events are folded and handed to listeners while its statement is with the
 * database, not between the database's answer and the next request (tests/bench,
 * PostgreSQL `SELECT 1`, one client: from 96–97% of the bare pool's throughput to
 * 98–101%). Events reach every listener in seq order, and an event a listener emits
 * comes after the one it was handed.
 *
 * Our own pools' borrowers, statements and releases are not events when they happen: they
 * are rows in the attach agent's ring (`rows`, pool/pool-rows.ts), read into events in order
 * before anything emitted after them, when the log folds and whenever a reader needs them.
 * A borrower served clean between two reads is folded there, as it releases, into its
 * connection's `borrower.summary`, and never becomes an event of its own, unless a listener
 * that wants every event is subscribed (a recording, a test: subscribe() without
 * `summaries`, or everyEvent()); then the rows are read at the end of each turn instead.
 *
 * Folding is deferred further and done in chunks: events are folded when the snapshot
 * is read, or FOLD_AFTER_MS after the first unfolded one, whichever comes first, so a
 * reader never sees a stale snapshot. A chunk goes through the EventFolder first (a
 * borrower served clean becomes part of one summary per connection), is reduced into the
 * live snapshot, and is handed as it is to the transports' coalescers: the per-request
 * events are summarised once, whatever the number of windows.
 *
 * It keeps no past events: whoever needs every event (a recording, a test) subscribes, and
 * a window starts from the snapshot. A ring of the latest ones, which nothing but tests
 * read, made every event survive a scavenge: with 65,536 of them the promotions cost the
 * watched pool about 3 µs of CPU per request, and 2,048 still 0.16–0.22 µs of scavenging
 * (tests/bench, MariaDB SELECT 1 at 1 client).
 */
export class EventLog {
  readonly #clock: Clock;
  #seq = 0;
  readonly #live: Snapshot = emptySnapshot();
  readonly #subscribers = new Set<Subscriber>();
  readonly #chunkListeners = new Set<ChunkListener>();
  readonly #folder = new EventFolder();
  /** Emitted, not yet delivered; kept from turn to turn. The first one in schedules delivery. */
  readonly #undelivered: PoolEvent[] = [];
  #delivering = false;
  readonly #deliverNow = () => this.#deliverStamped();
  #readScheduled = false;
  readonly #readNow = () => {
    this.#readScheduled = false;
    this.deliver();
  };
  /** The last seq handed to the folder and listeners. */
  #delivered = 0;
  /** The last seq folded into #live. */
  #folded = 0;
  #foldTimer: TimerHandle | null = null;
  /** Subscribers that need every borrower's own events: while there are any, none is folded. */
  #wantEveryEvent = 0;
  /** Our own pools' borrowers, statements and releases, as rows (pool-rows.ts); read in order before anything emitted after them. */
  readonly rows: PoolRows;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.rows = new PoolRows({
      now: () => clock.now(),
      foldable: () => this.#wantEveryEvent === 0,
      stamp: (body, t) => this.#stamp(body, t),
      wrote: () => {
        // Nothing folds while someone wants every event: the rows go out at the end of the turn.
        if (this.#wantEveryEvent > 0) this.#readSoon();
        else if (this.#foldTimer === null) this.#armFold();
      },
    });
  }

  /**
   * Stamps `body` itself, which becomes the event: callers hand over a fresh object and
   * keep no reference. Copying it (a spread over a dozen event shapes) cost more than
   * the rest of emit together (tests/bench). `t` is for a caller that has just read the
   * clock for its own figures (a wait, a hold): the hot path reads it once per event.
   */
  emit(body: PoolEventBody, t = this.#clock.now()): PoolEvent {
    if (this.rows.pending) this.rows.read();
    return this.#stamp(body, t);
  }

  #stamp(body: PoolEventBody, t: number): PoolEvent {
    const e = body as PoolEvent;
    e.seq = ++this.#seq;
    e.t = t;
    if (this.#undelivered.push(e) === 1) setImmediate(this.#deliverNow);
    if (this.#foldTimer === null) this.#armFold();
    return e;
  }

  #readSoon(): void {
    if (this.#readScheduled) return;
    this.#readScheduled = true;
    setImmediate(this.#readNow);
  }

  /** Hands the events emitted so far, rows written included, to the folder and to listeners, in order. */
  deliver(): void {
    if (this.rows.pending) this.rows.read();
    this.#deliverStamped();
  }

  // At the end of a turn: the events stamped so far; rows wait for the fold, so that a borrower
  // served within it folds (see the class comment).
  #deliverStamped(): void {
    // Called again from a listener (one that reads the snapshot) or from the fold below: the loop goes on.
    if (this.#delivering) return;
    this.#delivering = true;
    const events = this.#undelivered;
    try {
      // A listener may emit: its event is appended and delivered in this same loop.
      for (let i = 0; i < events.length; i++) {
        const e = events[i] as PoolEvent;
        this.#folder.push(e);
        this.#delivered = e.seq;
        for (const s of this.#subscribers) {
          if (e.seq <= s.after) continue;
          try {
            s.listener(e);
          } catch (err) {
            // A listener's bug must not stop the others, nor reach the pool that emitted long ago.
            console.error(`poolscope: an event listener failed on ${e.type} (seq ${e.seq}):`, err);
          }
        }
        if (this.#folder.size >= FOLD_AT) this.fold();
      }
    } finally {
      events.length = 0;
      this.#delivering = false;
    }
    // A fold inside the loop (a listener read the snapshot) took its timer with it.
    if (this.#folded < this.#delivered && this.#foldTimer === null) this.#armFold();
  }

  #armFold(): void {
    this.#foldTimer = this.#clock.setTimer(() => this.fold(), FOLD_AFTER_MS);
  }

  /**
   * Folds the events delivered so far into the live snapshot and hands them, as one
   * folded chunk, to chunk listeners. From a listener, that is up to the event it was
   * handed, as the snapshot was when that event was emitted.
   */
  fold(): void {
    this.deliver();
    if (this.#foldTimer !== null) this.#clock.clearTimer(this.#foldTimer);
    this.#foldTimer = null;
    if (this.#folded === this.#delivered) return;
    const chunk = this.#folder.take();
    for (const e of chunk) reduce(this.#live, e);
    this.#live.seq = this.#delivered;
    this.#folded = this.#delivered;
    for (const l of this.#chunkListeners) l(chunk, this.#delivered);
  }

  /**
   * Every event emitted while subscribed, in order (handed over as the class comment says).
   * `summaries`: the listener accepts borrowers served clean as their connection's
   * `borrower.summary` (it reads the snapshot, or follows borrowers only while they hold);
   * without it, no borrower is folded while it listens.
   * From inside a delivery (a listener subscribing another, or leaving), a new listener
   * gets the events emitted after it subscribed, and one that leaves gets nothing more.
   */
  subscribe(listener: EventListener, opts: { summaries?: boolean } = {}): () => void {
    // Events emitted before it subscribed are not its own (a delivery under way may still
    // hold some); those emitted before it unsubscribes are.
    this.deliver();
    const s: Subscriber = { listener, after: this.#seq, summaries: opts.summaries === true };
    this.#subscribers.add(s);
    const release = s.summaries ? () => {} : this.everyEvent();
    return () => {
      this.deliver();
      if (this.#subscribers.delete(s)) release();
    };
  }

  /**
   * Until the returned function is called, no borrower is folded: every one's own events are
   * emitted (for a listener that needs them only some of the time). Rows already written are
   * read first, so a borrower asking now is sent whole too.
   */
  everyEvent(): () => void {
    if (this.rows.pending) this.rows.read();
    this.#wantEveryEvent++;
    let held = true;
    return () => {
      if (held) this.#wantEveryEvent--;
      held = false;
    };
  }

  /** Folded chunks, in order, each ending at `to` (transports: see Coalescer). */
  subscribeFolded(listener: ChunkListener): () => void {
    this.#chunkListeners.add(listener);
    return () => this.#chunkListeners.delete(listener);
  }

  /** A copy of the current snapshot, safe to hand out. */
  snapshot(): Snapshot {
    return structuredClone(this.live);
  }

  /** The live snapshot itself, for engine code that only reads it. */
  get live(): Readonly<Snapshot> {
    if (this.#folded < this.#seq || this.rows.pending) this.fold();
    return this.#live;
  }
}
