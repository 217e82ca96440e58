import type { PoolSettings, TxStatus } from '../../../shared/events';
import type { ConnRecord } from './connection-tracker';

export interface QueryResult {
  rows: unknown[];
  /** Rows changed by a write, when the driver reports it. */
  affected: number | null;
  /** mysql2's id of an inserted row (pg returns ids with RETURNING instead). */
  insertId: number | null;
}

export interface DriverCounts {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * What the instrumented pool needs from a driver's own pool (pg.Pool, mysql2's pool).
 * Queueing, connection creation and removal stay the driver's: the adapter only hands
 * out its connections and reports on them.
 */
export interface Driver<C> {
  readonly settings: PoolSettings;
  /** Ask the driver's pool for a connection; `cb` is called once by the driver. */
  acquire(cb: (err: Error | null, conn?: C) => void): void;
  record(conn: C): ConnRecord;
  serverId(conn: C): number | null;
  /**
   * Runs one statement; `done` gets the driver's own error or the result (a driver may call
   * it twice: the lease takes the first). A callback, not a promise: the lease wraps it in
   * the one promise its caller awaits.
   */
  query(conn: C, sql: string, params: readonly unknown[] | undefined, done: (err: Error | null, result?: QueryResult) => void): void;
  /** Transaction status as last read from the wire. */
  txStatus(conn: C): TxStatus;
  release(conn: C): void;
  destroy(conn: C): void;
  /** True when a statement's error means the connection itself is gone (killed, socket lost). */
  isFatal(err: unknown): boolean;
  /** True when a driver error means the borrower ran out of time (pg's connectionTimeoutMillis). */
  isAcquireTimeout(err: Error): boolean;
  /** The driver's own bookkeeping, to check ours against. */
  counts(): DriverCounts;
  versionQuery: string;
  end(): Promise<void>;
}
