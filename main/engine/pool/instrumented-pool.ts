import type { TargetInfo } from '../../../shared/events';
import { diagnoseTimeout, timeoutMessage } from '../../../shared/diagnosis';
import { callSite } from '../call-site';
import type { Clock, TimerHandle } from '../clock';
import { describeConnectError } from '../connect-errors';
import { PoolscopeError, type Scrubber, messageOf } from '../errors';
import type { EventLog } from '../event-log';
import { LinkedList } from '../linked-list';
import type { RowBorrower } from '../../agent/recorder.cjs';
import { Borrower } from './borrower';
import { type TargetSpec, specScrubber } from '../target-spec';
import type { ConnectionTracker } from './connection-tracker';
import type { Driver, QueryResult } from './driver';
import { statementTexts } from '../statement-text';
import { Lease, type LeaseContext } from './lease';

export interface BorrowOptions {
  /** What the borrower is, as people see it ("load #3", "leak"). */
  label?: string;
  /** Call site to show; captured from the caller's stack when absent. */
  site?: string;
  /** Whose request this is: cancelWaiting(owner) answers all of its borrowers still waiting at once. */
  owner?: object;
}

/**
 * Waiters answered (timed out, cancelled) in one turn of the event loop, at most: a spike of
 * 10,000 that times out or is stopped at once is answered over many turns, so the host keeps
 * serving its sockets and timers meanwhile.
 */
const ANSWERS_PER_TURN = 200;

/**
 * A driver's real pool, observed. Every request for a connection is a borrower from the
 * moment it asks: the wait is timed from our call, not from the driver's `acquire`
 * event (pg fires it only on hand-out, mysql2 not at all when a released connection
 * goes straight to a waiter), and the borrower learns its connection from the
 * driver's own callback, so queue order and wait times are exact for both drivers.
 */
