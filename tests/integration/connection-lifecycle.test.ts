import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type ServerUnderTest, openServer, serverIdSql } from './helpers/servers';
import { engineStarter, sleep } from './helpers/start';

describe.each(ENGINES)('connection lifecycle on $engine', ({ engine, skip }) => {
  let server: ServerUnderTest;
  beforeAll(async () => {
    if (!skip) server = await openServer(engine);
  });
  afterAll(() => server?.close());
  const start = engineStarter(engine);

  it.skipIf(skip)('walks connecting → idle → borrowed → transaction → idle, with a timed handshake and the real server id', async () => {
    const { engine: e, rec } = await start({ max: 2 });
    const lease = await e.pool.borrow({ label: 'lifecycle' });
    const conn = () => e.log.live.connections[lease.connId];

    const connecting = rec.of('connection.connecting').find((x) => x.connId === lease.connId);
    const opened = rec.of('connection.opened').find((x) => x.connId === lease.connId);
    expect(connecting).toBeDefined();
    expect(opened?.handshake.totalMs).toBeGreaterThan(0);
    expect(opened?.handshake.authMs).toBeGreaterThan(0);
    expect(opened?.handshake.socketMs).toBeGreaterThanOrEqual(0);
    expect(opened?.handshake.tlsMs).toBeNull();
    expect(conn()?.state).toBe('borrowed');
    expect(conn()?.borrowerId).toBe(lease.borrowerId);
    expect(e.log.live.borrowers[lease.borrowerId]?.site).toMatch(/connection-lifecycle\.test\.ts:\d+/);

    const { rows } = await lease.query(serverIdSql(engine));
    expect(Number((rows[0] as { id: unknown }).id)).toBe(opened?.serverId);
    expect(lease.serverId).toBe(opened?.serverId);

    await lease.query('BEGIN');
    expect(conn()?.state).toBe('in-transaction');
    await lease.query('SELECT 1 AS one');
    expect(conn()?.state).toBe('in-transaction');
    expect(conn()?.txStatements).toBe(1);
    await lease.query('COMMIT');
    expect(conn()?.state).toBe('borrowed');
    expect(rec.of('tx.ended').at(-1)?.outcome).toBe('committed');

    lease.release();
    expect(conn()?.state).toBe('idle');
    expect(conn()?.uses).toBe(2); // the target check borrowed it first
    rec.expectConsistent();
  });

  it.skipIf(skip)('reads the transaction status from the wire, not from the SQL text', async () => {
    const { engine: e, rec } = await start({ max: 1 });
    const lease = await e.pool.borrow();
    const conn = () => e.log.live.connections[lease.connId];
    if (engine === 'postgres') {
      await lease.query('BEGIN');
      await expect(lease.query('SELECT 1/0')).rejects.toThrow(/division by zero/);
      expect(conn()?.state).toBe('in-failed-transaction');
      expect(rec.of('tx.failed')).toHaveLength(1);
      // COMMIT of a failed transaction is a rollback: the server says so.
      await lease.query('COMMIT');
      expect(rec.of('tx.ended').at(-1)?.outcome).toBe('rolled back');
    } else {
      // With autocommit off, a plain SELECT opens a transaction: only the status
      // flags of the result set's EOF packet tell.
      // The table and its row are made with autocommit on: no OK packet of this test
      // carries the in-transaction flag before the SELECT's result set ends.
      await lease.query('CREATE TEMPORARY TABLE IF NOT EXISTS t (x INT) ENGINE=InnoDB');
      await lease.query('INSERT INTO t VALUES (1)');
      await lease.query('SET autocommit = 0');
      expect(conn()?.state).toBe('borrowed');
      await lease.query('SELECT x FROM t');
      expect(conn()?.state).toBe('in-transaction');
      await lease.query('ROLLBACK');
      expect(conn()?.state).toBe('borrowed');
      expect(rec.of('tx.ended').at(-1)?.outcome).toBe('rolled back');
      await lease.query('SET autocommit = 1');
    }
    expect(conn()?.tx).toBe('idle');
    lease.release();
    rec.expectConsistent();
  });

  it.skipIf(skip)('flags a connection returned inside a transaction as a dirty return', async () => {
    const { engine: e, rec } = await start({ max: 1 });
    const lease = await e.pool.borrow();
    await lease.query('BEGIN');
    lease.release();
    expect(rec.of('borrower.released').at(-1)?.dirty).toBe(true);
    expect(e.log.live.counters.dirtyReturns).toBe(1);
    expect(e.log.live.connections[lease.connId]?.tx).toBe('active');
  });

  it.skipIf(skip)('closes an idle connection after the idle timeout and says so', async () => {
    const { engine: e, rec } = await start(engine === 'postgres' ? { max: 2, idleTimeoutMs: 300 } : { max: 2, maxIdle: 1, idleTimeoutMs: 300 });
    const connId = Object.keys(e.log.live.connections)[0];
    const closed = await rec.waitFor('connection.closed', (x) => x.connId === connId);
    expect(closed.reason).toBe('idle timeout');
    expect(e.log.live.closed.at(-1)?.closeReason).toBe('idle timeout');
    rec.expectConsistent();
  });

  it.skipIf(skip)('closes a destroyed connection with reason destroyed, and every connection with pool ended at stop', async () => {
    const { engine: e, rec } = await start({ max: 3 });
    const a = await e.pool.borrow();
    const b = await e.pool.borrow();
    a.destroy();
    expect((await rec.waitFor('connection.closed', (x) => x.connId === a.connId)).reason).toBe('destroyed');
    b.release();
    await e.stop();
    const rest = rec.of('connection.closed').filter((x) => x.connId !== a.connId);
    expect(rest.length).toBeGreaterThan(0);
    expect(new Set(rest.map((x) => x.reason))).toEqual(new Set(['pool ended']));
    expect(Object.keys(e.log.live.connections)).toEqual([]);
    expect(e.log.live.pools[e.log.live.closed[0]?.poolId ?? '']?.status).toBe('ended');
  });

  it.skipIf(skip || engine !== 'postgres')('closes after max uses and after max lifetime (pg-pool settings)', async () => {
    const { engine: e, rec } = await start({ max: 1, maxUses: 2 });
    const first = Object.keys(e.log.live.connections)[0];
    (await e.pool.borrow()).release();
    expect((await rec.waitFor('connection.closed', (x) => x.connId === first)).reason).toBe('max uses');

    const { engine: e2, rec: rec2 } = await start({ max: 1, maxLifetimeSeconds: 1 });
    const aged = Object.keys(e2.log.live.connections)[0];
    await sleep(1_100);
    expect((await rec2.waitFor('connection.closed', (x) => x.connId === aged)).reason).toBe('max lifetime');
  });

  it.skipIf(skip)('sees a connection killed from outside as terminated by the server, and replaces it on the next borrow', async () => {
    const { engine: e, rec } = await start({ max: 2 });
    const idle = Object.values(e.log.live.connections)[0];
    expect(idle?.state).toBe('idle');
    await server.admin(engine === 'postgres' ? `SELECT pg_terminate_backend(${idle?.serverId})` : `KILL ${idle?.serverId}`);
    expect((await rec.waitFor('connection.closed', (x) => x.connId === idle?.id)).reason).toBe('terminated by server');

    // Killed while borrowed, in the middle of a statement: the borrower gets the
    // error, the connection turns broken then closed, and the process lives on.
    const lease = await e.pool.borrow();
    expect(lease.connId).not.toBe(idle?.id);
    const outcome = lease.query(engine === 'postgres' ? 'SELECT pg_sleep(5)' : 'SELECT SLEEP(5)').then(
      () => 'finished',
      (err: Error) => err.message,
    );
    await rec.waitFor('statement.started', (x) => x.connId === lease.connId);
    await sleep(100);
    await server.admin(engine === 'postgres' ? `SELECT pg_terminate_backend(${lease.serverId})` : `KILL ${lease.serverId}`);
    expect(await outcome).not.toBe('finished');
    // Broken first when the driver learns of it from the statement (pg's FATAL 57P01),
    // or straight to closed when the socket's end arrives first (MariaDB's KILL).
    const closed = await rec.waitFor('connection.closed', (x) => x.connId === lease.connId);
    expect(closed.reason).toBe('terminated by server');
    const broken = rec.of('connection.broken').find((x) => x.connId === lease.connId);
    if (engine === 'postgres') expect(broken, 'pg reports the FATAL on the running statement: broken before closed').toBeDefined();
    if (broken) expect(closed.t).toBeGreaterThanOrEqual(broken.t);
    lease.release();

    const again = await e.pool.borrow();
    const { rows } = await again.query(serverIdSql(engine));
    expect(Number((rows[0] as { id: unknown }).id)).toBe(again.serverId);
    expect(again.serverId).not.toBe(lease.serverId);
    again.release();
    rec.expectConsistent();
  });
});
