import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../main/engine/clock';
import { EventLog } from '../../main/engine/event-log';
import { AttachedSource } from '../../main/engine/attach/attached-source';
import type { Row } from '../../main/engine/attach/agent-protocol';
import type { Snapshot } from '../../shared/snapshot';

// The agent folds borrowers served clean without a call site as they release (recorder.cjs),
// and sends each connection's run of them as one row (channel.cjs): Poolscope, given those
// rows, must end with the snapshot the rows as recorded give, and every borrower it could
// still show must arrive whole.

const require = createRequire(import.meta.url);
const { Recorder, K } = require('../../main/agent/recorder.cjs');
const { Channel } = require('../../main/agent/channel.cjs');
const { NOT_SAMPLED, unsampled } = require('../../main/agent/call-site.cjs');

interface Conn { id: number }
interface Borrower { id: number }
interface Rec {
  now: () => number;
  addPool(info: unknown): number;
  openConn(pool: number, serverId: number, ms: number): Conn;
  closeConn(conn: Conn, reason: string): void;
  enqueue(pool: number, site: unknown): Borrower;
  acquire(b: Borrower, conn: Conn): void;
  statement(conn: Conn, sql: string): void;
  finished(conn: Conn, error: string | null): void;
  tx(conn: Conn, status: number): void;
  release(b: Borrower, dirty: boolean, destroyed: boolean): void;
  fail(b: Borrower, message: string, timeout: boolean): void;
}

const POOL_INFO = { engine: 'postgres', driver: 'pg 8.16.3', tls: false, host: '127.0.0.1', port: 5432, database: 'shop', user: 'app', max: 4, min: 0, acquireTimeoutMs: 1000, idleTimeoutMs: 10000, queryTimeoutMs: 0, maxUses: null, maxLifetimeSeconds: null };
const SITE = { text: 'orders.js:9' };

/** The app's side, as the hooks drive a recorder; `take()` ends a batch. */
interface App {
  pool: number;
  conns: Conn[];
  rec: Rec;
  at(t: number): void;
  /** A borrower served on `conn`: enqueued, one SELECT (failing with `error`), released. */
  served(conn: Conn, opts?: { site?: unknown; error?: string | null }): void;
  take(): Row[];
}

type Script = (app: App) => void;

const AS_RECORDED = { foldable: () => false };

/** The rows the agent sends for `script`: folding as it runs, unless `options` say nothing is foldable (the rows as recorded). */
function sent(script: Script, options: { foldable?: () => boolean; capacity?: number } = {}): Row[][] {
  let now = 0;
  // As the agent makes it (agent.cjs): a borrower whose call site was not captured may fold.
  const rec: Rec = new Recorder({ foldable: unsampled, notSampled: NOT_SAMPLED, ...options });
  rec.now = () => now;
  const channel = new Channel(rec, { file: '/nonexistent', warn: () => {} });
  const batches: Row[][] = [];
  const pool = rec.addPool(POOL_INFO);
  const conns = [rec.openConn(pool, 501, 3), rec.openConn(pool, 502, 3)];
  const app: App = {
    pool,
    conns,
    rec,
    at: (t) => (now = t),
    served(conn, { site = NOT_SAMPLED, error = null } = {}) {
      const b = rec.enqueue(pool, site);
      now += 0.5;
      rec.acquire(b, conn);
      now += 0.1;
      rec.statement(conn, 'SELECT 1');
      now += 0.4;
      rec.finished(conn, error);
      now += 0.2;
      rec.release(b, false, false);
    },
    take: () => {
      batches.push(channel.take());
      return batches.at(-1)!;
    },
  };
  script(app);
  app.take();
  return batches;
}

