import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { inspectCertificate } from '../../../main/engine/link/tls';
import type { TestCertificates } from './certificates';
import { freePort, listening } from './free-port';
import { presented } from './tls-postgres';

const run = promisify(execFile);

export const TLS_MYSQL_PASSWORD = 'app-secret-pw';
export const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';

/**
 * A second mariadbd with TLS, its own data dir in a temp dir and a free port (the machine's
 * MariaDB is left alone). Users, from 127.0.0.1: `app` (password, TLS or not), `tlsonly`
 * (REQUIRE SSL) and `certuser` (REQUIRE X509: a client certificate signed by the CA).
 */
export interface TlsMariadb {
  port: number;
  url(params: string, opts?: { user?: string; host?: string }): string;
  /** Presents another certificate from now on (FLUSH SSL), once the server does. */
  present(pair: { cert: string; key: string }): Promise<void>;
  /** Stops the server process (SIGSTOP) as a hung server would be; the function resumes it. */
  freeze(): () => void;
  stop(): Promise<void>;
}

/** `extra`: more server options (e.g. a small `--max-connections` to be refused by). */
export async function startTlsMariadb(certs: TestCertificates, extra: string[] = []): Promise<TlsMariadb> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-tlsmy-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const cert = path.join(dir, 'server.pem');
  const key = path.join(dir, 'server.key');
  await copyFile(certs.server.cert, cert);
  await copyFile(certs.server.key, key);
  // As root, mariadbd must be told to run as root; its files then stay in our temp dir.
  const user = process.getuid?.() === 0 ? ['--user=root'] : [];
  await run(INSTALL_DB, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=socket', '--skip-test-db', ...user], { cwd: dir });
  const port = await freePort();
  const server: ChildProcess = spawn(
    MARIADBD,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${path.join(dir, 'mysqld.pid')}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=16M',
      '--skip-log-bin',
      `--ssl-ca=${certs.ca}`,
      `--ssl-cert=${cert}`,
      `--ssl-key=${key}`,
      ...extra,
      ...user,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGCONT');
      server.kill('SIGTERM');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const admin = () => mysql.createConnection({ socketPath: socket, user: 'root' });
  try {
    await listening(port, 30_000, `the TLS MariaDB (${log})`);
    const a = await admin();
    for (const sql of [
      `CREATE USER app@'127.0.0.1' IDENTIFIED BY '${TLS_MYSQL_PASSWORD}'`,
      `CREATE USER tlsonly@'127.0.0.1' IDENTIFIED BY '${TLS_MYSQL_PASSWORD}' REQUIRE SSL`,
      "CREATE USER certuser@'127.0.0.1' REQUIRE X509",
      'CREATE DATABASE poolscope_tls',
      "GRANT ALL ON poolscope_tls.* TO app@'127.0.0.1', tlsonly@'127.0.0.1', certuser@'127.0.0.1'",
      // The server monitor reads INNODB_TRX, which MariaDB shows only with PROCESS.
      "GRANT PROCESS ON *.* TO app@'127.0.0.1', tlsonly@'127.0.0.1', certuser@'127.0.0.1'",
    ]) {
      await a.query(sql);
    }
    await a.end();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    url: (params, opts = {}) => {
      const u = opts.user ?? 'app';
      const pw = u === 'certuser' ? '' : `:${TLS_MYSQL_PASSWORD}`;
      return `mysql://${u}${pw}@${opts.host ?? '127.0.0.1'}:${port}/poolscope_tls${params ? `?${params}` : ''}`;
    },
    async present(pair) {
      await copyFile(pair.cert, cert);
      await copyFile(pair.key, key);
      const a = await admin();
      await a.query('FLUSH SSL');
      await a.end();
      await presented(() => inspectCertificate('mysql', net.connect(port, '127.0.0.1'), 'localhost'), pair.cert, 'the TLS MariaDB');
    },
    freeze() {
      server.kill('SIGSTOP');
      return () => server.kill('SIGCONT');
    },
    stop,
  };
}
