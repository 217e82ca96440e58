import type { Linked } from '../linked-list';
import type { Lease } from './lease';

/**
 * The pool's record of one borrower, from its request until it is answered and, when it
 * got a connection, until it gives it back. It is an entry of the pool's waiting line,
 * then of its holders (see LinkedList).
 */
export class Borrower implements Linked<Borrower> {
  prev: Borrower | null = null;
  next: Borrower | null = null;
  /** Until it is answered, with a lease or an error. */
  waiting = true;
  /** Its lease, once it holds a connection. */
  lease: Lease<unknown> | null = null;

  constructor(
    readonly id: string,
    readonly enqueuedAt: number,
    /** When the engine times it out; Infinity when the driver does (pg) or never. */
    readonly deadline: number,
    /** Answers it with an error (its promise's reject). */
    readonly reject: (err: Error) => void,
    /** Whose request it is (a load run, a pattern run): cancelWaiting(owner) takes them all out of the line. */
    readonly owner: object | null,
  ) {}
}
