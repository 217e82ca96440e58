import { afterEach, describe, expect, it } from 'vitest';
import { poolCounts } from '../../shared/snapshot';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { mysqlAvailable, mysqlUrl, pgUrl } from './helpers/servers';
import { sleep } from './helpers/start';

describe('the service behind the typed API', () => {
  let service: PoolscopeService | null = null;
  afterEach(async () => {
    await service?.stop();
    service = null;
  });
  const start = async () => {
    service = new PoolscopeService(await Engine.start({ target: pgUrl() }));
    return service;
  };

  it('refuses malformed requests with a message naming the field, before the engine sees them', async () => {
    const s = await start();
    expect(await s.handle('load.start', { concurrency: -1, query: 'select1' })).toEqual({
      ok: false,
      error: { code: 'bad-request', message: 'load.start: concurrency: concurrency must be at least 1' },
    });
    expect(await s.handle('load.start', { concurrency: 5, query: 'DROP TABLE books' })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^load\.start: query: /) } });
    expect(await s.handle('pool.explode', {})).toMatchObject({ ok: false, error: { message: 'Unknown command "pool.explode".' } });
    expect(await s.handle('target.connect', { kind: 'url', url: 'x', extra: 1 })).toMatchObject({ ok: false });
    expect(s.engine.log.live.load).toBeNull();
  });

  it('keeps the current pool serving when a new target fails, and says why', async () => {
    const s = await start();
    const before = s.engine.log.live.activePoolId;
    const r = await s.handle('target.connect', { kind: 'url', url: 'postgres://me:sekrit-pw@127.0.0.1:1/db' });
    expect(r).toMatchObject({ ok: false, error: { code: 'connection-refused' } });
    expect(JSON.stringify(r)).not.toContain('sekrit-pw');
    expect(s.engine.log.live.activePoolId).toBe(before);
    expect(s.engine.log.live.targetError).toMatch(/Connection refused at 127\.0\.0\.1:1/);
    expect(await s.engine.pool.query('SELECT 1 AS one')).toMatchObject({ rows: [{ one: 1 }] });
  });

  it.skipIf(!mysqlAvailable)('switches to another engine; the old pool drains and closes', async () => {
    const s = await start();
    const old = s.engine.pool.id;
    const r = await s.handle('target.connect', { kind: 'url', url: mysqlUrl, settings: { max: 4 } });
    expect(r).toMatchObject({ ok: true, res: { engine: 'mysql' } });
    const live = s.engine.log.live;
    expect(live.activePoolId).not.toBe(old);
    expect(live.pools[live.activePoolId ?? '']?.settings.max).toBe(4);
    await new Recorder(s.engine).waitFor('pool.ended', (e) => e.poolId === old);
    expect(poolCounts(live, old).total).toBe(0);
  });

  it('runs load at the chosen concurrency and stops it', async () => {
    const s = await start();
    expect(await s.handle('load.start', { concurrency: 6, query: 'sleep', sleepMs: 200 })).toEqual({ ok: true, res: null });
    const rec = new Recorder(s.engine);
    await rec.waitFor('statement.started', () => poolCounts(s.engine.log.live, s.engine.pool.id).borrowed === 6);
    await sleep(300);
    expect(poolCounts(s.engine.log.live, s.engine.pool.id)).toMatchObject({ borrowed: 6, total: 6 });
    expect(s.engine.log.live.load).toMatchObject({ running: true, concurrency: 6, query: 'sleep' });
    await s.handle('load.stop', undefined);
    expect(s.engine.log.live.load?.running).toBe(false);
    expect(poolCounts(s.engine.log.live, s.engine.pool.id).borrowed).toBe(0);
  });
});
