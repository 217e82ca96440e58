import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { mysqlAvailable } from './helpers/servers';
import { sleep } from './helpers/start';
import { type TlsMariadb, startTlsMariadb } from './helpers/tls-mariadb';

// MySQL's own refusal ("Too many connections", error 1040) as the instances see it. A
// throwaway mariadbd with max_connections 20 is refused quickly, and the machine's MariaDB,
// which other suites share, is never pushed to its limit.
const MAX_CONNECTIONS = 20;

describe.skipIf(!mysqlAvailable)(`many app instances on MariaDB (a second server, max_connections ${MAX_CONNECTIONS})`, () => {
  let server: TlsMariadb;
  beforeAll(async () => {
    server = await startTlsMariadb(inject('certificates'), [`--max-connections=${MAX_CONNECTIONS}`]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('K x P above max_connections: refused in the server\'s words, counted per instance; fewer instances recover', async () => {
    const service = new PoolscopeService(await Engine.start({ target: server.url(''), settings: { max: 2 } }));
    const rec = new Recorder(service.engine);
    const call = async (cmd: 'instances.start' | 'instances.stop', req?: unknown) => {
      const r = await service.handle(cmd, req);
      if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    };
    try {
      await rec.waitFor('server.observed', (x) => x.maxConnections !== null);
      expect(service.engine.log.live.server?.maxConnections).toBe(MAX_CONNECTIONS);
      await call('instances.start', { count: 4, poolSize: 8, query: 'sleep', sleepMs: 300 });
      await rec.waitFor('connection.closed', (x) => x.reason === 'connect failed' && /too many connections/i.test(x.error ?? ''), 30_000);
      const inst = service.engine.log.live.instances;
      expect(inst?.lastRefusal?.message).toMatch(/too many connections/i);
      expect(Object.values(inst?.refusals ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

      await call('instances.start', { count: 2, poolSize: 3, query: 'sleep', sleepMs: 100 });
      await sleep(1_000); // the first set's connections close
      const okFrom = rec.events.length;
      await sleep(2_000);
      const later = rec.events.slice(okFrom);
      expect(later.filter((x) => x.type === 'borrower.acquired').length).toBeGreaterThan(10);
      expect(later.filter((x) => x.type === 'connection.closed' && x.reason === 'connect failed')).toEqual([]);
      await call('instances.stop');
      expect(service.engine.log.live.instances?.running).toBe(false);
    } finally {
      rec.stop();
      await service.stop();
    }
  });
});
