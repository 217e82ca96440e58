'use strict';
// What the agent saw, on the app's hot path: one fixed-shape row per event written into
// preallocated columns (no object per event), read out in batches by the channel off the
// request's path. When the ring is full (Poolscope slow or away) new rows are dropped and
// counted; the live registry below still lets the channel send the current state instead.
//
// A borrower with no call site captured (beyond the site budget, or before Poolscope was
// reached) that is served, runs its statements outside a transaction and gives the
// connection back clean, all before the channel takes the batch, with no borrower failing
// meanwhile, is folded as it releases: its rows are blanked where they lie (each links to
// the one before, so finding them costs no allocation) and one SERVED row takes their place.
// Poolscope's event log folds such borrowers the same way (main/engine/event-folder.ts), so
// what it shows does not change; what changes is the rows the channel turns into JSON and
// Poolscope parses, per request (tests/bench/attach.ts). A borrower whose call site was
// captured goes out whole: its line is what a recording or a test reads.
//
// Poolscope's own pools record through this same ring (main/engine/pool/pool-rows.ts), which
// is why it requires nothing: the engine bundles it, as ESM too.

// Node's global `performance` is a lazy accessor on globalThis: read per call, it costs an
// uncached global load (about 100 instructions, callgrind), and the clock is read per row.
const { performance } = globalThis;

const CAPACITY = 16384;

const K = Object.freeze({
  OPEN: 1, // a: pool, b: conn, c: server id (-1 unknown), ref: connect ms
  CLOSE: 2, // a: conn, ref: reason
  ENQUEUE: 3, // a: pool, b: borrower, ref: call site frame
  ACQUIRE: 4, // a: borrower, b: conn
  FAIL: 5, // a: borrower, c: 1 when it was a timeout, ref: message
  RELEASE: 6, // a: borrower, b: conn, c: bit 1 dirty, bit 2 destroyed
  STATEMENT: 7, // a: conn, ref: sql
  FINISHED: 8, // a: conn, ref: error message or null
  TX: 9, // a: conn, b: 0 idle, 1 in transaction, 2 failed transaction
  POOL_ENDING: 10, // a: pool
  POOL_ENDED: 11, // a: pool
  POOL: 12, // a: pool, ref: what the app configured (no password)
  NOTE: 13, // ref: a message for the person (a driver version left alone, an agent failure)
  // 14: POOL_SITE, check-mode.cjs
  SERVED: 15, // a: conn, b: statements run, c: statements failed, ref: last error or null, w: wait ms
});
/** The connection a row is about (-1: none). */
function connOf(kind, a, b) {
  return kind === K.OPEN || kind === K.ACQUIRE || kind === K.RELEASE ? b : kind === K.CLOSE || kind === K.STATEMENT || kind === K.FINISHED || kind === K.TX ? a : -1;
}

/** A row blanked by a fold: skipped when the ring is read. */
const FOLDED = 0;

class Recorder {
  /**
   * `foldable(site)`: whether a borrower enqueued with this site may be folded. `notSampled`: the
   * site that counts a borrower as not sampled. `onFull()`: called when a row finds the ring full,
   * to empty it (Poolscope's own pools, which must lose nothing); without it the row is dropped.
   */
  constructor({ capacity = CAPACITY, foldable = () => false, notSampled = null, onFull = null } = {}) {
    this.capacity = capacity;
    this.foldable = foldable;
    this.notSampledSite = notSampled;
    this.onFull = onFull;
    this.kind = new Uint8Array(capacity);
    this.t = new Float64Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
    this.c = new Int32Array(capacity);
    this.ref = new Array(capacity).fill(null);
    this.w = new Float64Array(capacity);
    /** The row before this one of the same foldable borrower (-1: its first). */
    this.link = new Int32Array(capacity);
    /** Moves on whenever rows leave the ring (taken or dropped): a borrower folds only within one. */
    this.batch = 0;
    /** Moves on with each borrower that fails: a borrower folds only if none failed while it lived. */
    this.failures = 0;
    this.head = 0; // next row to read
    this.size = 0;
    /** Rows dropped since the channel last sent the state (the receiver's picture is incomplete). */
    this.droppedSinceSync = 0;
    this.totals = { processes: 1, pools: 0, connections: 0, borrowers: 0, statements: 0, dropped: 0, notSampled: 0 };
    // The live registry, for a state sync after drops or a reconnect: the pools, open
    // connections and outstanding borrowers.
    this.pools = new Map();
    this.conns = new Map();
    // Outstanding borrowers, oldest first, linked through themselves: a Map gaining and losing
    // a key per request reallocates its table every few operations (the engine's LinkedList
    // says the same).
    this.oldest = null;
    this.newest = null;
    this.notes = [];
    this.nextPool = 0;
    this.nextConn = 0;
    this.nextBorrower = 0;
    this.now = () => performance.now();
  }

