import type { PoolSettings, TxStatus } from '../../../shared/events';
import type { ConnRecord, ConnectionTracker } from '../../../main/engine/pool/connection-tracker';
import type { Driver, QueryResult } from '../../../main/engine/pool/driver';

interface MemConn {
  rec: ConnRecord;
  tx: TxStatus;
}

/**
 * An in-memory stand-in for a driver pool, for stepping the engine's borrower
 * bookkeeping with a manual clock. It queues like mysql2 (FIFO callbacks, a connection
 * per call until max) and hands out connections when the test says so.
 */
export class MemoryDriver implements Driver<MemConn> {
  readonly settings: PoolSettings;
  readonly versionQuery = 'version';
  readonly queue: ((err: Error | null, conn?: MemConn) => void)[] = [];
  readonly free: MemConn[] = [];
  readonly all: MemConn[] = [];
  released = 0;
  readonly #tracker: ConnectionTracker;

  constructor(settings: PoolSettings, tracker: ConnectionTracker) {
    this.settings = settings;
    this.#tracker = tracker;
  }

  acquire(cb: (err: Error | null, conn?: MemConn) => void): void {
    const conn = this.free.pop();
    if (conn) return cb(null, conn);
    if (this.all.length < this.settings.max) {
      const c: MemConn = { rec: this.#tracker.begin(), tx: 'idle' };
      this.all.push(c);
      this.#tracker.opened(c.rec, this.all.length);
      return cb(null, c);
    }
    this.queue.push(cb);
  }

  record = (c: MemConn) => c.rec;
  serverId = (c: MemConn) => this.all.indexOf(c) + 1;
  txStatus = (c: MemConn) => c.tx;
  isFatal = () => false;
  isAcquireTimeout = () => false;
  counts = () => ({ total: this.all.length, idle: this.free.length, waiting: this.queue.length });

  query(c: MemConn, sql: string, _params: unknown, done: (err: Error | null, result?: QueryResult) => void): void {
    if (/^begin/i.test(sql)) c.tx = 'active';
    if (/^(commit|rollback)/i.test(sql)) c.tx = 'idle';
    // Answers later, as a driver does: the statement is in flight until then.
    queueMicrotask(() => done(null, { rows: [{ version: 'memory 1.0' }], affected: null, insertId: null }));
  }

  release(c: MemConn): void {
    this.released++;
    const next = this.queue.shift();
    if (next) next(null, c);
    else this.free.push(c);
  }

  destroy(c: MemConn): void {
    this.all.splice(this.all.indexOf(c), 1);
    this.#tracker.closed(c.rec);
  }

  async end(): Promise<void> {
    for (const c of [...this.all]) this.destroy(c);
  }
}