export class InstrumentedPool<C = unknown> {
  readonly id: string;
  readonly target: TargetInfo;
  readonly #spec: TargetSpec;
  /** The fault proxy the driver dials instead of the target, if any. */
  readonly #via: { host: string; port: number } | null;
  readonly #driver: Driver<C>;
  readonly #tracker: ConnectionTracker;
  readonly #log: EventLog;
  readonly #clock: Clock;
  readonly #scrub: Scrubber;
  readonly #leaseContext: LeaseContext<C>;
  /** Borrowers waiting for a connection, in the order they asked. */
  readonly #waiting = new LinkedList<Borrower>();
  /** Borrowers holding a connection, in the order they got it. */
  readonly #holding = new LinkedList<Borrower>();
  #deadlineTimer: TimerHandle | null = null;
  /** Connections the driver handed to borrowers already answered, to give back (see #giveBack). */
  readonly #givingBack: C[] = [];
  #givingBackNow = false;
  #givenBackThisTurn = 0;
  /** Borrowers the driver timed out (pg: one timer each, all due in one turn under a spike), answered in turns. */
  #driverTimedOut: Borrower[] = [];
  #nextBorrower = 0;
  #ended: Promise<void> | null = null;
  /** Settles with end(), however it was reached (a drain that finished, or a stop). */
  #endedNow: (ended: Promise<void>) => void = () => {};
  readonly #whenEnded = new Promise<void>((resolve) => {
    this.#endedNow = resolve;
  });
  /** Set while draining: called whenever a borrower stops waiting or holding. */
  #onQuiet: (() => void) | null = null;

  constructor(opts: {
    id: string;
    spec: TargetSpec;
    via?: { host: string; port: number } | null;
    target: TargetInfo;
    driver: Driver<C>;
    tracker: ConnectionTracker;
    log: EventLog;
    clock: Clock;
  }) {
    this.id = opts.id;
    this.#spec = opts.spec;
    this.#via = opts.via ?? null;
    this.target = opts.target;
    this.#driver = opts.driver;
    this.#tracker = opts.tracker;
    this.#log = opts.log;
    this.#clock = opts.clock;
    this.#scrub = specScrubber(opts.spec);
    this.#leaseContext = {
      driver: this.#driver,
      tracker: this.#tracker,
      log: this.#log,
      clock: this.#clock,
      scrub: this.#scrub,
      text: statementTexts(opts.spec.engine, this.#scrub),
      done: (borrower) => {
        this.#holding.remove(borrower);
        this.#onQuiet?.();
      },
    };
    this.#log.emit({ type: 'pool.created', poolId: this.id, target: this.target, settings: this.#driver.settings });
  }

  get settings() {
    return this.#driver.settings;
  }

  /** The driver pool's own counts (pg.Pool's totalCount/idleCount/waitingCount, mysql2's queues). */
  driverCounts() {
    return this.#driver.counts();
  }

  /** Sockets of connections the driver has already dropped that have not closed (a leak if it stays above 0). */
  socketsLeftOpen(): number {
    return Math.max(0, this.#tracker.openCount - this.#driver.counts().total);
  }

  /** The lease a borrower holds now, if any (to release or destroy a leaked one from its row). */
  lease(borrowerId: string): Lease<unknown> | undefined {
    for (const b of this.#holding) if (b.id === borrowerId) return b.lease ?? undefined;
    return undefined;
  }

  borrow(opts: BorrowOptions = {}): Promise<Lease<C>> {
    const site = opts.site ?? callSite(this.borrow);
    const enqueuedAt = this.#clock.now();
    const timeoutMs = this.settings.acquireTimeoutMs;
    const deadline = this.settings.acquireTimeoutByEngine && timeoutMs > 0 ? enqueuedAt + timeoutMs : Infinity;
    // The executor runs at once: both are set before they are read.
    let resolve!: (lease: Lease<C>) => void;
    let reject!: (err: Error) => void;
    const answer = new Promise<Lease<C>>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    const shownDeadline = timeoutMs > 0 ? enqueuedAt + timeoutMs : null;
    const b = new Borrower(`${this.id}.b${++this.#nextBorrower}`, this.id, opts.label ?? 'borrower', site, enqueuedAt, deadline, shownDeadline, reject, opts.owner ?? null);
    b.row = this.#log.rows.enqueue(b);
    if (this.#ended) {
      b.waiting = false;
      return Promise.reject(this.#fail(b, new PoolscopeError('pool-ended', 'The pool has ended; no new borrowers are served.')));
    }
    this.#waiting.push(b);
    if (deadline < Infinity && this.#deadlineTimer === null) this.#armDeadline(deadline);

    const onConnection = (err: Error | null, conn?: C): void => {
      if (!b.waiting) {
        // Our own timeout, a cancel or the pool's end already answered this borrower; the
        // driver still handed a connection to its queued callback: give it back.
        if (conn !== undefined) this.#giveBack(conn);
        return;
      }
      if (err || conn === undefined) {
        const e = err ?? new Error('the driver returned no connection');
        if (this.#driver.isAcquireTimeout(e)) this.#answerTimeoutSoon(b);
        else this.#refuse(b, this.#fail(b, describeConnectError(e, this.#spec, this.#via)));
        return;
      }
      resolve(this.#hand(b, conn));
    };
    // A driver that throws instead of calling back (say, on its own bad options) has answered too.
    try {
      this.#driver.acquire(onConnection);
    } catch (err) {
      onConnection(err instanceof Error ? err : new Error(String(err)));
    }
    return answer;
  }

  // Where the driver has no acquire timeout (mysql2), ours: one timer for the whole
  // line, not one per borrower. Every borrower waits as long, so the line is in
  // deadline order and the first waiter is always the next due. At most
  // ANSWERS_PER_TURN are answered per firing; the rest at once in the next turn.
  #armDeadline(at: number): void {
    this.#deadlineTimer = this.#clock.setTimer(() => {
      this.#deadlineTimer = null;
      const now = this.#clock.now();
      let answered = 0;
      for (let b = this.#waiting.first; b !== null; b = this.#waiting.first) {
        if (b.deadline > now || answered === ANSWERS_PER_TURN) {
          if (b.deadline < Infinity) this.#armDeadline(b.deadline);
          return;
        }
        this.#refuse(b, this.#timedOut(b));
        answered++;
      }
    }, Math.max(0, at - this.#clock.now()));
  }

  // The driver's own timeouts (pg-pool's, one timer per waiter) fire together under a
  // spike: each is answered in a later turn, ANSWERS_PER_TURN per turn, as ours are. The
  // driver already dropped the borrower from its queue; it stays in our line until then.
  #answerTimeoutSoon(b: Borrower): void {
    this.#driverTimedOut.push(b);
    if (this.#driverTimedOut.length > 1) return;
    const answerSome = () => {
      const now = this.#driverTimedOut.splice(0, ANSWERS_PER_TURN);
      // One the pool's end answered before its turn came is left as it is.
      for (const due of now) if (due.waiting) this.#refuse(due, this.#timedOut(due));
      if (this.#driverTimedOut.length > 0) setImmediate(answerSome);
    };
    setImmediate(answerSome);
  }

  /**
   * Takes every borrower of `owner` out of the line at once: none of them is served from now
   * on (the driver's own queue keeps their callbacks; a connection it hands to one is given
   * straight back). Each is then answered, ANSWERS_PER_TURN per turn: borrower.cancelled, and
   * its promise rejects with code 'cancelled'. Resolves once all are answered.
   */
  cancelWaiting(owner: object, reason: string): Promise<void> {
    const now = this.#clock.now();
    const leaving: Borrower[] = [];
    for (let b = this.#waiting.first; b !== null; ) {
      const next = b.next;
      if (b.owner === owner) {
        this.#leaveLine(b);
        leaving.push(b);
      }
      b = next;
    }
    return new Promise((resolve) => {
      const answerFrom = (from: number) => {
        const to = Math.min(leaving.length, from + ANSWERS_PER_TURN);
        for (let i = from; i < to; i++) {
          const b = leaving[i] as Borrower;
          const waitedMs = now - b.enqueuedAt;
          this.#unanswered(b);
          this.#log.emit({ type: 'borrower.cancelled', borrowerId: b.id, waitedMs, reason });
          b.reject(new PoolscopeError('cancelled', `Cancelled after ${Math.round(waitedMs)} ms in the waiting line: ${reason}.`));
        }
        if (to < leaving.length) setImmediate(() => answerFrom(to));
        else {
          this.#onQuiet?.();
          resolve();
        }
      };
      answerFrom(0);
    });
  }

  // pg-pool hands a released connection to its next queued callback synchronously, inside
  // the release: giving it back from that callback would nest one release per answered
  // borrower still in pg's queue (thousands after a cancel). The first give-back loops;
  // the ones it causes only queue their connection. Each hand-off costs the driver a few
  // timers and listeners: at most ANSWERS_PER_TURN per turn, the rest in the next turns.
  #giveBack(conn: C): void {
    this.#givingBack.push(conn);
    if (this.#givingBackNow) return;
    this.#givingBackNow = true;
    try {
      while (this.#givingBack.length > 0 && this.#givenBackThisTurn < ANSWERS_PER_TURN) {
        if (this.#givenBackThisTurn++ === 0) setImmediate(() => this.#giveBackNextTurn());
        this.#driver.release(this.#givingBack.pop() as C);
      }
    } finally {
      this.#givingBackNow = false;
    }
  }

  #giveBackNextTurn(): void {
    this.#givenBackThisTurn = 0;
    const queued = this.#givingBack.pop();
    if (queued !== undefined) this.#giveBack(queued);
  }

  /** Borrow, run one statement, release (or destroy when the connection broke). */
  async query(sql: string, params?: readonly unknown[], opts?: BorrowOptions): Promise<QueryResult> {
    const lease = await this.borrow({ ...opts, site: opts?.site ?? callSite(this.query) });
    try {
      return await lease.query(sql, params);
    } finally {
      lease.release();
    }
  }

  /** Borrows once to prove the target answers, and reads its version and how its connection is protected. */
  async verify(): Promise<string> {
    const lease = await this.borrow({ label: 'poolscope: version check', site: 'Poolscope (target check)' });
    let r: QueryResult;
    try {
      r = await lease.query(this.#driver.versionQuery);
    } finally {
      lease.release();
    }
    const row = r.rows[0] as Record<string, unknown> | undefined;
    const version = String(row ? Object.values(row)[0] : 'unknown');
    this.#log.emit({ type: 'pool.verified', poolId: this.id, serverVersion: version, tls: lease.tls });
    return version;
  }

  /**
   * Retires the pool without losing a borrower: those waiting are still served and those
   * holding keep their connections; once none is left, the pool ends. A leaked connection
   * keeps it draining until it is released or destroyed.
   */
  drain(): Promise<void> {
    if (this.#ended) return this.#ended;
    this.#log.emit({ type: 'pool.draining', poolId: this.id, waiting: this.#waiting.size, holding: this.#holding.size });
    this.#onQuiet = () => {
      if (this.#waiting.size === 0 && this.#holding.size === 0) void this.end();
    };
    this.#onQuiet();
    return this.#whenEnded;
  }

  /**
   * Ends the pool: waiting borrowers fail with 'pool ended', held connections are
   * closed (a lease still held can no longer query), then the driver's pool ends.
   */
  end(): Promise<void> {
    if (this.#ended) return this.#ended;
    // Failing the waiters below settles them synchronously; a drain must not react.
    this.#onQuiet = null;
    if (this.#deadlineTimer !== null) this.#clock.clearTimer(this.#deadlineTimer);
    this.#deadlineTimer = null;
    this.#ended = (async () => {
      this.#log.emit({ type: 'pool.ending', poolId: this.id });
      this.#tracker.poolEnding();
      for (let b = this.#waiting.first; b !== null; b = this.#waiting.first) {
        this.#refuse(b, this.#fail(b, new PoolscopeError('pool-ended', 'The pool ended while this borrower waited for a connection.')));
      }
      for (const b of [...this.#holding]) b.lease?.destroy();
      await this.#driver.end();
      // The driver's end resolves before the last sockets report closed; wait for them
      // so that an ended pool has provably left nothing open.
      await this.#tracker.drained(5_000);
      this.#log.emit({ type: 'pool.ended', poolId: this.id });
    })();
    this.#endedNow(this.#ended);
    return this.#ended;
  }

  /** The borrower leaves the line with a connection. */
  #hand(b: Borrower, conn: C): Lease<C> {
    const rec = this.#driver.record(conn);
    this.#leaveLine(b);
    this.#tracker.acquired(rec);
    rec.row ??= this.#log.rows.openConn(rec.id);
    this.#log.rows.acquire(b.row as RowBorrower, rec.row);
    const lease = new Lease<C>(this.#leaseContext, b, conn, rec);
    b.lease = lease;
    this.#holding.push(b);
    return lease;
  }

  /** The borrower leaves the line with an error. */
  #refuse(b: Borrower, err: Error): void {
    // Answered already (an event listener that ended the pool while the error was made).
    if (!b.waiting) return;
    this.#leaveLine(b);
    this.#onQuiet?.();
    b.reject(err);
  }

  #leaveLine(b: Borrower): void {
    b.waiting = false;
    this.#waiting.remove(b);
  }

  #timedOut(b: Borrower): PoolscopeError {
    const now = this.#clock.now();
    const waitedMs = now - b.enqueuedAt;
    // The borrower is still in the line: the others are all but it.
    this.#unanswered(b);
    const diagnosis = diagnoseTimeout(this.#log.live, this.id, this.#waiting.size - 1, now);
    const message = timeoutMessage(this.target.display, waitedMs, diagnosis, this.settings.acquireTimeoutByEngine);
    this.#log.emit({ type: 'borrower.timedout', borrowerId: b.id, waitedMs, message, diagnosis });
    return new PoolscopeError('acquire-timeout', message);
  }

  #fail(b: Borrower, err: PoolscopeError): PoolscopeError {
    const message = this.#scrub(messageOf(err));
    this.#unanswered(b);
    this.#log.emit({ type: 'borrower.failed', borrowerId: b.id, waitedMs: this.#clock.now() - b.enqueuedAt, message });
    return err;
  }

  /** Its record in the rows ends; the caller says how it was answered. */
  #unanswered(b: Borrower): void {
    if (b.row !== null) this.#log.rows.unanswered(b.row);
  }
}