  /** Returns the row's place in the ring, or -1 when it was dropped. `t`: now, unless given. */
  write(kind, a, b, c, ref, t) {
    if (this.size === this.capacity && this.onFull !== null) this.onFull();
    if (this.size === this.capacity) {
      this.totals.dropped++;
      this.droppedSinceSync++;
      this.batch++;
      return -1;
    }
    const i = (this.head + this.size) % this.capacity;
    this.kind[i] = kind;
    // Read the clock only for a row that is kept: with nothing listening the ring stays full.
    this.t[i] = t === undefined ? this.now() : t;
    this.a[i] = a;
    this.b[i] = b;
    this.c[i] = c;
    this.ref[i] = ref;
    this.size++;
    return i;
  }

  /** Hands every row to visit(kind, t, a, b, c, ref, w) in order and empties the ring. */
  drain(visit) {
    if (this.size > 0) this.batch++;
    while (this.size > 0) {
      const i = this.head;
      const ref = this.ref[i];
      this.ref[i] = null;
      this.head = (i + 1) % this.capacity;
      this.size--;
      if (this.kind[i] !== FOLDED) visit(this.kind[i], this.t[i], this.a[i], this.b[i], this.c[i], ref, this.w[i]);
    }
  }

  /** A foldable borrower's row `i` joins its chain (a dropped row, -1, moved the batch on: it cannot fold). */
  chain(b, i) {
    if (i < 0) return;
    if (b.last < 0) b.first = i;
    this.link[i] = b.last;
    b.last = i;
    b.rows++;
  }

  /**
   * Folds a borrower's rows into the SERVED row. When its rows are the newest in the ring (at 1
   * client they always are) they give their places back, so a borrower served clean takes one
   * place rather than five: the ring the app writes and the channel reads stays small (a few
   * cache lines a request, not a few dozen), and holds five times the borrowers before it drops.
   */
  fold(b) {
    const end = this.head + this.size;
    if (b.last === (end - 1) % this.capacity && (end - b.first + this.capacity) % this.capacity === b.rows) {
      for (let i = b.first, n = 0; n < b.rows; i = (i + 1) % this.capacity, n++) this.ref[i] = null;
      this.size -= b.rows;
      return;
    }
    for (let i = b.last; i >= 0; i = this.link[i]) this.kind[i] = FOLDED;
  }

  /** Rows not yet sent are superseded by a state sync: counted as dropped. */
  discard() {
    this.totals.dropped += this.size;
    this.drain(() => {});
    this.droppedSinceSync = 0;
  }

  note(message) {
    if (this.notes.length >= 20) return;
    this.notes.push(message);
    this.write(K.NOTE, 0, 0, 0, message);
  }

  addPool(info) {
    const id = ++this.nextPool;
    this.totals.pools++;
    this.pools.set(id, { id, info, status: 'open' });
    this.write(K.POOL, id, 0, 0, info);
    return id;
  }

  poolStatus(id, status) {
    const p = this.pools.get(id);
    if (p) p.status = status;
    // An ended pool's connections are gone with it (the receiver closes them as 'pool ended').
    if (status === 'ended') for (const conn of this.conns.values()) if (conn.pool === id) this.conns.delete(conn.id);
    this.write(status === 'ended' ? K.POOL_ENDED : K.POOL_ENDING, id, 0, 0, null);
  }