/** What Poolscope ends with, given these batches. */
function received(batches: Row[][]): Snapshot {
  const clock = new ManualClock();
  const log = new EventLog(clock);
  let pools = 0;
  const source = new AttachedSource('s1', log, clock, () => `p${++pools}`, { pid: 42, command: 'node app.js', node: 'v20.20.2', siteBudget: 100 });
  for (const rows of batches) source.rows(rows, 0, 0);
  const { seq: _seq, ...rest } = log.snapshot();
  return rest as Snapshot;
}

const kinds = (rows: Row[]) => rows.map((r) => r[0]);

describe("the agent's fold of borrowers served clean", () => {
  it("sends each connection's run as one row, and Poolscope ends where the rows as recorded take it", () => {
    const script: Script = ({ at, served, conns: [c1, c2] }) => {
      at(10);
      served(c1!);
      served(c2!);
      served(c1!, { error: 'relation "t" does not exist' });
      served(c2!);
    };
    const [folded] = sent(script);
    expect(kinds(folded!)).toEqual([K.POOL, K.OPEN, K.OPEN, K.SERVED, K.SERVED]);
    expect(folded![3]).toEqual([K.SERVED, 11.2, 1, 2, 1, [[0.5, 0.5], 'relation "t" does not exist']]);
    expect(folded![4]).toEqual([K.SERVED, 12.4, 2, 2, 0, [[0.5, 0.5], null]]);
    const whole = received(sent(script, AS_RECORDED));
    expect(received(sent(script))).toEqual(whole);
    expect(whole.counters).toMatchObject({ enqueued: 4, acquired: 4, released: 4, statements: 4, statementErrors: 1 });
  });

  it('ends a run where another row of its connection comes between', () => {
    const script: Script = ({ served, conns: [c1] }) => {
      served(c1!);
      served(c1!, { site: SITE });
      served(c1!);
    };
    const [folded] = sent(script);
    expect(kinds(folded!).slice(3)).toEqual([K.SERVED, K.ENQUEUE, K.ACQUIRE, K.STATEMENT, K.FINISHED, K.RELEASE, K.SERVED]);
    expect(folded![3]![5]).toEqual([[0.5], null]);
    expect(received(sent(script))).toEqual(received(sent(script, AS_RECORDED)));
  });

  it.each<[string, Script]>([
    ['its call site was captured', ({ served, conns: [c1] }) => served(c1!, { site: SITE })],
    ['it ran a transaction', ({ rec, pool: p, conns: [c1] }) => {
      const b = rec.enqueue(p, NOT_SAMPLED);
      rec.acquire(b, c1!);
      rec.statement(c1!, 'BEGIN');
      rec.finished(c1!, null);
      rec.tx(c1!, 1);
      rec.statement(c1!, 'COMMIT');
      rec.finished(c1!, null);
      rec.tx(c1!, 0);
      rec.release(b, false, false);
    }],
    ['it gave the connection back dirty', ({ rec, pool: p, conns: [c1] }) => {
      const b = rec.enqueue(p, NOT_SAMPLED);
      rec.acquire(b, c1!);
      rec.release(b, true, false);
    }],
    ['its statement ran on after the release', ({ rec, pool: p, conns: [c1] }) => {
      const b = rec.enqueue(p, NOT_SAMPLED);
      rec.acquire(b, c1!);
      rec.statement(c1!, 'SELECT pg_sleep(1)');
      rec.release(b, false, false);
    }],
    ['another borrower timed out meanwhile', ({ rec, pool: p, conns: [c1] }) => {
      const b = rec.enqueue(p, NOT_SAMPLED);
      rec.acquire(b, c1!);
      rec.fail(rec.enqueue(p, NOT_SAMPLED), 'timeout exceeded when trying to connect', true);
      rec.release(b, false, false);
    }],
    ['its connection closed under it', ({ rec, pool: p, conns: [c1] }) => {
      const b = rec.enqueue(p, NOT_SAMPLED);
      rec.acquire(b, c1!);
      rec.closeConn(c1!, 'error');
      rec.release(b, false, false);
    }],
  ])('sends a borrower whole when %s', (_why, script) => {
    const rows = sent(script);
    expect(rows).toEqual(sent(script, AS_RECORDED));
    expect(kinds(rows.flat())).not.toContain(K.SERVED);
  });

  it('sends whole a borrower whose connection another borrower was given before it released', () => {
    const script: Script = ({ rec, pool: p, conns: [c1] }) => {
      const first = rec.enqueue(p, NOT_SAMPLED);
      rec.acquire(first, c1!);
      const second = rec.enqueue(p, NOT_SAMPLED);
      rec.acquire(second, c1!);
      rec.release(first, false, false);
      rec.release(second, false, false);
    };
    const [rows] = sent(script);
    expect(kinds(rows!).slice(3)).toEqual([K.ENQUEUE, K.ACQUIRE, K.RELEASE, K.SERVED]);
    expect(received(sent(script))).toEqual(received(sent(script, AS_RECORDED)));
  });

  it("reads an earlier agent's rows, one borrower per SERVED row with its wait as a number", () => {
    const [rows] = sent(({ served, conns: [c1] }) => {
      served(c1!);
      served(c1!);
    });
    const [served] = rows!.slice(3);
    expect(served![5]).toEqual([[0.5, 0.5], null]);
    const oneEach: Row[] = [[...served!.slice(0, 3), 1, 0, [0.5, null]] as Row, [...served!.slice(0, 3), 1, 0, [0.5, null]] as Row];
    expect(received([[...rows!.slice(0, 3), ...oneEach]])).toEqual(received([rows!]));
  });

  it('folds only within the batch: a borrower still holding when it is taken goes out as recorded', () => {
    const script: Script = ({ rec, pool: p, conns: [c1], take }) => {
      const b = rec.enqueue(p, NOT_SAMPLED);
      rec.acquire(b, c1!);
      take();
      rec.release(b, false, false);
    };
    const batches = sent(script);
    expect(batches).toEqual(sent(script, AS_RECORDED));
    expect(kinds(batches[1]!)).toEqual([K.RELEASE]);
  });

  it('folds borrowers whose rows interleave, as they do with several clients', () => {
    const script: Script = ({ rec, pool: p, conns: [c1, c2] }) => {
      const first = rec.enqueue(p, NOT_SAMPLED);
      rec.acquire(first, c1!);
      const second = rec.enqueue(p, NOT_SAMPLED);
      rec.acquire(second, c2!);
      rec.statement(c1!, 'SELECT 1');
      rec.statement(c2!, 'SELECT 2');
      rec.finished(c1!, null);
      rec.release(first, false, false);
      rec.finished(c2!, 'boom');
      rec.release(second, false, false);
    };
    const [rows] = sent(script);
    expect(kinds(rows!).slice(3)).toEqual([K.SERVED, K.SERVED]);
    expect(received(sent(script))).toEqual(received(sent(script, AS_RECORDED)));
  });

  it('gives a folded borrower\'s places in the ring back: served one after another, each takes one', () => {
    // Three of the twelve places hold the pool and its connections; the five borrowers' rows as
    // recorded take twenty-five, and with the places given back never more than eight at once.
    const script: Script = ({ served, conns: [c1] }) => {
      for (let i = 0; i < 5; i++) served(c1!);
    };
    const [rows] = sent(script, { capacity: 12 });
    expect(kinds(rows!).slice(3)).toEqual([K.SERVED]);
    expect(rows![3]![5]).toEqual([[0.5, 0.5, 0.5, 0.5, 0.5], null]);
    expect(received(sent(script, { capacity: 12 }))).toEqual(received(sent(script, AS_RECORDED)));
  });

  it('folds nothing whose rows the ring dropped', () => {
    // The pool and its two connections take three of the five rows.
    const [rows] = sent(({ served, conns: [c1] }) => served(c1!), { capacity: 5 });
    expect(kinds(rows!).slice(3)).toEqual([K.ENQUEUE, K.ACQUIRE]);
  });
});
