'use strict';
// A batch's borrowers that came and went clean go out as one row each instead of five: those
// with no call site captured (beyond the site budget, or before Poolscope was reached) that
// were served, ran their statements outside a transaction and gave the connection back clean,
// all within the batch, with no other row of that connection between and no borrower failing
// meanwhile (a timeout's diagnosis names the holders of its moment). Poolscope's event log
// folds such borrowers the same way (main/engine/event-folder.ts), so what it shows does not
// change; what changes is the JSON the app writes and the rows and events Poolscope handles
// per request (tests/bench/attach.ts). A borrower whose call site was captured goes out whole:
// its line is what a recording or a test reads.

const { K } = require('./recorder.cjs');

/** One borrower served clean: a: conn, b: statements run, c: statements failed, ref: [wait ms, last error or null]. */
const SERVED = 15;

/**
 * `rows`: the batch as [kind, t, a, b, c, ref], in order; `unsampled(ref)`: whether an ENQUEUE
 * row's site is one with no capture. Returns the rows to send, folded borrowers as SERVED rows
 * where they released.
 */
function foldServed(rows, unsampled) {
  const borrowers = new Map();
  const holders = new Map();
  let folded = false;
  const spoil = (b) => {
    if (b === undefined || !b.live) return;
    b.live = false;
    if (holders.get(b.conn) === b) holders.delete(b.conn);
  };
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    switch (row[0]) {
      case K.ENQUEUE:
        if (unsampled(row[5])) borrowers.set(row[3], { live: true, rows: [i], conn: -1, t: row[1], acquiredAt: 0, started: 0, running: 0, errors: 0, lastError: null });
        break;
      case K.ACQUIRE: {
        const b = borrowers.get(row[2]);
        if (b === undefined || !b.live) break;
        spoil(holders.get(row[3]));
        b.rows.push(i);
        b.conn = row[3];
        b.acquiredAt = row[1];
        holders.set(row[3], b);
        break;
      }
      case K.STATEMENT:
      case K.FINISHED: {
        const b = holders.get(row[2]);
        if (b === undefined) break;
        b.rows.push(i);
        if (row[0] === K.STATEMENT) {
          b.started++;
          b.running++;
        } else {
          b.running--;
          if (row[5] !== null) {
            b.errors++;
            b.lastError = row[5];
          }
        }
        break;
      }
      case K.RELEASE: {
        const b = borrowers.get(row[2]);
        if (b === undefined || !b.live) break;
        const clean = b.conn === row[3] && row[4] === 0 && b.running === 0;
        spoil(b);
        if (!clean) break;
        for (const at of b.rows) rows[at] = null;
        rows[i] = [SERVED, row[1], b.conn, b.started, b.errors, [Math.round((b.acquiredAt - b.t) * 1000) / 1000, b.lastError]];
        folded = true;
        break;
      }
      case K.TX:
      case K.CLOSE:
        spoil(holders.get(row[2]));
        break;
      case K.FAIL:
        for (const b of borrowers.values()) spoil(b);
        break;
    }
  }
  return folded ? rows.filter((row) => row !== null) : rows;
}

module.exports = { foldServed, SERVED };
