import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../shared/api';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { ENGINES, type ServerUnderTest, mysqlUrl, openServer, pgUrl } from './helpers/servers';
import { sleep } from './helpers/start';

function res<T>(r: Reply<unknown>): T {
  if (!r.ok) throw new Error(`command failed: ${r.error.message}`);
  return r.res as T;
}

describe.each(ENGINES)('controls on $engine', ({ engine, skip }) => {
  let server: ServerUnderTest;
  let service: PoolscopeService | null = null;
  beforeAll(async () => {
    if (skip) return;
    server = await openServer(engine);
    if (engine === 'mysql') await server.admin('CREATE TABLE IF NOT EXISTS poolscope_probe (id INT AUTO_INCREMENT PRIMARY KEY, n INT) ENGINE=InnoDB');
  });
  afterAll(() => server?.close());
  afterEach(async () => {
    await service?.stop();
    service = null;
  });
  const start = async (settings: { max: number; acquireTimeoutMs: number }) => {
    service = new PoolscopeService(await Engine.start({ target: engine === 'postgres' ? pgUrl() : mysqlUrl, settings }));
    return { s: service, rec: new Recorder(service.engine) };
  };

  it.skipIf(skip)('a leak of K connections on a pool of K leaves later borrowers timing out, and the diagnosis names the leaking call sites', async () => {
    const { s, rec } = await start({ max: 3, acquireTimeoutMs: 800 });
    const { borrowerIds } = res<{ borrowerIds: string[] }>(await s.handle('leak.inject', { count: 3 }));
    expect(borrowerIds).toHaveLength(3);
    await sleep(1_100); // the leaked holders have run nothing for over a second
    const err = await s.engine.pool.borrow({ label: 'victim' }).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('acquire-timeout');
    const timedOut = rec.of('borrower.timedout').at(-1);
    expect(timedOut?.diagnosis).toMatchObject({ cause: 'leak', total: 3, borrowed: 3, idle: 0 });
    expect(timedOut?.diagnosis.holders.map((h) => h.borrowerId).sort()).toEqual([...borrowerIds].sort());
    for (const h of timedOut?.diagnosis.holders ?? []) expect(h.site).toMatch(/handleRequestWithoutFinally \(load\/leaky-handler\.ts:\d+\)/);
    expect(err?.message).toMatch(/Likely cause: leak/);

    // Releasing one leaked connection from its row serves the next borrower.
    res(await s.handle('lease.release', { borrowerId: borrowerIds[0] }));
    const next = await s.engine.pool.borrow();
    next.release();
    res(await s.handle('lease.destroy', { borrowerId: borrowerIds[1] }));
    expect((await rec.waitFor('connection.closed', (e) => e.reason === 'destroyed')).reason).toBe('destroyed');
    rec.expectConsistent();
  });

  it.skipIf(skip)('flags a connection held past the leak threshold, and leaves it to its holder', async () => {
    const { s, rec } = await start({ max: 2, acquireTimeoutMs: 5_000 });
    res(await s.handle('leak.threshold', { ms: 300 }));
    const { borrowerId, connId } = res<{ borrowerId: string; connId: string }>(await s.handle('tx.begin', { label: 'slow checkout' }));
    const flagged = await rec.waitFor('borrower.flagged', (e) => e.borrowerId === borrowerId);
    expect(flagged.heldMs).toBeGreaterThanOrEqual(300);
    expect(s.engine.log.live.borrowers[borrowerId]).toMatchObject({ flagged: true, connId });
    expect(s.engine.log.live.connections[connId]?.state).toBe('in-transaction');
    res(await s.handle('tx.rollback', { borrowerId }));
    expect(s.engine.log.live.borrowers[borrowerId]).toBeUndefined();
  });

  it.skipIf(skip)('shows a held transaction pinned to its connection, as the server sees it too', async () => {
    const { s, rec } = await start({ max: 2, acquireTimeoutMs: 5_000 });
    const { borrowerId, connId } = res<{ borrowerId: string; connId: string }>(await s.handle('tx.begin', {}));
    const writes = engine === 'postgres' ? ['CREATE TEMP TABLE probe (n int)', 'INSERT INTO probe VALUES (1)'] : ['INSERT INTO poolscope_probe (n) VALUES (1)'];
    for (const sql of writes) res(await s.handle('tx.run', { borrowerId, sql }));
    const conn = s.engine.log.live.connections[connId];
    expect(conn).toMatchObject({ state: 'in-transaction', tx: 'active', txStatements: writes.length });
    const serverId = conn?.serverId;
    if (engine === 'postgres') {
      const [row] = await server.admin<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [serverId]);
      expect(row?.state).toBe('idle in transaction');
    } else {
      // The monitor's view: PROCESSLIST joined with INNODB_TRX.
      const seen = await rec.waitFor('server.observed', (e) => e.sessions.some((x) => x.id === serverId && x.inTransaction), 5_000);
      expect(seen.sessions.find((x) => x.id === serverId)?.transactionSince).not.toBeNull();
    }
    res(await s.handle('tx.commit', { borrowerId }));
    expect(s.engine.log.live.connections[connId]).toMatchObject({ state: 'idle', tx: 'idle' });
  });

  it.skipIf(skip)('flags a connection returned inside a transaction, and the borrower that receives it next', async () => {
    const { s, rec } = await start({ max: 1, acquireTimeoutMs: 5_000 });
    const careless = await s.engine.pool.borrow({ label: 'careless' });
    await careless.query('BEGIN');
    careless.release();
    expect(rec.of('borrower.released').at(-1)).toMatchObject({ borrowerId: careless.borrowerId, dirty: true });
    const next = await s.engine.pool.borrow({ label: 'next in line' });
    expect(s.engine.log.live.borrowers[next.borrowerId]).toMatchObject({ receivedDirty: true, label: 'next in line' });
    expect(next.txStatus).toBe('active');
    await next.query('ROLLBACK');
    next.release();
  });

  it.skipIf(skip)('applies new pool settings by swapping pools without losing a borrower or cutting a held connection', async () => {
    const { s, rec } = await start({ max: 2, acquireTimeoutMs: 20_000 });
    const old = s.engine.pool.id;
    const held = await s.engine.pool.borrow({ label: 'held across the swap' });
    const runs = Array.from({ length: 6 }, (_, i) => s.engine.pool.query(engine === 'postgres' ? 'SELECT pg_sleep(0.2)' : 'SELECT SLEEP(0.2)', undefined, { label: `worker ${i}` }));
    await rec.waitFor('borrower.enqueued', () => s.engine.log.live.waiting.length >= 4);
    res(await s.handle('pool.configure', { max: 6 }));
    expect(s.engine.pool.settings.max).toBe(6);
    const draining = rec.of('pool.draining').at(-1);
    expect(draining?.poolId).toBe(old);
    // The held one and six workers, less any worker done before the new pool's target check
    // ended (a 0.2 s statement on one connection: a slow check lets one or two finish).
    const workers = new Set(rec.of('borrower.enqueued').filter((x) => x.label.startsWith('worker ')).map((x) => x.borrowerId));
    const done = rec.of('borrower.released').filter((x) => workers.has(x.borrowerId) && x.seq < (draining?.seq ?? 0)).length;
    expect(done).toBeLessThan(6);
    expect((draining?.waiting ?? 0) + (draining?.holding ?? 0)).toBe(7 - done);
    // The waiters of the old pool are still served by it; new borrowers go to the new one.
    await Promise.all(runs);
    const fresh = await s.engine.pool.borrow();
    expect(s.engine.log.live.connections[fresh.connId]?.poolId).toBe(s.engine.pool.id);
    fresh.release();
    expect(await held.query('SELECT 1 AS one')).toMatchObject({ rows: [{ one: 1 }] });
    expect(s.engine.log.live.pools[old]?.status).toBe('draining');
    held.release();
    await rec.waitFor('pool.ended', (e) => e.poolId === old);
    const c = s.engine.log.live.counters;
    expect(c.timedOut + c.failed).toBe(0);
    expect(await s.handle('pool.configure', { [engine === 'postgres' ? 'queueLimit' : 'maxUses']: 3 })).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/not a setting of/) },
    });
  });

  it.skipIf(skip)('refuses bad input to every control with a message, and keeps serving', async () => {
    const { s } = await start({ max: 2, acquireTimeoutMs: 2_000 });
    expect(await s.handle('leak.inject', { count: 0 })).toMatchObject({ ok: false, error: { message: 'leak.inject: count: count must be at least 1' } });
    expect(await s.handle('leak.inject', { count: 5_000 })).toMatchObject({ ok: false, error: { message: 'leak.inject: count: count must be at most 1000' } });
    expect(await s.handle('leak.threshold', { ms: -5 })).toMatchObject({ ok: false });
    expect(await s.handle('tx.run', { borrowerId: 'nobody', sql: 'SELECT 1' })).toMatchObject({ ok: false, error: { code: 'lease-ended', message: expect.stringContaining('nobody holds no connection') } });
    expect(await s.handle('tx.run', { borrowerId: 'x', sql: '   ' })).toMatchObject({ ok: false, error: { message: 'tx.run: sql: SQL is empty' } });
    const { borrowerId } = res<{ borrowerId: string }>(await s.handle('tx.begin', {}));
    const bad = await s.handle('tx.run', { borrowerId, sql: 'SELEKT broken' });
    expect(bad).toMatchObject({ ok: false, error: { message: expect.stringMatching(/syntax/i) } });
    res(await s.handle('tx.rollback', { borrowerId }));
    expect(await s.engine.pool.query('SELECT 1 AS one')).toMatchObject({ rows: [{ one: 1 }] });
  });
});
