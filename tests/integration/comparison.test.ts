import { afterEach, describe, expect, it } from 'vitest';
import type { EventOf } from '../../shared/events';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { ENGINES, mysqlUrl, openServer, pgUrl } from './helpers/servers';

/** The server's own count of sessions ever started: the proof a connection was opened. */
async function sessionsStarted(engine: 'postgres' | 'mysql'): Promise<number> {
  const admin = await openServer(engine);
  try {
    if (engine === 'postgres') {
      const [row] = await admin.admin<{ n: string }>('SELECT sum(sessions)::text AS n FROM pg_stat_database');
      return Number(row?.n);
    }
    const [row] = await admin.admin<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Connections'");
    return Number(row?.Value);
  } finally {
    await admin.close();
  }
}

describe.each(ENGINES)('per-request connections versus the pool on $engine', ({ engine, skip }) => {
  let service: PoolscopeService | null = null;
  afterEach(async () => {
    await service?.stop();
    service = null;
  });

  it.skipIf(skip)('opens a real connection per request on one side, and the pool serves more of the same stream', async () => {
    service = new PoolscopeService(await Engine.start({ target: engine === 'postgres' ? pgUrl() : mysqlUrl, settings: { max: 2 } }));
    const rec = new Recorder(service.engine);
    const before = await sessionsStarted(engine);
    expect(await service.handle('compare.start', { concurrency: 2, query: 'select1' })).toEqual({ ok: true, res: null });
    // Until both sides served some (1.6 s here unloaded), however slow the machine.
    const served = (k: 'pooled' | 'perRequest') => rec.of('compare.stats').reduce((n, s) => n + s[k].ok, 0);
    await rec.waitFor('compare.stats', () => served('perRequest') >= 5 && served('pooled') > 0, 30_000);
    expect(await service.handle('compare.stop', undefined)).toEqual({ ok: true, res: null });
    const after = await sessionsStarted(engine);

    const stats = rec.of('compare.stats') as EventOf<'compare.stats'>[];
    const total = (k: 'pooled' | 'perRequest') => stats.reduce((n, s) => n + s[k].ok, 0);
    const perRequest = total('perRequest');
    expect(perRequest).toBeGreaterThan(0);
    // Every per-request request opened a session the server counted (the admin probes add two).
    expect(after - before).toBeGreaterThanOrEqual(perRequest);
    // The pool skips the handshake, so the same clients get more done: the ratio, not a time.
    expect(total('pooled') / perRequest).toBeGreaterThan(1.5);
    const hs = stats.find((s) => s.handshake !== null)?.handshake;
    expect(hs?.authMs).toBeGreaterThan(0);
    expect(hs?.totalMs).toBeGreaterThanOrEqual(hs?.authMs ?? 0);
    // The per-request pool is gone, every one of its connections closed as destroyed.
    const side = rec.of('compare.changed')[0]?.perRequestPoolId;
    expect(service.engine.log.live.pools[side ?? '']?.status).toBe('ended');
    const destroyed = rec.of('connection.closed').filter((e) => e.connId.startsWith(`${side}.`));
    expect(destroyed.length).toBeGreaterThanOrEqual(perRequest);
    console.log(`${engine}: pooled/per-request throughput ratio ${(total('pooled') / perRequest).toFixed(1)} (${total('pooled')} vs ${perRequest} requests, concurrency 2, SELECT 1)`);
  });
});
