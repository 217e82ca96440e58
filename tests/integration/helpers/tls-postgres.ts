import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, chown, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TlsSession } from '../../../shared/events';
import { locateBinaries } from '../../../main/engine/embedded/binaries';
import { postgresOsUser } from '../../../main/engine/embedded/pg-process';
import { inspectCertificate } from '../../../main/engine/link/tls';
import type { TestCertificates } from './certificates';
import { freePort, listening } from './free-port';

export const TLS_PG_PASSWORD = 'app-secret-pw';

/**
 * A second PostgreSQL with ssl=on, in a temp dir on a free port (the embedded server's
 * binaries, run as the 'postgres' OS user when we are root). Users: `app` (password,
 * over TLS or not), `tlsonly` (password, TLS only: plaintext is rejected by pg_hba) and
 * `certuser` (client certificate, no password).
 */
export interface TlsPostgres {
  port: number;
  /** postgres://USER:pw@HOST:PORT/postgres?PARAMS */
  url(params: string, opts?: { user?: string; host?: string }): string;
  /** Presents another certificate from now on (pg_reload_conf), once the server does. */
  present(pair: { cert: string; key: string }): Promise<void>;
  /** Stops the server process (SIGSTOP) as a hung server would be; the function resumes it. */
  freeze(): () => void;
  stop(): Promise<void>;
}

export async function startTlsPostgres(certs: TestCertificates): Promise<TlsPostgres> {
  const runAs = await postgresOsUser();
  const bin = await locateBinaries(runAs);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-tlspg-'));
  const data = path.join(dir, 'data');
  const own = async (p: string) => {
    if (runAs) await chown(p, runAs.uid, runAs.gid);
  };
  await chmod(dir, 0o755);
  await own(dir);
  const exec = (file: string, args: string[]) => spawn(file, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) });
  const pwfile = path.join(dir, 'pw');
  await writeFile(pwfile, `${TLS_PG_PASSWORD}\n`);
  await own(pwfile);
  await new Promise<void>((resolve, reject) => {
    const child = exec(bin.initdb, ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync']);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`initdb failed (${code}): ${err}`))));
  });
  const port = await freePort();
  const place = async (from: string, to: string) => {
    await copyFile(from, path.join(data, to));
    await chmod(path.join(data, to), 0o600);
    await own(path.join(data, to));
  };
  await place(certs.server.cert, 'server.crt');
  await place(certs.server.key, 'server.key');
  await place(certs.ca, 'root.crt');
  await writeFile(
    path.join(data, 'postgresql.auto.conf'),
    [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      'ssl = on',
      "ssl_cert_file = 'server.crt'",
      "ssl_key_file = 'server.key'",
      "ssl_ca_file = 'root.crt'",
      'fsync = off',
      'max_connections = 40',
      '',
    ].join('\n'),
  );
  await writeFile(
    path.join(data, 'pg_hba.conf'),
    [
      'local all all trust',
      'hostssl all certuser 127.0.0.1/32 cert',
      'hostssl all all 127.0.0.1/32 scram-sha-256',
      'host all tlsonly 127.0.0.1/32 reject',
      'hostnossl all all 127.0.0.1/32 scram-sha-256',
      '',
    ].join('\n'),
  );
  await own(path.join(data, 'postgresql.auto.conf'));
  await own(path.join(data, 'pg_hba.conf'));
  const server: ChildProcess = exec(bin.postgres, ['-D', data]);
  let log = '';
  server.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGCONT');
      server.kill('SIGINT');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await listening(port, 20_000, `the TLS PostgreSQL (${log})`);
    const admin = await adminClient(dir, port);
    await admin.query(`CREATE ROLE app LOGIN PASSWORD '${TLS_PG_PASSWORD}'; CREATE ROLE tlsonly LOGIN PASSWORD '${TLS_PG_PASSWORD}'; CREATE ROLE certuser LOGIN;`);
    await admin.end();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    url: (params, opts = {}) => {
      const user = opts.user ?? 'app';
      const pw = user === 'certuser' ? '' : `:${TLS_PG_PASSWORD}`;
      return `postgres://${user}${pw}@${opts.host ?? '127.0.0.1'}:${port}/postgres${params ? `?${params}` : ''}`;
    },
    async present(pair) {
      await place(pair.cert, 'server.crt');
      await place(pair.key, 'server.key');
      const admin = await adminClient(dir, port);
      await admin.query('SELECT pg_reload_conf()');
      await admin.end();
      await presented(() => inspectCertificate('postgres', net.connect(port, '127.0.0.1'), 'localhost'), pair.cert, 'the TLS PostgreSQL');
    },
    freeze() {
      server.kill('SIGSTOP');
      return () => server.kill('SIGCONT');
    },
    stop,
  };
}

/** The superuser over the Unix socket, once the server takes connections (57P03 while it starts). */
async function adminClient(dir: string, port: number): Promise<pg.Client> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const client = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if ((err as { code?: unknown }).code !== '57P03' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Resolves once the server presents the certificate in `certFile` (its end date tells two CN=localhost apart). */
export async function presented(inspect: () => Promise<TlsSession | null>, certFile: string, what: string): Promise<void> {
  const want = new X509Certificate(await readFile(certFile));
  const deadline = Date.now() + 5_000;
  for (;;) {
    const seen = await inspect();
    if (seen && seen.validTo === Date.parse(want.validTo) && seen.subject === want.subject.replace(/\n/g, ', ')) return;
    if (Date.now() > deadline) throw new Error(`${what} still presents ${seen?.subject ?? 'nothing'} (valid to ${seen ? new Date(seen.validTo).toISOString() : '-'}) after reloading`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
