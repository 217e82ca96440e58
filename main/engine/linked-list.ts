/** An entry of a LinkedList: the links live on the entry itself. */
export interface Linked<T> {
  prev: T | null;
  next: T | null;
}

/**
 * A doubly linked list over its entries' own links, for sets that gain and lose an entry
 * per request (the pool's waiting and holding borrowers). A Map or Set used so reallocates
 * its table every few operations, and the tables ended up as garbage in the old generation
 * (the heap sampler's promoted bytes), which the pool watched paid for in major GCs (tests/bench).
 */
export class LinkedList<T extends Linked<T>> {
  #first: T | null = null;
  #last: T | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get first(): T | null {
    return this.#first;
  }

  push(entry: T): void {
    entry.prev = this.#last;
    entry.next = null;
    if (this.#last) this.#last.next = entry;
    else this.#first = entry;
    this.#last = entry;
    this.#size++;
  }

  /** Takes out an entry of this list (only of this list: the links are not checked). */
  remove(entry: T): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.#first = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.#last = entry.prev;
    entry.prev = entry.next = null;
    this.#size--;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let e = this.#first; e !== null; e = e.next) yield e;
  }
}