  openConn(pool, serverId, connectMs) {
    const id = ++this.nextConn;
    this.totals.connections++;
    const conn = { id, pool, serverId, holder: null, tx: 0 };
    this.conns.set(id, conn);
    this.write(K.OPEN, pool, id, serverId ?? -1, connectMs);
    return conn;
  }

  closeConn(conn, reason) {
    if (!this.conns.delete(conn.id)) return;
    if (conn.holder !== null) conn.holder.foldable = false;
    this.write(K.CLOSE, conn.id, 0, 0, reason);
  }

  /** The outstanding borrowers, oldest first. */
  *borrowers() {
    for (let b = this.oldest; b !== null; b = b.next) yield b;
  }

  /** Ends a borrower's record; false if it had ended already. */
  forget(b) {
    if (!b.live) return false;
    b.live = false;
    if (b.prev !== null) b.prev.next = b.next;
    else this.oldest = b.next;
    if (b.next !== null) b.next.prev = b.prev;
    else this.newest = b.prev;
    b.prev = b.next = null;
    return true;
  }

  /** A borrower asks: its record lives until it is served and releases, or fails. */
  enqueue(pool, site) {
    const t = this.now();
    const b = {
      id: ++this.nextBorrower,
      pool,
      t,
      site,
      conn: null,
      acquiredAt: 0,
      live: true,
      prev: this.newest,
      next: null,
      // What a fold needs (release()).
      foldable: false,
      batch: this.batch,
      failures: this.failures,
      first: -1,
      last: -1,
      rows: 0,
      started: 0,
      running: 0,
      errors: 0,
      lastError: null,
    };
    this.totals.borrowers++;
    if (site === this.notSampledSite) this.totals.notSampled++;
    if (this.newest !== null) this.newest.next = b;
    else this.oldest = b;
    this.newest = b;
    const i = this.write(K.ENQUEUE, pool, b.id, 0, site, t);
    if (i >= 0 && this.foldable(site)) {
      b.foldable = true;
      this.chain(b, i);
    }
    return b;
  }

  acquire(b, conn) {
    const t = this.now();
    b.conn = conn;
    b.acquiredAt = t;
    if (conn.holder !== null) conn.holder.foldable = false;
    conn.holder = b;
    const i = this.write(K.ACQUIRE, b.id, conn.id, 0, null, t);
    if (b.foldable) this.chain(b, i);
  }

  fail(b, message, timeout) {
    if (!this.forget(b)) return;
    this.failures++;
    this.write(K.FAIL, b.id, 0, timeout ? 1 : 0, message);
  }

  release(b, dirty, destroyed) {
    if (!this.forget(b)) return;
    const conn = b.conn;
    if (conn && conn.holder === b) conn.holder = null;
    const clean = !dirty && !destroyed && conn !== null && b.running === 0;
    if (clean && b.foldable && b.batch === this.batch && b.failures === this.failures) {
      this.fold(b);
      const i = this.write(K.SERVED, conn.id, b.started, b.errors, b.lastError);
      if (i >= 0) this.w[i] = b.acquiredAt - b.t;
      return;
    }
    this.write(K.RELEASE, b.id, conn ? conn.id : 0, (dirty ? 1 : 0) | (destroyed ? 2 : 0), null);
  }

  statement(conn, sql) {
    this.totals.statements++;
    const i = this.write(K.STATEMENT, conn.id, 0, 0, sql);
    const h = conn.holder;
    if (h !== null && h.foldable) {
      this.chain(h, i);
      h.started++;
      h.running++;
    }
  }

  finished(conn, error) {
    const i = this.write(K.FINISHED, conn.id, 0, 0, error);
    const h = conn.holder;
    if (h !== null && h.foldable) {
      this.chain(h, i);
      h.running--;
      if (error !== null) {
        h.errors++;
        h.lastError = error;
      }
    }
  }

  tx(conn, status) {
    if (conn.tx === status) return;
    conn.tx = status;
    if (conn.holder !== null) conn.holder.foldable = false;
    this.write(K.TX, conn.id, status, 0, null);
  }
}

module.exports = { Recorder, K, CAPACITY, connOf };
