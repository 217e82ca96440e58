import type { TxStatus } from '../../../shared/events';
import type { Clock } from '../clock';
import { PoolscopeError, type Scrubber, messageOf } from '../errors';
import type { EventLog } from '../event-log';
import type { ConnRecord, ConnectionTracker } from './connection-tracker';
import type { Driver, QueryResult } from './driver';

const SQL_SHOWN = 200;
const ROLLBACK = /^\s*(rollback|abort)\b/i;
/** Distinct statement texts remembered per pool: an application runs a handful, again and again. */
const TEXTS_KEPT = 512;

function shown(sql: string): string {
  const oneLine = sql.replace(/\s+/g, ' ').trim();
  return oneLine.length > SQL_SHOWN ? `${oneLine.slice(0, SQL_SHOWN - 1)}…` : oneLine;
}

/** A statement as events show it (one line, cut, scrubbed), remembered: shaping it per statement cost more than the rest of the event. */
export function statementTexts(scrub: Scrubber): (sql: string) => string {
  const texts = new Map<string, string>();
  return (sql) => {
    let text = texts.get(sql);
    if (text === undefined) {
      text = scrub(shown(sql));
      if (texts.size >= TEXTS_KEPT) texts.clear();
      texts.set(sql, text);
    }
    return text;
  };
}

/** One borrower's hold on one connection, from hand-out to release or destroy. */
export class Lease<C = unknown> {
  readonly borrowerId: string;
  readonly connId: string;
  readonly #conn: C;
  readonly #rec: ConnRecord;
  readonly #driver: Driver<C>;
  readonly #tracker: ConnectionTracker;
  readonly #log: EventLog;
  readonly #clock: Clock;
  readonly #scrub: Scrubber;
  readonly #text: (sql: string) => string;
  readonly #acquiredAt: number;
  readonly #onDone: () => void;
  #done = false;

  constructor(o: {
    borrowerId: string;
    conn: C;
    rec: ConnRecord;
    driver: Driver<C>;
    tracker: ConnectionTracker;
    log: EventLog;
    clock: Clock;
    scrub: Scrubber;
    /** The pool's statementTexts(scrub). */
    text: (sql: string) => string;
    onDone: () => void;
  }) {
    this.borrowerId = o.borrowerId;
    this.connId = o.rec.id;
    this.#conn = o.conn;
    this.#rec = o.rec;
    this.#driver = o.driver;
    this.#tracker = o.tracker;
    this.#log = o.log;
    this.#clock = o.clock;
    this.#scrub = o.scrub;
    this.#text = o.text;
    this.#onDone = o.onDone;
    this.#acquiredAt = o.clock.now();
  }

  get done(): boolean {
    return this.#done;
  }

  get serverId(): number | null {
    return this.#driver.serverId(this.#conn);
  }

  get txStatus(): TxStatus {
    return this.#rec.tx;
  }

  async query(sql: string, params?: readonly unknown[]): Promise<QueryResult> {
    if (this.#done) throw new PoolscopeError('lease-ended', 'This connection was already released; borrow again to run a statement.');
    const started = this.#clock.now();
    this.#log.emit({ type: 'statement.started', connId: this.connId, sql: this.#text(sql) });
    let error: string | null = null;
    try {
      return await this.#driver.query(this.#conn, sql, params);
    } catch (err) {
      error = this.#scrub(messageOf(err));
      if (this.#driver.isFatal(err)) this.#tracker.broken(this.#rec, err);
      throw err;
    } finally {
      this.#log.emit({ type: 'statement.finished', connId: this.connId, ms: this.#clock.now() - started, error });
      this.#syncTx(sql);
    }
  }

  /** Gives the connection back to the pool. A second call does nothing. */
  release(): void {
    if (this.#finish(false)) {
      if (this.#rec.broken || this.#rec.closed) this.#driver.destroy(this.#conn);
      else this.#driver.release(this.#conn);
    }
  }

  /** Closes the connection instead of returning it (the pool opens another when needed). */
  destroy(): void {
    if (this.#finish(true)) {
      this.#tracker.closing(this.#rec, 'destroyed');
      this.#driver.destroy(this.#conn);
    }
  }

  #finish(destroyed: boolean): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#onDone();
    this.#log.emit({
      type: 'borrower.released',
      borrowerId: this.borrowerId,
      connId: this.connId,
      heldMs: this.#clock.now() - this.#acquiredAt,
      dirty: !destroyed && this.#rec.tx !== 'idle' && !this.#rec.broken,
      destroyed,
    });
    this.#tracker.released(this.#rec);
    return true;
  }

  // The wire tells the transaction status after each statement; turn its changes into
  // tx events. COMMIT of a failed pg transaction is a rollback, as the server says.
  #syncTx(sql: string): void {
    const before = this.#rec.tx;
    const now = this.#rec.broken || this.#rec.closed ? 'idle' : this.#driver.txStatus(this.#conn);
    if (now === before) return;
    this.#rec.tx = now;
    if (before === 'idle') this.#log.emit({ type: 'tx.began', connId: this.connId });
    if (now === 'failed') this.#log.emit({ type: 'tx.failed', connId: this.connId });
    if (now === 'idle') {
      const outcome = before === 'failed' || ROLLBACK.test(sql) || this.#rec.broken ? 'rolled back' : 'committed';
      this.#log.emit({ type: 'tx.ended', connId: this.connId, outcome });
    }
  }
}
