import { copyFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { inspectCertificate } from '../../../main/engine/link/tls';
import type { TestCertificates } from './certificates';
import { startMariadb } from './mariadb';
import { presented } from './tls-postgres';

export const TLS_MYSQL_PASSWORD = 'app-secret-pw';

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
  const server = await startMariadb(async (dir) => {
    await copyFile(certs.server.cert, path.join(dir, 'server.pem'));
    await copyFile(certs.server.key, path.join(dir, 'server.key'));
    return [`--ssl-ca=${certs.ca}`, `--ssl-cert=${path.join(dir, 'server.pem')}`, `--ssl-key=${path.join(dir, 'server.key')}`, ...extra];
  });
  const { port, admin } = server;
  const cert = path.join(server.dir, 'server.pem');
  const key = path.join(server.dir, 'server.key');
  try {
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
    await server.stop();
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
    freeze: server.freeze,
    stop: server.stop,
  };
}
