'use strict';
// The agent's line to Poolscope: loopback only, a per-run token read from a file only this
// user can read, JSON lines. The socket and every timer are unref'd (the app exits when it
// would have), rows go out in batches every 50 ms off the request's path, and a slow or
// absent Poolscope costs rows (dropped and counted), never memory or time in the app.

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { threadId } = require('node:worker_threads');
const { budget, resolve, watch } = require('./call-site.cjs');
const { K, connOf } = require('./recorder.cjs');
const { statementText } = require('./statement-text.cjs');

const FLUSH_MS = 50;
const MAX_UNSENT = 1 << 20;
const RETRY_MS = [250, 1000, 2000, 5000, 10000];

/** Where Poolscope writes its port and token; POOLSCOPE_ATTACH_FILE overrides it. */
function attachFile(env = process.env) {
  return env.POOLSCOPE_ATTACH_FILE || path.join(os.homedir(), '.poolscope', 'attach.json');
}

/** The port and token, or why not: a file others can read or write is not trusted. */
function readAttachFile(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return { missing: true };
  }
  try {
    const st = fs.fstatSync(fd);
    if (typeof process.getuid === 'function' && (st.uid !== process.getuid() || (st.mode & 0o077) !== 0)) {
      return { refused: `${file} is readable by other users or not yours: ignored` };
    }
    const data = JSON.parse(fs.readFileSync(fd, 'utf8'));
    if (!Number.isInteger(data.port) || typeof data.token !== 'string') return { refused: `${file} holds no port and token` };
    return { port: data.port, token: data.token };
  } catch (err) {
    return { refused: `${file} could not be read: ${err.message}` };
  } finally {
    fs.closeSync(fd);
  }
}

/** Passwords in URLs on the command line stay in the app. */
function scrubUrls(text) {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1@');
}

/** Agent times go out to the microsecond. */
function ms(t) {
  return Math.round(t * 1000) / 1000;
}

class Channel {
  constructor(recorder, { file = attachFile(), warn = (m) => process.stderr.write(`poolscope agent: ${m}\n`) } = {}) {
    this.rec = recorder;
    this.file = file;
    this.warn = warn;
    this.socket = null;
    this.connected = false;
    this.everConnected = false;
    this.needSync = false;
    this.attempt = 0;
    this.warned = new Set();
    this.timer = null;
    this.retry = null;
  }

  start() {
    this.timer = setInterval(() => {
      budget?.refill();
      this.flush();
    }, FLUSH_MS);
    this.timer.unref();
    this.connect();
  }

  warnOnce(message) {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warn(message);
  }

  connect() {
    this.retry = null;
    const found = readAttachFile(this.file);
    if (found.refused) this.warnOnce(found.refused);
    if (!found.port) return this.later();
    // Borrowers from now on carry their call sites: the first ones may come before the socket connects.
    watch(true);
    const socket = net.connect({ host: '127.0.0.1', port: found.port });
    this.socket = socket;
    socket.unref();
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.connected = true;
      this.attempt = 0;
      // The receiver starts from nothing: after a reconnect or drops, the state is sent.
      this.needSync = this.everConnected || this.rec.droppedSinceSync > 0;
      this.everConnected = true;
      socket.write(JSON.stringify({
        type: 'hello',
        token: found.token,
        pid: process.pid,
        thread: threadId,
        command: scrubUrls(process.argv.slice(1).join(" ")).slice(0, 500),
        node: process.version,
        siteBudget: budget ? budget.perSecond : null,
      }) + '\n');
      this.flush();
    });
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.connected = false;
      watch(false);
      this.later();
    });
  }

  later() {
    if (this.retry) return;
    const ms = RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)];
    this.retry = setTimeout(() => this.connect(), ms);
    this.retry.unref();
  }

  flush() {
    try {
      const socket = this.socket;
      if (!this.connected || !socket) return;
      if (socket.writableLength > MAX_UNSENT) return;
      if (this.needSync || this.rec.droppedSinceSync > 0) {
        this.rec.discard();
        this.needSync = false;
        socket.write(JSON.stringify(this.state()) + '\n');
        return;
      }
      if (this.rec.size === 0) return;
      socket.write(JSON.stringify({ type: 'events', events: this.take(), dropped: this.rec.totals.dropped, notSampled: this.rec.totals.notSampled }) + '\n');
    } catch (err) {
      this.warnOnce(`could not send to Poolscope: ${err.message}`);
    }
  }

  /**
   * The rows not sent yet, as the wire carries them: call sites and statements as text, and each
   * connection's SERVED rows (recorder.cjs) with no other row of that connection or a failure
   * between as one, their waits in order, as Poolscope's event log folds them. Empties the ring.
   */
  take() {
    const rows = [];
    const serving = new Map(); // conn → its SERVED row still taking borrowers
    this.rec.drain((kind, t, a, b, c, ref, w) => {
      if (kind === K.SERVED) {
        const row = serving.get(a);
        if (row !== undefined) {
          row[3] += b;
          row[4] += c;
          row[5][0].push(ms(w));
          if (ref !== null) row[5][1] = ref;
          return;
        }
        const fresh = [kind, ms(t), a, b, c, [[ms(w)], ref]];
        serving.set(a, fresh);
        rows.push(fresh);
        return;
      }
      if (kind === K.FAIL || kind === K.POOL_ENDED) serving.clear();
      else serving.delete(connOf(kind, a, b));
      rows.push([kind, ms(t), a, b, c, kind === K.ENQUEUE ? resolve(ref) : kind === K.STATEMENT ? statementText(ref) : ref]);
    });
    return rows;
  }

  /** Everything live now: pools, open connections, outstanding borrowers. */
  state() {
    const rec = this.rec;
    const now = rec.now();
    return {
      type: 'sync',
      t: now,
      dropped: rec.totals.dropped,
      notSampled: rec.totals.notSampled,
      notes: rec.notes,
      pools: [...rec.pools.values()].map((p) => ({ id: p.id, info: p.info, status: p.status })),
      conns: [...rec.conns.values()].map((c) => ({ id: c.id, pool: c.pool, serverId: c.serverId, tx: c.tx })),
      borrowers: [...rec.borrowers()].map((b) => ({
        id: b.id,
        pool: b.pool,
        site: resolve(b.site),
        t: b.t,
        conn: b.conn ? b.conn.id : null,
        acquiredAt: b.conn ? b.acquiredAt : null,
      })),
    };
  }
}

module.exports = { Channel, attachFile, readAttachFile, scrubUrls };
