import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EngineKind } from '../../shared/events';
import { protection } from '../../shared/protection';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { Recorder } from './helpers/recorder';
import { mysqlAvailable } from './helpers/servers';
import { TLS_MYSQL_PASSWORD, startTlsMariadb } from './helpers/tls-mariadb';
import { TLS_PG_PASSWORD, startTlsPostgres } from './helpers/tls-postgres';

const certs = inject('certificates');
const ROOT = path.resolve(import.meta.dirname, '../..');

interface Server {
  port: number;
  url(params: string, opts?: { user?: string; host?: string }): string;
  present(pair: { cert: string; key: string }): Promise<void>;
  stop(): Promise<void>;
}

// The same checks on both engines, each spelled as its own clients spell it.
const CASES: { engine: EngineKind; skip: boolean; start: () => Promise<Server>; full: string; ca: string; require: string; verifyCa: string; cert: string; key: string; password: string }[] = [
  { engine: 'postgres', skip: false, start: () => startTlsPostgres(certs), full: 'sslmode=verify-full', ca: 'sslrootcert', require: 'sslmode=require', verifyCa: 'sslmode=verify-ca', cert: 'sslcert', key: 'sslkey', password: TLS_PG_PASSWORD },
  { engine: 'mysql', skip: !mysqlAvailable, start: () => startTlsMariadb(certs), full: 'ssl-mode=VERIFY_IDENTITY', ca: 'ssl-ca', require: 'ssl-mode=REQUIRED', verifyCa: 'ssl-mode=VERIFY_CA', cert: 'ssl-cert', key: 'ssl-key', password: TLS_MYSQL_PASSWORD },
];

