import type { RowBorrower } from '../../agent/recorder.cjs';
import type { Linked } from '../linked-list';
import type { Lease } from './lease';
import type { RowSubject } from './pool-rows';

/**
 * The pool's record of one borrower, from its request until it is answered and, when it
 * got a connection, until it gives it back. It is an entry of the pool's waiting line,
 * then of its holders (see LinkedList).
 */
export class Borrower implements Linked<Borrower>, RowSubject {
  prev: Borrower | null = null;
  next: Borrower | null = null;
  /** Until it is answered, with a lease or an error. */
  waiting = true;
  /** Its lease, once it holds a connection. */
  lease: Lease<unknown> | null = null;
  /** Its record in the log's rows (pool-rows.ts). */
  row: RowBorrower | null = null;

  constructor(
    readonly id: string,
    readonly poolId: string,
    readonly label: string,
    readonly site: string,
    readonly enqueuedAt: number,
    /** When the engine times it out; Infinity when the driver does (pg) or never. */
    readonly deadline: number,
    /** When it times out, whoever does it, as its event shows it (null: never). */
    readonly shownDeadline: number | null,
    /** Answers it with an error (its promise's reject). */
    readonly reject: (err: Error) => void,
    /** Whose request it is (a load run, a pattern run): cancelWaiting(owner) takes them all out of the line. */
    readonly owner: object | null,
  ) {}
}
