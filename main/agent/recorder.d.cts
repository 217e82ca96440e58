// The recorder's types, for the engine, which records its own pools through it (main/engine/pool/pool-rows.ts).

export declare const K: Readonly<{
  OPEN: 1;
  CLOSE: 2;
  ENQUEUE: 3;
  ACQUIRE: 4;
  FAIL: 5;
  RELEASE: 6;
  STATEMENT: 7;
  FINISHED: 8;
  TX: 9;
  POOL_ENDING: 10;
  POOL_ENDED: 11;
  POOL: 12;
  NOTE: 13;
  SERVED: 15;
}>;

/** The connection a row is about (-1: none). */
export declare function connOf(kind: number, a: number, b: number): number;

/** One open connection, as the recorder follows it. */
export interface RowConn {
  readonly id: number;
}

/** One borrower, from its request until it is answered and gives its connection back. */
export interface RowBorrower {
  readonly id: number;
  readonly t: number;
  readonly live: boolean;
}

export type RowVisitor = (kind: number, t: number, a: number, b: number, c: number, ref: unknown, w: number) => void;

export declare class Recorder {
  constructor(opts?: { capacity?: number; foldable?: (site: unknown) => boolean; notSampled?: unknown; onFull?: (() => void) | null });
  now: () => number;
  readonly size: number;
  drain(visit: RowVisitor): void;
  openConn(pool: number, serverId: number | null, connectMs: number): RowConn;
  closeConn(conn: RowConn, reason: string): void;
  enqueue(pool: number, site: unknown): RowBorrower;
  acquire(b: RowBorrower, conn: RowConn): void;
  forget(b: RowBorrower): boolean;
  release(b: RowBorrower, dirty: boolean, destroyed: boolean): void;
  statement(conn: RowConn, sql: string): void;
  finished(conn: RowConn, error: string | null): void;
}