describe.each(CASES)('TLS on a real $engine server', (c) => {
  let server: Server;
  const started: Engine[] = [];
  const full = (ca = certs.ca) => `${c.full}&${c.ca}=${ca}`;

  async function connect(url: string) {
    const engine = new Engine({ target: url, settings: { max: 4 } });
    started.push(engine);
    const rec = new Recorder(engine);
    await engine.start();
    const pool = engine.log.live.pools[engine.pool.id];
    return { engine, rec, shown: protection(engine.pool.target, pool?.tlsSession ?? null, Date.now()) };
  }

  async function refusal(url: string): Promise<{ code: string; message: string }> {
    const engine = new Engine({ target: url, settings: { max: 2 } });
    started.push(engine);
    const err = (await engine.start().then(() => null, (e: unknown) => e)) as { code: string; message: string } | null;
    expect(err, 'the connection should have been refused').not.toBeNull();
    expect(err?.message).not.toContain(c.password);
    return err as { code: string; message: string };
  }

  beforeAll(async () => {
    if (!c.skip) server = await c.start();
  });

  afterAll(async () => {
    for (const e of started.splice(0)) await e.stop();
    await server?.stop();
  });

  it.skipIf(c.skip)('verify-full with the right CA: verified, with protocol, subject, issuer and expiry, and TLS timed as its own phase', async () => {
    const { engine, shown } = await connect(server.url(full()));
    expect(shown.verified).toBe(true);
    expect(shown.tls).toMatch(/^TLS verified: TLSv1\.[23], CN=localhost, issued by CN=Poolscope Test CA, expires \d{4}-\d\d-\d\d$/);
    await engine.pool.query('SELECT 1');
    const opened = Object.values(engine.log.live.connections).map((x) => x.handshake);
    expect(opened.length).toBeGreaterThan(0);
    for (const h of opened) {
      expect(h?.tlsMs).not.toBeNull();
      expect(h?.tlsMs).toBeGreaterThan(0);
      expect(h?.sshMs).toBeNull();
    }
  });

  it.skipIf(c.skip)('every connection of the target uses its TLS: pools, side pools, the monitor and terminate, for a user the server lets in only over TLS', async () => {
    const engine = new Engine({ target: server.url(full(), { user: 'tlsonly' }), settings: { max: 2 } });
    started.push(engine);
    const rec = new Recorder(engine);
    await engine.start();
    const service = new PoolscopeService(engine);
    try {
      // The monitor reads the server's sessions: it connected, so it used TLS.
      const observed = await rec.waitFor('server.observed', (e) => e.sessions.length > 0);
      expect(observed.note ?? '').not.toMatch(/cannot read/);
      const side = engine.openSide({ max: 1 });
      await side.query('SELECT 1');
      await engine.endSide(side);
      const lease = await engine.pool.borrow();
      const id = (await lease.query(c.engine === 'postgres' ? 'SELECT pg_backend_pid() AS id' : 'SELECT CONNECTION_ID() AS id')).rows[0] as { id: number };
      lease.release();
      await rec.waitFor('server.observed', (e) => e.sessions.some((s) => s.id === Number(id.id)));
      const r = await service.handle('server.terminate', { serverId: Number(id.id) });
      expect(r).toEqual({ ok: true, res: null });
    } finally {
      await service.stop();
      rec.stop();
    }
  });

  it.skipIf(c.skip)('verify-full with the wrong CA is refused, naming the CA file and the certificate', async () => {
    const err = await refusal(server.url(full(certs.otherCa)));
    expect(err.code).toBe('tls-failed');
    expect(err.message).toContain(`not signed by a CA Poolscope trusts`);
    expect(err.message).toContain(`the CA file ${certs.otherCa}`);
    expect(err.message).toContain('issued by CN=Poolscope Test CA');
  });

  it.skipIf(c.skip)('require connects encrypted and is shown as NOT verified', async () => {
    const { shown } = await connect(server.url(c.require));
    expect(shown.verified).toBe(false);
    expect(shown.tls).toMatch(/^TLS: encrypted, server NOT verified \((sslmode=require|ssl-mode=REQUIRED)\), TLSv1\.[23]$/);
  });

  it.skipIf(c.skip)('a certificate for another host: verify-full is refused naming its names and the host dialled; verify-ca connects and says the host is not checked', async () => {
    await server.present(certs.wrongHost);
    try {
      const err = await refusal(server.url(full()));
      expect(err.code).toBe('tls-failed');
      expect(err.message).toContain('does not name the host Poolscope dialled, "127.0.0.1"; it names DNS:db.example.com');
      const { shown } = await connect(server.url(`${c.verifyCa}&${c.ca}=${certs.ca}`));
      expect(shown.tls).toMatch(/^TLS verified \(CA only: host name NOT checked\): TLSv1\.[23], CN=db\.example\.com/);
    } finally {
      await server.present(certs.server);
    }
  });

  it.skipIf(c.skip)('an expired certificate is refused with its dates', async () => {
    await server.present(certs.expired);
    try {
      const err = await refusal(server.url(full()));
      expect(err.code).toBe('tls-failed');
      expect(err.message).toMatch(/has expired \(valid from 2020-01-01 00:00 UTC to 2020-02-01 00:00 UTC, and it is now \d{4}/);
    } finally {
      await server.present(certs.server);
    }
  });

  it.skipIf(c.skip)('a user that must show a client certificate: refused without one, connects with it', async () => {
    const err = await refusal(server.url(full(), { user: 'certuser' }));
    expect(err.message).toMatch(c.engine === 'postgres' ? /did not accept a connection without a client certificate/ : /must connect with TLS or a client certificate/);
    const { shown } = await connect(server.url(`${full()}&${c.cert}=${certs.client.cert}&${c.key}=${certs.client.key}`, { user: 'certuser' }));
    expect(shown.verified).toBe(true);
  });

  it.skipIf(c.skip)('through the fault proxy TLS still ends at the database: verification holds with faults on', async () => {
    const { engine } = await connect(server.url(full()));
    await engine.setFaults({ latencyMs: 5 });
    const routed = engine.log.live.pools[engine.pool.id];
    expect(engine.log.live.faults.proxy).not.toBeNull();
    expect(routed?.tlsSession?.subject).toBe('CN=localhost');
    await server.present(certs.wrongHost);
    try {
      // A new pool through the proxy meets the wrong certificate: refused as without faults.
      const err = (await engine.configure({ max: 3 }).then(() => null, (e: unknown) => e)) as { message: string } | null;
      expect(err?.message).toContain('does not name the host Poolscope dialled');
    } finally {
      await server.present(certs.server);
    }
  });

  const shownTls = async (url: string) => (await connect(url)).shown.tls;

  it.skipIf(c.engine !== 'postgres')('prefer encrypts when the server offers TLS; allow stays plaintext unless the server refuses it, and says so', async () => {
    expect(await shownTls(server.url('sslmode=prefer'))).toMatch(/^TLS: encrypted, server NOT verified \(sslmode=prefer\)/);
    expect(await shownTls(server.url('sslmode=allow'))).toBe('TLS: off, NOT encrypted, server NOT verified (sslmode=allow: the server accepted plaintext)');
    expect(await shownTls(server.url('sslmode=allow', { user: 'tlsonly' }))).toMatch(/^TLS: encrypted, server NOT verified \(sslmode=allow\)/);
  });

  it.skipIf(c.engine !== 'postgres')('the CLI says how the target is protected on its first line, and why a refusal was made', async () => {
    const first = await firstLine(['watch', '--target', server.url(full())]);
    expect(first).toMatch(/^poolscope: TLS verified: TLSv1\.[23], CN=localhost, issued by CN=Poolscope Test CA, expires \d{4}-\d\d-\d\d$/);
    const refused = await firstLine(['watch', '--target', server.url(full(certs.otherCa))]);
    expect(refused).toMatch(/^poolscope: TLS refused: the certificate at 127\.0\.0\.1:\d+ is not signed by a CA Poolscope trusts/);
    expect(refused).not.toContain(c.password);
  });
});

/** The first line `poolscope …` prints (stdout or stderr); the process is stopped then. */
function firstLine(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/poolscope.mjs', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        child.kill('SIGINT');
        resolve(out.slice(0, nl));
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', () => resolve(out.trim()));
  });
}

