import { describe, expect, it } from 'vitest';
import { systemClock } from '../../main/engine/clock';
import type { Lease } from '../../main/engine/pool/lease';
import { ENGINES, sleepSql } from './helpers/servers';
import { engineStarter, sleep } from './helpers/start';

describe.each(ENGINES)('borrowers on $engine', ({ engine, skip }) => {
  const start = engineStarter(engine);

  it.skipIf(skip)('serves 50 borrowers on a pool of 5 in the order they asked, with exact wait times', async () => {
    const { engine: e, rec } = await start({ max: 5, acquireTimeoutMs: 30_000 });
    const HOLD_S = 0.05;
    const asked: { id: string; at: number }[] = [];
    // What each caller saw, on the engine's clock: before and after asking, and when it got a connection.
    const callers = new Map<string, { asking: number; asked: number; got: number }>();
    // The queue at the moment the fifth connection was handed out: the other 45 wait.
    let queueWhenFull: string[] = [];
    let handedOut = 0;
    const off = e.log.subscribe((ev) => {
      if (ev.type === 'borrower.acquired' && ++handedOut === 5) queueWhenFull = [...e.log.live.waiting];
    });
    const runs = Array.from({ length: 50 }, async (_, i) => {
      const asking = systemClock.now();
      const borrowing = e.pool.borrow({ label: `worker ${i}` });
      const asked = systemClock.now();
      const lease = await borrowing;
      callers.set(lease.borrowerId, { asking, asked, got: systemClock.now() });
      try {
        await lease.query(sleepSql(engine, HOLD_S));
      } finally {
        lease.release();
      }
    });
    for (const x of rec.of('borrower.enqueued').slice(-50)) asked.push({ id: x.borrowerId, at: x.t });
    await Promise.all(runs);
    off();
    const inAskOrder = (ids: string[]) => asked.map((a) => a.id).filter((id) => ids.includes(id));
    expect(queueWhenFull.length).toBeGreaterThanOrEqual(40);
    expect(queueWhenFull).toEqual(inAskOrder(queueWhenFull));

    const acquired = rec.of('borrower.acquired').filter((x) => asked.some((a) => a.id === x.borrowerId));
    expect(acquired).toHaveLength(50);
    expect(new Set(acquired.map((x) => x.connId)).size).toBe(5);
    // A borrower the pool opened a new connection for waits for that handshake; every
    // connection handed on after a release went strictly first come, first served.
    const seen = new Set<string>();
    const handedOn = acquired.filter((x) => seen.has(x.connId) || !seen.add(x.connId)).map((x) => x.borrowerId);
    expect(handedOn.length).toBeGreaterThanOrEqual(45);
    expect(handedOn).toEqual(inAskOrder(handedOn));

    for (const [k, a] of asked.entries()) {
      const ev = acquired.find((x) => x.borrowerId === a.id);
      const caller = callers.get(a.id);
      // The wait runs from the caller's own call to the hand-over, not from the driver's
      // acquire: the ask is stamped while the caller is still in borrow(), the hand-over
      // before the caller resumes.
      // (Orderings on one clock rather than a bound on the gap: a loaded machine can
      // delay the caller's resumption by any amount.)
      expect(a.at).toBeGreaterThanOrEqual(caller?.asking ?? NaN);
      expect(a.at).toBeLessThanOrEqual(caller?.asked ?? NaN);
      expect(ev?.t).toBeLessThanOrEqual(caller?.got ?? NaN);
      expect(ev?.waitedMs).toBeCloseTo((ev?.t ?? NaN) - a.at, 6);
      // Borrower k can only start once k-4 earlier holders, each sleeping HOLD_S on the
      // server, have finished on 5 connections.
      expect(ev?.waitedMs).toBeGreaterThanOrEqual((Math.max(0, k - 4) * HOLD_S * 1000) / 5 - 2);
    }
    const late = acquired.slice(-5).map((x) => x.waitedMs);
    expect(Math.min(...late)).toBeGreaterThan(8 * HOLD_S * 1000);
    expect(e.log.live.counters.timedOut).toBe(0);
    expect(e.log.live.acquireWait.total).toBeGreaterThanOrEqual(50);
    rec.expectConsistent();
  });

  it.skipIf(skip)('times a borrower out at its deadline with the pool state in the message, and loses no connection', async () => {
    // pg's acquire timeout also bounds opening a connection: 1 s, not less, so that the holder's
    // handshake on a busy machine does not time out before the late borrower does.
    const { engine: e, rec } = await start({ max: 1, acquireTimeoutMs: 1_000 });
    const holder = await e.pool.borrow({ label: 'holder' });
    const t0 = performance.now();
    const err = await e.pool.borrow({ label: 'late' }).catch((x: Error & { code?: string }) => x);
    const waited = performance.now() - t0;
    expect(err).toMatchObject({ code: 'acquire-timeout' });
    expect((err as Error).message).toMatch(/Timed out after \d+ ms waiting for a connection .*total 1, borrowed 1, idle 0/);
    if (engine === 'mysql') expect((err as Error).message).toMatch(/mysql2 has no acquire timeout: Poolscope enforces this one/);
    expect(waited).toBeGreaterThanOrEqual(990);
    expect(rec.of('borrower.timedout')).toHaveLength(1);

    // mysql2 still holds the timed-out borrower's callback in its queue and hands it the
    // next released connection; the engine must give it straight back.
    holder.release();
    await sleep(50);
    const again = await e.pool.borrow();
    again.release();
    await sleep(20);
    expect(Object.keys(e.log.live.connections)).toHaveLength(1);
    rec.expectConsistent();
  });

  it.skipIf(skip)('ends every borrower when the pool ends: waiters fail with pool ended, holders are closed', async () => {
    const { engine: e, rec } = await start({ max: 2, acquireTimeoutMs: 30_000 });
    const held: Lease[] = [await e.pool.borrow(), await e.pool.borrow()];
    const waiting = Array.from({ length: 3 }, () => e.pool.borrow().catch((x: Error & { code?: string }) => x.code));
    await rec.waitFor('borrower.enqueued', () => e.log.live.waiting.length === 3);
    await e.stop();
    expect(await Promise.all(waiting)).toEqual(['pool-ended', 'pool-ended', 'pool-ended']);
    await expect(held[0]?.query('SELECT 1')).rejects.toMatchObject({ code: 'lease-ended' });
    const c = e.log.live.counters;
    expect(c.enqueued).toBe(c.acquired + c.timedOut + c.failed);
    expect(c.failed).toBe(3);
    expect(Object.keys(e.log.live.borrowers)).toEqual([]);
    expect(Object.keys(e.log.live.connections)).toEqual([]);
    expect(rec.violations).toEqual([]);
  });
  // Drivers may answer a statement twice (the unit suite fakes it; here the real drivers do):
  // the caller gets the first answer, the statement is counted once, the connection serves on.
  it.skipIf(skip)('takes the first answer of a statement ended by the query timeout, and the pool serves on', async () => {
    const { engine: e, rec } = await start({ max: 1, queryTimeoutMs: 200, acquireTimeoutMs: 5_000 });
    const lease = await e.pool.borrow();
    const before = e.log.live.counters.statements;
    await expect(lease.query(sleepSql(engine, 1))).rejects.toThrow(/timeout/i);
    lease.release();
    await sleep(1_200); // past the statement's own end: a late second answer would land now
    const finished = rec.of('statement.finished').filter((x) => x.connId === lease.connId);
    expect(finished.filter((x) => x.error)).toHaveLength(1);
    expect(e.log.live.counters.statements - before).toBe(1);
    const next = await e.pool.borrow();
    expect((await next.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    next.release();
    rec.expectConsistent();
  });

  it.skipIf(skip || engine !== 'postgres')('takes the first answer of a statement with a parameter pg cannot serialise', async () => {
    const { engine: e, rec } = await start({ max: 1 });
    const lease = await e.pool.borrow();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(lease.query('SELECT $1::text AS v', [circular])).rejects.toThrow(/circular/i);
    await sleep(100);
    expect(rec.of('statement.finished').filter((x) => x.connId === lease.connId && x.error)).toHaveLength(1);
    expect((await lease.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    lease.release();
    expect(e.log.live.counters).toMatchObject({ statementErrors: 1 });
    rec.expectConsistent();
  });
});
