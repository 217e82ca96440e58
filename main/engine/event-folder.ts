import type { EventOf, PoolEvent } from '../../shared/events';

type StatementRun = EventOf<'statement.summary'>;
type Served = EventOf<'borrower.summary'>;

/** What the chunk knows of one connection (null: nothing now). */
interface ConnFold {
  /** The followed borrower holding it. */
  holder: Lifecycle | null;
  /** Its statement run, while no other event of the connection came after it. */
  run: StatementRun | null;
  /** Its borrower summary, under the same condition. */
  served: Served | null;
}

/** A borrower that enqueued in the current chunk, followed until it releases. */
interface Lifecycle {
  /** Where its enqueued and acquired events and its statement run sit in the pending list (-1: none). */
  enqueuedAt: number;
  acquiredAt: number;
  runAt: number;
  connId: string | null;
  waitedMs: number;
  /** Nothing but its own borrow, statements and release touched it or its connection. */
  clean: boolean;
}

/**
 * Folds a chunk of events (everything between two take()s) so that the per-request
 * events do not have to be reduced or sent one by one:
 * - each connection's consecutive statement events become one `statement.summary`;
 * - a borrower that enqueued, acquired, ran its statements and released clean becomes
 *   part of its connection's `borrower.summary` (its events are dropped from the chunk),
 *   as long as no other event of that connection came between.
 * Reducing the chunks gives the snapshot the raw events give, wherever the chunks are cut
 * (tests/unit/coalescer.test.ts).
 *
 * Nothing is deleted from its maps within a chunk: a Map that gains and loses a key per
 * request reallocates its table every few operations, and those tables ended up as garbage
 * in the old generation (tests/bench).
 * A connection's entry is emptied instead, and a borrower's stays until take().
 */
export class EventFolder {
  /**
   * This chunk's events in order, in the first #count slots; null where a borrower's
   * event was folded into a summary. Kept from chunk to chunk: an array grown anew for
   * each chunk was old-generation garbage too.
   */
  readonly #pending: (PoolEvent | null)[] = [];
  #count = 0;
  readonly #conns = new Map<string, ConnFold>();
  /** Lifecycles by borrower, released ones included. */
  readonly #lives = new Map<string, Lifecycle>();

  /** Entries held, folded ones included (a bound on what the next take() returns). */
  get size(): number {
    return this.#count;
  }

  /** The chunk folded so far, in order; starts the next. */
  take(): PoolEvent[] {
    const events: PoolEvent[] = [];
    const pending = this.#pending;
    for (let i = 0; i < this.#count; i++) {
      const e = pending[i];
      if (e) events.push(e);
    }
    pending.fill(null, 0, this.#count);
    this.#count = 0;
    this.#conns.clear();
    this.#lives.clear();
    return events;
  }

  /** Appends to the chunk; returns the entry's position. */
  #add(e: PoolEvent): number {
    this.#pending[this.#count] = e;
    return this.#count++;
  }

  #conn(connId: string): ConnFold {
    let c = this.#conns.get(connId);
    if (c === undefined) {
      c = { holder: null, run: null, served: null };
      this.#conns.set(connId, c);
    }
    return c;
  }

  push(e: PoolEvent): void {
    switch (e.type) {
      case 'borrower.enqueued':
        this.#lives.set(e.borrowerId, { enqueuedAt: this.#add(e), acquiredAt: -1, runAt: -1, connId: null, waitedMs: 0, clean: true });
        break;
      case 'borrower.acquired':
        this.#acquired(e);
        break;
      case 'statement.started':
      case 'statement.finished':
        this.#statement(e);
        break;
      case 'borrower.released':
        this.#released(e);
        break;
      default:
        this.#other(e);
    }
  }

  #acquired(e: EventOf<'borrower.acquired'>): void {
    const life = this.#lives.get(e.borrowerId);
    if (!life) return this.#other(e);
    const c = this.#conn(e.connId);
    c.run = null;
    c.holder = life;
    life.connId = e.connId;
    life.waitedMs = e.waitedMs;
    life.acquiredAt = this.#add(e);
  }

  #statement(e: EventOf<'statement.started'> | EventOf<'statement.finished'>): void {
    const c = this.#conn(e.connId);
    const holder = c.holder;
    // Statements of a borrower that is not followed are raw events of the connection.
    if (!holder) c.served = null;
    let run = c.run;
    if (!run) {
      run = { type: 'statement.summary', connId: e.connId, started: 0, errors: 0, sql: null, since: null, finishedAt: null, lastError: null, seq: e.seq, t: e.t };
      c.run = run;
      const at = this.#add(run);
      if (holder) {
        if (holder.runAt === -1) holder.runAt = at;
        else holder.clean = false;
      }
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
  }

  #released(e: EventOf<'borrower.released'>): void {
    const life = this.#lives.get(e.borrowerId);
    const c = this.#conn(e.connId);
    const run = c.run;
    c.holder = null;
    c.run = null;
    if (!life || !life.clean || life.connId !== e.connId || e.dirty || e.destroyed || (run !== null && run.sql !== null)) {
      if (life) life.clean = false;
      c.served = null;
      this.#add(e);
      return;
    }
    const pending = this.#pending;
    pending[life.enqueuedAt] = null;
    pending[life.acquiredAt] = null;
    if (life.runAt !== -1) pending[life.runAt] = null;
    // Released: no later event is about it, and its entry must not match one.
    life.clean = false;
    let sum = c.served;
    if (!sum) {
      sum = { type: 'borrower.summary', connId: e.connId, served: 0, waits: [], started: 0, errors: 0, lastError: null, finishedAt: null, releasedAt: e.t, seq: e.seq, t: e.t };
      c.served = sum;
      this.#add(sum);
    }
    sum.served++;
    sum.waits.push(life.waitedMs);
    if (run) {
      sum.started += run.started;
      sum.errors += run.errors;
      if (run.lastError !== null) sum.lastError = run.lastError;
      if (run.finishedAt !== null) sum.finishedAt = run.finishedAt;
    }
    sum.releasedAt = e.t;
    sum.seq = e.seq;
    sum.t = e.t;
  }

  // Any other event of a connection ends its runs and spoils its holder's lifecycle: what
  // follows may see a new transaction state or holder. One about a borrower spoils its own.
  #other(e: PoolEvent): void {
    if ('connId' in e) {
      const c = this.#conns.get(e.connId);
      if (c) {
        c.run = null;
        c.served = null;
        if (c.holder) c.holder.clean = false;
      }
    }
    if ('borrowerId' in e) {
      const life = this.#lives.get(e.borrowerId);
      if (life) life.clean = false;
    }
    this.#add(e);
  }
}
