import type { TlsSession, TxStatus } from '../../../shared/events';
import type { Clock } from '../clock';
import { PoolscopeError, type Scrubber, messageOf } from '../errors';
import type { EventLog } from '../event-log';
import type { RowBorrower, RowConn } from '../../agent/recorder.cjs';
import type { Borrower } from './borrower';
import type { ConnRecord, ConnectionTracker } from './connection-tracker';
import type { Driver, QueryResult } from './driver';

const ROLLBACK = /^\s*(rollback|abort)\b/i;

/** What every lease of one pool shares; built once per pool, not per borrow. */
export interface LeaseContext<C> {
  driver: Driver<C>;
  tracker: ConnectionTracker;
  log: EventLog;
  clock: Clock;
  scrub: Scrubber;
  /** The pool's statementTexts (statement-text.ts). */
  text: (sql: string) => string;
  /** Called once, when the lease is released or destroyed. */
  done: (borrower: Borrower) => void;
}

/** One borrower's hold on one connection, from hand-out to release or destroy. */
export class Lease<C = unknown> {
  readonly borrowerId: string;
  readonly connId: string;
  readonly #borrower: Borrower;
  readonly #conn: C;
  readonly #rec: ConnRecord;
  readonly #ctx: LeaseContext<C>;
  #done = false;

  /** What the server presented to this connection's TLS handshake; null without TLS. */
  get tls(): TlsSession | null {
    return this.#rec.tls;
  }

  constructor(ctx: LeaseContext<C>, borrower: Borrower, conn: C, rec: ConnRecord) {
    this.#ctx = ctx;
    this.#borrower = borrower;
    this.borrowerId = borrower.id;
    this.connId = rec.id;
    this.#conn = conn;
    this.#rec = rec;
  }

  get done(): boolean {
    return this.#done;
  }

  get serverId(): number | null {
    return this.#ctx.driver.serverId(this.#conn);
  }

  get txStatus(): TxStatus {
    return this.#rec.tx;
  }

  query(sql: string, params?: readonly unknown[]): Promise<QueryResult> {
    if (this.#done) return Promise.reject(new PoolscopeError('lease-ended', 'This connection was already released; borrow again to run a statement.'));
    const { driver, log } = this.#ctx;
    // Set when the connection was handed out (InstrumentedPool#hand).
    const row = this.#rec.row as RowConn;
    log.rows.statement(row, this.#ctx.text(sql));
    return new Promise((resolve, reject) => {
      // Drivers may answer twice (pg after a value it could not serialise, mysql2 after a
      // query timeout): the first answer is the statement's, a second one is ignored.
      let answered = false;
      const done = (err: Error | null, result?: QueryResult) => {
        if (answered) return;
        answered = true;
        const error = err ? this.#ctx.scrub(messageOf(err)) : null;
        if (err && driver.isFatal(err)) this.#ctx.tracker.broken(this.#rec, err);
        log.rows.finished(row, error);
        this.#syncTx(sql);
        if (err) reject(err);
        else resolve(result as QueryResult);
      };
      // A driver that throws instead of calling back (bad parameters) has answered too.
      try {
        driver.query(this.#conn, sql, params, done);
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Gives the connection back to the pool. A second call does nothing. */
  release(): void {
    if (this.#finish(false)) {
      const { driver } = this.#ctx;
      if (this.#rec.broken || this.#rec.closed) driver.destroy(this.#conn);
      else driver.release(this.#conn);
    }
  }

  /** Closes the connection instead of returning it (the pool opens another when needed). */
  destroy(): void {
    if (this.#finish(true)) {
      this.#ctx.tracker.closing(this.#rec, 'destroyed');
      this.#ctx.driver.destroy(this.#conn);
    }
  }

  #finish(destroyed: boolean): boolean {
    if (this.#done) return false;
    this.#done = true;
    const { log, clock, tracker } = this.#ctx;
    this.#ctx.done(this.#borrower);
    log.rows.release(this.#borrower.row as RowBorrower, !destroyed && this.#rec.tx !== 'idle' && !this.#rec.broken, destroyed);
    tracker.released(this.#rec, clock.now());
    return true;
  }

  // The wire tells the transaction status after each statement; turn its changes into
  // tx events. COMMIT of a failed pg transaction is a rollback, as the server says.
  #syncTx(sql: string): void {
    const before = this.#rec.tx;
    const now = this.#rec.broken || this.#rec.closed ? 'idle' : this.#ctx.driver.txStatus(this.#conn);
    if (now === before) return;
    this.#rec.tx = now;
    const { log } = this.#ctx;
    if (before === 'idle') log.emit({ type: 'tx.began', connId: this.connId });
    if (now === 'failed') log.emit({ type: 'tx.failed', connId: this.connId });
    if (now === 'idle') {
      const outcome = before === 'failed' || ROLLBACK.test(sql) || this.#rec.broken ? 'rolled back' : 'committed';
      log.emit({ type: 'tx.ended', connId: this.connId, outcome });
    }
  }
}
