import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORM_EXAMPLES } from '../../shared/form-examples';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { ENGINES, type ServerUnderTest, mysqlUrl, openServer, pgUrl } from './helpers/servers';

// Every SQL placeholder a form shows runs on the demo bookshop of each engine. On MySQL the
// demo is installed in a database of its own; the PostgreSQL under test is the embedded demo.
const DB = 'poolscope_it_examples';

describe.each(ENGINES)('form examples on the $engine demo schema', ({ engine, skip }) => {
  let admin: ServerUnderTest | null = null;
  let service: PoolscopeService | null = null;

  beforeAll(async () => {
    if (skip) return;
    let url = pgUrl();
    if (engine === 'mysql') {
      admin = await openServer('mysql');
      await admin.admin(`DROP DATABASE IF EXISTS ${DB}`);
      await admin.admin(`CREATE DATABASE ${DB}`);
      const u = new URL(mysqlUrl);
      u.pathname = `/${DB}`;
      url = u.toString();
    }
    service = new PoolscopeService(await Engine.start({ target: url, settings: { max: 2, acquireTimeoutMs: 10_000 } }));
    const installed = await service.handle('demo.install', undefined);
    expect(installed.ok).toBe(true);
  });
  afterAll(async () => {
    await service?.stop();
    await admin?.admin(`DROP DATABASE IF EXISTS ${DB}`);
    await admin?.close();
  });

  it.skipIf(skip).each(Object.entries(FORM_EXAMPLES))('%s runs as written (in a transaction rolled back)', async (_name, sql) => {
    if (!service) throw new Error('the engine did not start');
    const lease = await service.engine.pool.borrow({ label: 'form example' });
    try {
      await lease.query('BEGIN');
      await expect(lease.query(sql)).resolves.toBeDefined();
      await lease.query('ROLLBACK');
    } finally {
      lease.release();
    }
  });
});
