'use strict';
// What the agent saw, on the app's hot path: one fixed-shape row per event written into
// preallocated columns (no object per event), read out in batches by the channel off the
// request's path. When the ring is full (Poolscope slow or away) new rows are dropped and
// counted; the live registry below still lets the channel send the current state instead.

const { NOT_SAMPLED } = require('./call-site.cjs');

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
});

class Recorder {
  constructor(capacity = CAPACITY) {
    this.capacity = capacity;
    this.kind = new Uint8Array(capacity);
    this.t = new Float64Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
    this.c = new Int32Array(capacity);
    this.ref = new Array(capacity).fill(null);
    this.head = 0; // next row to read
    this.size = 0;
    /** Rows dropped since the channel last sent the state (the receiver's picture is incomplete). */
    this.droppedSinceSync = 0;
    this.totals = { processes: 1, pools: 0, connections: 0, borrowers: 0, statements: 0, dropped: 0, notSampled: 0 };
    // The live registry, for a state sync after drops or a reconnect: the pools, open
    // connections and outstanding borrowers.
    this.pools = new Map();
    this.conns = new Map();
    this.borrowers = new Map();
    this.notes = [];
    this.nextPool = 0;
    this.nextConn = 0;
    this.nextBorrower = 0;
    this.now = () => performance.now();
  }

  write(kind, a, b, c, ref) {
    if (this.size === this.capacity) {
      this.totals.dropped++;
      this.droppedSinceSync++;
      return;
    }
    const i = (this.head + this.size) % this.capacity;
    this.kind[i] = kind;
    this.t[i] = this.now();
    this.a[i] = a;
    this.b[i] = b;
    this.c[i] = c;
    this.ref[i] = ref;
    this.size++;
  }

  /** Hands every row to visit(kind, t, a, b, c, ref) in order and empties the ring. */
  drain(visit) {
    while (this.size > 0) {
      const i = this.head;
      const ref = this.ref[i];
      this.ref[i] = null;
      this.head = (i + 1) % this.capacity;
      this.size--;
      visit(this.kind[i], this.t[i], this.a[i], this.b[i], this.c[i], ref);
    }
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
    this.write(K.CLOSE, conn.id, 0, 0, reason);
  }

  /** A borrower asks: its record lives until it is served and releases, or fails. */
  enqueue(pool, site) {
    const b = { id: ++this.nextBorrower, pool, t: this.now(), site, conn: null, acquiredAt: 0 };
    this.totals.borrowers++;
    if (site === NOT_SAMPLED) this.totals.notSampled++;
    this.borrowers.set(b.id, b);
    this.write(K.ENQUEUE, pool, b.id, 0, site);
    return b;
  }

  acquire(b, conn) {
    b.conn = conn;
    b.acquiredAt = this.now();
    conn.holder = b;
    this.write(K.ACQUIRE, b.id, conn.id, 0, null);
  }

  fail(b, message, timeout) {
    if (!this.borrowers.delete(b.id)) return;
    this.write(K.FAIL, b.id, 0, timeout ? 1 : 0, message);
  }

  release(b, dirty, destroyed) {
    if (!this.borrowers.delete(b.id)) return;
    const conn = b.conn;
    if (conn && conn.holder === b) conn.holder = null;
    this.write(K.RELEASE, b.id, conn ? conn.id : 0, (dirty ? 1 : 0) | (destroyed ? 2 : 0), null);
  }

  statement(conn, sql) {
    this.totals.statements++;
    this.write(K.STATEMENT, conn.id, 0, 0, sql);
  }

  finished(conn, error) {
    this.write(K.FINISHED, conn.id, 0, 0, error);
  }

  tx(conn, status) {
    if (conn.tx === status) return;
    conn.tx = status;
    this.write(K.TX, conn.id, status, 0, null);
  }
}

module.exports = { Recorder, K, CAPACITY };
