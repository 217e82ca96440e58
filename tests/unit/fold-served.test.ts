import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../main/engine/clock';
import { EventLog } from '../../main/engine/event-log';
import { AttachedSource } from '../../main/engine/attach/attached-source';
import type { Row } from '../../main/engine/attach/agent-protocol';
import type { Snapshot } from '../../shared/snapshot';

// The agent folds a batch's borrowers served clean without a call site into one row each
// (main/agent/fold-served.cjs): Poolscope, given the folded rows, must end with the snapshot
// the rows as recorded give, and every borrower it could still show must arrive whole.

const require = createRequire(import.meta.url);
const { foldServed, SERVED } = require('../../main/agent/fold-served.cjs') as { foldServed: (rows: (Row | null)[], unsampled: (ref: unknown) => boolean) => Row[]; SERVED: number };
const { K } = require('../../main/agent/recorder.cjs') as { K: Record<string, number> };

const UNSAMPLED = 'not sampled';
const unsampled = (ref: unknown) => ref === UNSAMPLED;
const POOL_INFO = { engine: 'postgres', driver: 'pg 8.16.3', tls: false, host: '127.0.0.1', port: 5432, database: 'shop', user: 'app', max: 4, min: 0, acquireTimeoutMs: 1000, idleTimeoutMs: 10000, queryTimeoutMs: 0, maxUses: null, maxLifetimeSeconds: null };

/** A pool of two connections, then `body`'s rows. */
function batch(body: Row[]): Row[] {
  return [[K.POOL!, 1, 1, 0, 0, POOL_INFO], [K.OPEN!, 2, 1, 1, 501, 3], [K.OPEN!, 2, 1, 2, 502, 3], ...body];
}

/** A borrower served clean on `conn`: enqueued at `t`, one SELECT (failing with `error`), released. */
function served(b: number, conn: number, t: number, site = UNSAMPLED, error: string | null = null): Row[] {
  return [
    [K.ENQUEUE!, t, 1, b, 0, site],
    [K.ACQUIRE!, t + 0.5, b, conn, 0, null],
    [K.STATEMENT!, t + 0.6, conn, 0, 0, 'SELECT 1'],
    [K.FINISHED!, t + 1, conn, 0, 0, error],
    [K.RELEASE!, t + 1.2, b, conn, 0, null],
  ];
}

/** What Poolscope ends with, given these rows in one batch. */
function received(rows: Row[]): Snapshot {
  const clock = new ManualClock();
  const log = new EventLog(clock);
  let pools = 0;
  const source = new AttachedSource('s1', log, clock, () => `p${++pools}`, { pid: 42, command: 'node app.js', node: 'v20.20.2', siteBudget: 100 });
  source.rows(rows, 0, 0);
  const { seq: _seq, ...rest } = log.snapshot();
  return rest as Snapshot;
}

const kinds = (rows: Row[]) => rows.map((r) => r[0]);

describe("the agent's fold of borrowers served clean", () => {
  it('sends each as one row, and Poolscope ends where the rows as recorded take it', () => {
    const rows = batch([...served(1, 1, 10), ...served(2, 2, 10.2), ...served(3, 1, 12, UNSAMPLED, 'relation "t" does not exist'), ...served(4, 2, 13)]);
    const folded = foldServed([...rows], unsampled);
    expect(kinds(folded)).toEqual([K.POOL, K.OPEN, K.OPEN, SERVED, SERVED, SERVED, SERVED]);
    expect(folded[3]).toEqual([SERVED, 11.2, 1, 1, 0, [0.5, null]]);
    expect(folded[5]).toEqual([SERVED, 13.2, 1, 1, 1, [0.5, 'relation "t" does not exist']]);
    const whole = received(rows);
    expect(received(folded)).toEqual(whole);
    expect(whole.counters).toMatchObject({ enqueued: 4, acquired: 4, released: 4, statements: 4, statementErrors: 1 });
  });

  it.each([
    ['its call site was captured', served(1, 1, 10, 'orders.js:9')],
    ['it began a transaction', served(1, 1, 10).toSpliced(3, 0, [K.TX!, 10.8, 1, 1, 0, null])],
    ['it gave the connection back dirty', served(1, 1, 10).with(4, [K.RELEASE!, 11.2, 1, 1, 1, null])],
    ['its statement ran on after the release', served(1, 1, 10).toSpliced(3, 1)],
    ['another borrower timed out meanwhile', [...served(1, 1, 10).slice(0, 3), [K.ENQUEUE!, 9, 1, 9, 0, UNSAMPLED], [K.FAIL!, 10.7, 9, 0, 1, 'timeout'], ...served(1, 1, 10).slice(3)] as Row[]],
    ['its connection closed under it', served(1, 1, 10).toSpliced(4, 1, [K.CLOSE!, 11.1, 1, 0, 0, 'error'])],
  ])('sends a borrower whole when %s', (_why, body) => {
    const rows = batch(body);
    const sent = foldServed([...rows], unsampled);
    expect(sent).toEqual(rows);
    expect(kinds(sent)).not.toContain(SERVED);
  });

  it('folds only within the batch: a borrower still holding at its end goes out as recorded', () => {
    const rows = batch(served(1, 1, 10).slice(0, 4));
    expect(foldServed([...rows], unsampled)).toEqual(rows);
  });
});
