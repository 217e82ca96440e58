import type { EventOf, PoolEvent, PoolEventBody } from '../../../shared/events';
import { K, Recorder, type RowBorrower, type RowConn, connOf } from '../../agent/recorder.cjs';

type Served = EventOf<'borrower.summary'>;

/** What a borrower's `borrower.enqueued` event says; the engine's Borrower carries it. */
export interface RowSubject {
  readonly id: string;
  readonly poolId: string;
  readonly label: string;
  readonly site: string;
  /** When it times out, as the event shows it (null: never). */
  readonly shownDeadline: number | null;
}

interface Holding {
  readonly subject: RowSubject;
  readonly t: number;
  acquiredAt: number;
}
interface Conn {
  readonly id: string;
  statementAt: number;
  /** The row id of the borrower whose acquire was read and whose release was not (0: none). */
  holder: number;
  closed: boolean;
}

/**
 * The per-request record of Poolscope's own pools: the attach agent's ring (recorder.cjs),
 * read back as the engine's events. A borrow, its statements and its release are rows of fixed
 * shape, not event objects; a borrower served clean between two reads of the ring is folded as
 * it releases, exactly as the agent folds, into its connection's `borrower.summary`. Everything
 * else (connections opening and closing, transactions, failures, timeouts) stays an event the
 * log stamps at once, after the rows written before it (EventLog.emit reads the ring first),
 * so the order is the order things happened in.
 *
 * The ring is read when the log folds (at most FOLD_AFTER_MS after a row), when anything else is
 * emitted, when the snapshot is read and when a listener joins or leaves: so a borrower served
 * within one such interval folds, and one still held is sent whole.
 */
export class PoolRows {
  readonly #rec: Recorder;
  readonly #stamp: (body: PoolEventBody, t: number) => void;
  readonly #wrote: () => void;
  /** Borrowers whose request has been read and who have not released yet, by row id. */
  readonly #holding = new Map<number, Holding>();
  readonly #conns = new Map<number, Conn>();
  /** This read's summary of each connection, while no other row of it came after. */
  readonly #serving = new Map<number, Served>();
  readonly #visit = (kind: number, t: number, a: number, b: number, c: number, ref: unknown, w: number) => this.#row(kind, t, a, b, c, ref, w);

  /**
   * `foldable()`: whether a borrower asking now may be folded (not while someone needs every
   * event). `stamp`: the log's stamping of a read row's event. `wrote`: a row is waiting to be read.
   */
  constructor(opts: { now: () => number; foldable: () => boolean; stamp: (body: PoolEventBody, t: number) => void; wrote: () => void }) {
    // A full ring is read, never dropped: our own pools' screen loses nothing.
    this.#rec = new Recorder({ foldable: opts.foldable, onFull: () => this.read() });
    this.#rec.now = opts.now;
    this.#stamp = opts.stamp;
    this.#wrote = opts.wrote;
  }

  /** Rows written and not read yet. */
  get pending(): boolean {
    return this.#rec.size > 0;
  }

  /** Turns every row written so far into events, in order. */
  read(): void {
    this.#rec.drain(this.#visit);
    this.#serving.clear();
  }

  openConn(connId: string): RowConn {
    const conn = this.#rec.openConn(0, null, 0);
    this.#conns.set(conn.id, { id: connId, statementAt: 0, holder: 0, closed: false });
    return conn;
  }

  closeConn(conn: RowConn): void {
    this.#rec.closeConn(conn, 'closed');
    this.#wrote();
  }

  enqueue(subject: RowSubject): RowBorrower {
    const b = this.#rec.enqueue(0, subject);
    this.#wrote();
    return b;
  }

  acquire(b: RowBorrower, conn: RowConn): void {
    this.#rec.acquire(b, conn);
    this.#wrote();
  }

  /** `sql`: the statement as shown. */
  statement(conn: RowConn, sql: string): void {
    this.#rec.statement(conn, sql);
    this.#wrote();
  }

