import { type PoolInfo, ROW, type Row, type Sync, poolInfoSchema } from '../engine/attach/agent-protocol';
import { redactUrls } from '../engine/errors';

// One process under `poolscope check`: its agent's rows (from the socket, then the file it
// wrote at exit) reduced to what is live (pools, connections, borrowers) and to findings,
// each at a call site in the app's own code. Times are the agent's own clock (ms).

export const FINDING_KINDS = ['leak', 'long-hold', 'dirty-return', 'open-transaction', 'timeout', 'unended-pool'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface Finding {
  kind: FindingKind;
  /** Where in the app's code: the borrow, or for an unended pool where it was created. */
  site: string;
  message: string;
  pid: number;
  /** The worker thread whose agent saw it (0: the main thread). */
  thread: number;
  command: string;
  pool: string;
  heldMs?: number;
  /** A timeout's holders at that moment. */
  holders?: { site: string; heldMs: number }[];
}

/** How a process's observation ended: it exited, `check` ended it at --timeout, or it outlived the command. */
export type Ending = 'exited' | 'timeout' | 'outlived';

const WHEN: Record<Ending, string> = {
  exited: 'when the process exited',
  timeout: 'when check ended the command at --timeout',
  outlived: 'when the command ended (this process was still running)',
};

interface Pool {
  info: PoolInfo | null;
  status: 'open' | 'ending' | 'ended';
  site: string | null;
}
interface Conn {
  pool: number;
  tx: number;
  /** The last borrower's site: where a transaction left open at exit was last held. */
  site: string | null;
}
interface Borrower {
  pool: number;
  site: string;
  t: number;
  conn: number | null;
  acquiredAt: number;
}

/** What keeps a process alive, for a command that did not end. */
export interface AlivePool {
  pool: string;
  createdAt: string;
  status: string;
  open: number;
  borrowed: { site: string; heldMs: number }[];
}

export class CheckedProcess {
  readonly pid: number;
  readonly thread: number;
  readonly command: string;
  readonly findings: Finding[] = [];
  readonly notes: string[] = [];
  dropped = 0;
  ended = false;
  readonly #holdThresholdMs: number;
  readonly #pools = new Map<number, Pool>();
  readonly #conns = new Map<number, Conn>();
  readonly #borrowers = new Map<number, Borrower>();
  #lastT = 0;
  /** The agent's clock minus ours, as of its last batch. */
  #offset: number | null = null;

  constructor(pid: number, thread: number, command: string, holdThresholdMs: number) {
    this.pid = pid;
    this.thread = thread;
    this.command = redactUrls(command);
    this.#holdThresholdMs = holdThresholdMs;
  }

  rows(rows: Row[], dropped: number): void {
    for (const row of rows) this.#row(row);
    if (rows.length > 0) this.#offset = this.#lastT - performance.now();
    this.dropped = Math.max(this.dropped, dropped);
  }

  #row([kind, t, a, b, c, ref]: Row): void {
    this.#lastT = Math.max(this.#lastT, t);
    switch (kind) {
      case ROW.POOL: {
        const info = poolInfoSchema.safeParse(ref);
        if (!this.#pools.has(a)) this.#pools.set(a, { info: info.success ? info.data : null, status: 'open', site: null });
        return;
      }
      case ROW.POOL_SITE: {
        const pool = this.#pools.get(a);
        if (pool && typeof ref === 'string') pool.site = ref;
        return;
      }
      case ROW.NOTE:
        if (typeof ref === 'string') this.#note(ref);
        return;
      case ROW.OPEN:
        this.#conns.set(b, { pool: a, tx: 0, site: null });
        return;
      case ROW.CLOSE:
        this.#conns.delete(a);
        for (const [id, br] of this.#borrowers) if (br.conn === a) this.#borrowers.delete(id);
        return;
      case ROW.ENQUEUE:
        this.#borrowers.set(b, { pool: a, site: typeof ref === 'string' ? ref : 'unknown', t, conn: null, acquiredAt: 0 });
        return;
      case ROW.ACQUIRE: {
        const br = this.#borrowers.get(a);
        const conn = this.#conns.get(b);
        if (!br) return;
        br.conn = b;
        br.acquiredAt = t;
        if (conn) conn.site = br.site;
        return;
      }
      case ROW.FAIL: {
        const br = this.#borrowers.get(a);
        if (!br) return;
        this.#borrowers.delete(a);
        if (c === 1) this.#timedOut(br, t);
        return;
      }
      case ROW.RELEASE: {
        const br = this.#borrowers.get(a);
        if (!br || br.conn === null) return;
        this.#borrowers.delete(a);
        const heldMs = t - br.acquiredAt;
        if ((c & 1) !== 0) this.#find('dirty-return', br.site, br.pool, 'a connection returned to the pool inside an open transaction (the next borrower gets it)');
        if (heldMs > this.#holdThresholdMs) this.#find('long-hold', br.site, br.pool, `a connection held ${seconds(heldMs)} (over --hold-threshold ${seconds(this.#holdThresholdMs)})`, { heldMs });
        return;
      }
      case ROW.TX: {
        const conn = this.#conns.get(a);
        if (conn) conn.tx = b;
        return;
      }
      case ROW.POOL_ENDING: {
        const pool = this.#pools.get(a);
        if (pool && pool.status === 'open') pool.status = 'ending';
        return;
      }
      case ROW.POOL_ENDED: {
        const pool = this.#pools.get(a);
        if (!pool) return;
        pool.status = 'ended';
        for (const [id, br] of this.#borrowers) {
          if (br.pool !== a) continue;
          this.#borrowers.delete(id);
          if (br.conn !== null) this.#find('leak', br.site, a, `a connection still borrowed when its pool ended (held ${seconds(t - br.acquiredAt)})`, { heldMs: t - br.acquiredAt });
        }
        for (const [id, conn] of this.#conns) if (conn.pool === a) this.#conns.delete(id);
        return;
      }
    }
  }

  #timedOut(br: Borrower, t: number): void {
    const holders = [...this.#borrowers.values()]
      .filter((h) => h.pool === br.pool && h.conn !== null)
      .sort((x, y) => x.acquiredAt - y.acquiredAt)
      .map((h) => ({ site: h.site, heldMs: Math.round(t - h.acquiredAt) }));
    const who = holders.length === 0 ? 'no connection was borrowed then' : `held then by ${holders.map((h) => `${h.site} (${seconds(h.heldMs)})`).join(', ')}`;
    this.#find('timeout', br.site, br.pool, `a borrower timed out after waiting ${seconds(t - br.t)}; ${who}`, { holders });
  }

  /** After drops or a reconnect, or at exit: what the agent holds now replaces what was seen. */
  sync(s: Sync): void {
    this.#lastT = Math.max(this.#lastT, s.t);
    for (const p of s.pools) {
      const pool = this.#pools.get(p.id);
      if (pool) pool.status = p.status;
      else this.#pools.set(p.id, { info: p.info, status: p.status, site: null });
    }
    const conns = new Map(s.conns.map((c) => [c.id, c]));
    for (const id of this.#conns.keys()) if (!conns.has(id)) this.#conns.delete(id);
    for (const c of s.conns) {
      const conn = this.#conns.get(c.id);
      if (conn) conn.tx = c.tx;
      else this.#conns.set(c.id, { pool: c.pool, tx: c.tx, site: null });
    }
    this.#borrowers.clear();
    for (const b of s.borrowers) {
      // The agent keeps the borrowers of a pool that ended under them: reported as leaks when it ended.
      if (this.#pools.get(b.pool)?.status === 'ended') continue;
      this.#borrowers.set(b.id, { pool: b.pool, site: b.site, t: b.t, conn: b.conn, acquiredAt: b.acquiredAt ?? s.t });
      const conn = b.conn === null ? undefined : this.#conns.get(b.conn);
      if (conn) conn.site = b.site;
    }
    for (const note of s.notes) this.#note(note);
    this.dropped = Math.max(this.dropped, s.dropped);
  }

  /** What the process still held when it ended: connections borrowed, transactions open, pools never ended. */
  end(how: Ending): void {
    if (this.ended) return;
    this.ended = true;
    const when = WHEN[how];
    for (const br of this.#borrowers.values()) {
      if (br.conn === null) continue;
      const heldMs = this.#lastT - br.acquiredAt;
      this.#find('leak', br.site, br.pool, `a connection still borrowed ${when} (held ${seconds(heldMs)})`, { heldMs });
    }
    for (const conn of this.#conns.values()) {
      if (conn.tx !== 0) this.#find('open-transaction', conn.site ?? 'unknown', conn.pool, `a transaction still open ${when}`);
    }
    for (const [id, pool] of this.#pools) {
      if (pool.status !== 'open') continue;
      const open = [...this.#conns.values()].filter((c) => c.pool === id).length;
      this.#find('unended-pool', pool.site ?? 'unknown', id, `a pool never ended (end() not called): ${open} connection${open === 1 ? '' : 's'} open ${when}`);
    }
  }

  get poolCount(): number {
    return this.#pools.size;
  }

  /** Pools not ended, with their open connections and holders: what keeps this process alive. */
  alive(): AlivePool[] {
    const out: AlivePool[] = [];
    for (const [id, pool] of this.#pools) {
      if (pool.status === 'ended') continue;
      out.push({
        pool: this.#poolName(id),
        createdAt: pool.site ?? 'unknown',
        status: pool.status,
        open: [...this.#conns.values()].filter((c) => c.pool === id).length,
        borrowed: [...this.#borrowers.values()].filter((b) => b.pool === id && b.conn !== null).map((b) => ({ site: b.site, heldMs: Math.round(this.#lastT - b.acquiredAt) })),
      });
    }
    return out;
  }

  /**
   * Moves the process's clock to now, for a process seen alive until this moment (ended at
   * --timeout, or gone without its exit file): the agent's time is estimated from its last
   * batch, which it sent within 50 ms of its last row.
   */
  catchUp(): void {
    if (this.#offset !== null) this.#lastT = Math.max(this.#lastT, performance.now() + this.#offset);
  }

  /** A note from the agent (a driver left alone, an agent failure): once each, no password in it. */
  #note(text: string): void {
    const note = redactUrls(text).slice(0, 1_000);
    if (!this.notes.includes(note) && this.notes.length < 20) this.notes.push(note);
  }

  #poolName(id: number): string {
    const info = this.#pools.get(id)?.info;
    if (!info) return `pool ${id}`;
    return `${info.engine === 'postgres' ? 'postgres' : 'mysql'}://${info.user ? `${info.user}@` : ''}${info.host}:${info.port}/${info.database}`;
  }

  #find(kind: FindingKind, site: string, pool: number, message: string, extra: Pick<Finding, 'heldMs' | 'holders'> = {}): void {
    if (extra.heldMs !== undefined) extra.heldMs = Math.round(extra.heldMs);
    this.findings.push({ kind, site, message, pid: this.pid, thread: this.thread, command: this.command, pool: this.#poolName(pool), ...extra });
  }
}

/** `pid 123`, or `pid 123 thread 2` for a worker thread's agent. */
export function processLabel(p: { pid: number; thread: number }): string {
  return p.thread === 0 ? `pid ${p.pid}` : `pid ${p.pid} thread ${p.thread}`;
}

export function seconds(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}
