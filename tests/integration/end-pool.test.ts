import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { ENGINES, type ServerUnderTest, mysqlUrl, openServer, pgUrl } from './helpers/servers';

// A pool replaced by new settings drains: it ends once its borrowers are done. A leaked
// borrower is never done, so its connection stayed open until the process ended. pool.end
// (the connections table's "End pool") ends it now, its leases destroyed.

const started: { service: PoolscopeService; rec: Recorder; admin: ServerUnderTest }[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) {
    s.rec.stop();
    await s.service.stop();
    await s.admin.close();
  }
});

/** The server's own list of session ids. */
async function listed(admin: ServerUnderTest, engine: 'postgres' | 'mysql'): Promise<Set<number>> {
  const rows = await admin.admin<{ id: number }>(engine === 'postgres' ? 'SELECT pid AS id FROM pg_stat_activity' : 'SELECT ID AS id FROM information_schema.PROCESSLIST');
  return new Set(rows.map((r) => Number(r.id)));
}

describe.each(ENGINES)('ending a replaced pool on $engine', ({ engine, skip }) => {
  it.skipIf(skip)('ends an old pool that a leaked lease kept open, its connection closed on the server too; the active pool cannot be ended this way', async () => {
    const service = new PoolscopeService(await Engine.start({ target: engine === 'postgres' ? pgUrl() : mysqlUrl, settings: { max: 2, acquireTimeoutMs: 5_000 } }));
    const rec = new Recorder(service.engine);
    const admin = await openServer(engine);
    started.push({ service, rec, admin });
    const live = () => service.engine.log.live;

    const old = live().activePoolId as string;
    const leaked = await service.handle('leak.inject', { count: 1 });
    expect(leaked.ok).toBe(true);
    const conn = Object.values(live().connections).find((c) => c.poolId === old && c.borrowerId !== null);
    const serverId = conn?.serverId ?? null;
    expect(serverId).not.toBeNull();
    expect(await service.handle('pool.configure', { max: 3 })).toMatchObject({ ok: true });
    // Replaced, the old pool drains and waits for the leak, which never comes back.
    await rec.waitFor('pool.draining', (e) => e.poolId === old);
    await new Promise((r) => setTimeout(r, 300));
    expect(live().pools[old]?.status).toBe('draining');
    expect((await listed(admin, engine)).has(serverId as number)).toBe(true);

    const active = live().activePoolId as string;
    expect(await service.handle('pool.end', { poolId: active })).toMatchObject({ ok: false, error: { code: 'pool-in-use' } });

    expect(await service.handle('pool.end', { poolId: old })).toMatchObject({ ok: true });
    expect(live().pools[old]?.status).toBe('ended');
    expect(Object.values(live().connections).filter((c) => c.poolId === old)).toEqual([]);
    expect(rec.of('borrower.released').some((e) => e.connId === conn?.id && e.destroyed)).toBe(true);
    // The server ends the session a moment after the socket closed.
    const deadline = Date.now() + 5_000;
    while ((await listed(admin, engine)).has(serverId as number) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((await listed(admin, engine)).has(serverId as number)).toBe(false);
    // Ended twice: a clear message, not a crash.
    expect(await service.handle('pool.end', { poolId: old })).toMatchObject({ ok: false, error: { code: 'pool-ended' } });
    // The active pool still serves.
    await expect(service.engine.pool.query('SELECT 1')).resolves.toBeDefined();
  });
});