  /** `error`: the driver's message, scrubbed; null when it succeeded. */
  finished(conn: RowConn, error: string | null): void {
    this.#rec.finished(conn, error);
    this.#wrote();
  }

  release(b: RowBorrower, dirty: boolean, destroyed: boolean): void {
    this.#rec.release(b, dirty, destroyed);
    this.#wrote();
  }

  /** The borrower was answered without a connection; the caller emits how. */
  unanswered(b: RowBorrower): void {
    // Its request is read first, so that it is known when the answer comes.
    this.read();
    this.#rec.forget(b);
    this.#holding.delete(b.id);
  }

  #row(kind: number, t: number, a: number, b: number, c: number, ref: unknown, w: number): void {
    if (kind !== K.SERVED) this.#serving.delete(connOf(kind, a, b));
    switch (kind) {
      case K.ENQUEUE: {
        const s = ref as RowSubject;
        this.#holding.set(b, { subject: s, t, acquiredAt: 0 });
        this.#stamp({ type: 'borrower.enqueued', poolId: s.poolId, borrowerId: s.id, label: s.label, site: s.site, deadline: s.shownDeadline }, t);
        return;
      }
      case K.ACQUIRE: {
        const h = this.#holding.get(a);
        const conn = this.#conns.get(b);
        if (!h || !conn) return;
        h.acquiredAt = t;
        conn.holder = a;
        this.#stamp({ type: 'borrower.acquired', borrowerId: h.subject.id, connId: conn.id, waitedMs: t - h.t }, t);
        return;
      }
      case K.RELEASE: {
        const h = this.#holding.get(a);
        const conn = this.#conns.get(b);
        if (!h || !conn) return;
        this.#holding.delete(a);
        conn.holder = 0;
        if (conn.closed) this.#conns.delete(b);
        this.#stamp({ type: 'borrower.released', borrowerId: h.subject.id, connId: conn.id, heldMs: t - h.acquiredAt, dirty: (c & 1) !== 0, destroyed: (c & 2) !== 0 }, t);
        return;
      }
      case K.STATEMENT: {
        const conn = this.#conns.get(a);
        if (!conn) return;
        conn.statementAt = t;
        this.#stamp({ type: 'statement.started', connId: conn.id, sql: ref as string }, t);
        return;
      }
      case K.FINISHED: {
        const conn = this.#conns.get(a);
        if (!conn) return;
        this.#stamp({ type: 'statement.finished', connId: conn.id, ms: t - conn.statementAt, error: ref as string | null }, t);
        return;
      }
      case K.SERVED:
        this.#served(t, a, b, c, ref as string | null, w);
        return;
      case K.CLOSE: {
        // Its holder may still run a statement and release: it is known until then.
        const conn = this.#conns.get(a);
        if (!conn) return;
        conn.closed = true;
        if (conn.holder === 0) this.#conns.delete(a);
        return;
      }
    }
  }

  // A connection's borrowers folded in this read, with no other row of it between, are one
  // summary, as the agent's channel sends them (channel.cjs take()).
  #served(t: number, connRow: number, started: number, errors: number, lastError: string | null, waited: number): void {
    const running = this.#serving.get(connRow);
    if (running) {
      running.served++;
      running.waits.push(waited);
      running.started += started;
      running.errors += errors;
      if (lastError !== null) running.lastError = lastError;
      if (started > 0) running.finishedAt = t;
      running.releasedAt = t;
      // Not delivered yet (read() stamps, the log delivers after): it stands for its last borrower, as EventFolder's do.
      (running as PoolEvent).t = t;
      return;
    }
    const conn = this.#conns.get(connRow);
    if (!conn) return;
    const sum: Served = { type: 'borrower.summary', connId: conn.id, served: 1, waits: [waited], started, errors, lastError, finishedAt: started > 0 ? t : null, releasedAt: t } as Served;
    this.#serving.set(connRow, sum);
    this.#stamp(sum, t);
  }
}
