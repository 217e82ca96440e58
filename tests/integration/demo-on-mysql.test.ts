import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolCounts } from '../../shared/snapshot';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { type ServerUnderTest, mysqlAvailable, mysqlUrl, openServer } from './helpers/servers';
import { sleep } from './helpers/start';

const DB = 'poolscope_it_demo';

describe.skipIf(!mysqlAvailable)('the demo bookshop and the load on MariaDB/MySQL', () => {
  let admin: ServerUnderTest;
  let service: PoolscopeService;
  let rec: Recorder;

  beforeAll(async () => {
    admin = await openServer('mysql');
    await admin.admin(`DROP DATABASE IF EXISTS ${DB}`);
    await admin.admin(`CREATE DATABASE ${DB}`);
    const url = new URL(mysqlUrl);
    url.pathname = `/${DB}`;
    service = new PoolscopeService(await Engine.start({ target: url.toString(), settings: { max: 4, acquireTimeoutMs: 10_000 } }));
    rec = new Recorder(service.engine);
  });
  afterAll(async () => {
    await service?.stop();
    await admin?.admin(`DROP DATABASE IF EXISTS ${DB}`);
    await admin?.close();
  });

  it('installs the demo schema on request, once', async () => {
    expect(await service.handle('demo.install', undefined)).toEqual({ ok: true, res: { created: true } });
    expect(await service.handle('demo.install', undefined)).toEqual({ ok: true, res: { created: false } });
    const [counts] = await admin.admin<Record<string, number>>(
      `SELECT (SELECT COUNT(*) FROM ${DB}.books) AS books, (SELECT COUNT(*) FROM ${DB}.inventory) AS inventory, (SELECT COUNT(*) FROM ${DB}.orders) AS orders, (SELECT COUNT(*) FROM ${DB}.order_items) AS items`,
    );
    expect(counts).toMatchObject({ books: 2000, inventory: 2000, orders: 1000, items: 1000 });
  });

  it('runs point lookups and the order write transaction without an error', async () => {
    const errorsBefore = service.engine.log.live.counters.statementErrors;
    await service.handle('load.start', { concurrency: 2, query: 'point' });
    await rec.waitFor('load.stats', (e) => e.ok > 0);
    await service.handle('load.start', { concurrency: 2, query: 'order' });
    await rec.waitFor('tx.ended', () => service.engine.log.live.counters.txCommitted >= 10);
    await service.handle('load.stop', undefined);
    expect(service.engine.log.live.counters.statementErrors).toBe(errorsBefore);
    const [row] = await admin.admin<{ n: number }>(`SELECT COUNT(*) AS n FROM ${DB}.orders`);
    expect(Number(row?.n)).toBeGreaterThanOrEqual(1010);
  });

  it('reaches the chosen concurrency', async () => {
    await service.handle('load.start', { concurrency: 3, query: 'sleep', sleepMs: 200 });
    await rec.waitFor('statement.started', () => poolCounts(service.engine.log.live, service.engine.pool.id).borrowed === 3);
    await sleep(250);
    expect(poolCounts(service.engine.log.live, service.engine.pool.id).borrowed).toBe(3);
    await service.handle('load.stop', undefined);
  });

  it('runs the long transaction next to its fix', async () => {
    await service.handle('pattern.start', { concurrency: 2, paymentMs: 150, emailMs: 50 });
    await sleep(1_300);
    await service.handle('pattern.stop', undefined);
    const stats = rec.of('pattern.stats');
    expect(stats.reduce((n, s) => n + s.inTransaction.ok, 0)).toBeGreaterThan(0);
    expect(stats.reduce((n, s) => n + s.afterCommit.ok, 0)).toBeGreaterThan(0);
    expect(stats.reduce((n, s) => n + s.inTransaction.failed + s.afterCommit.failed, 0)).toBe(0);
  });
});
