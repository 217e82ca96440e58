import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { freePort, listening } from './free-port';

const run = promisify(execFile);

export const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';

/** A throwaway mariadbd: its own data dir in a temp dir and a free port (the machine's MariaDB is left alone). */
export interface Mariadb {
  port: number;
  /** Its temp dir, where `args` may have put files the server reads. */
  dir: string;
  /** root over the server's socket (root has no password and no TCP login). */
  admin(): Promise<mysql.Connection>;
  /** Stops the server process (SIGSTOP) as a hung server would be; the function resumes it. */
  freeze(): () => void;
  stop(): Promise<void>;
}

/** `args(dir)`: more server options, given the temp dir (e.g. TLS files copied there). */
export async function startMariadb(args: (dir: string) => Promise<string[]> = async () => []): Promise<Mariadb> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-mariadb-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  // As root, mariadbd must be told to run as root; its files then stay in our temp dir.
  const user = process.getuid?.() === 0 ? ['--user=root'] : [];
  let server: ChildProcess | null = null;
  let log = '';
  const stop = async () => {
    if (server !== null && server.exitCode === null && server.signalCode === null) {
      const gone = new Promise((r) => server!.once('exit', r));
      server.kill('SIGCONT');
      server.kill('SIGTERM');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await run(INSTALL_DB, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=socket', '--skip-test-db', ...user], { cwd: dir });
    const port = await freePort();
    server = spawn(
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
        ...(await args(dir)),
        ...user,
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    server.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
    await listening(port, 30_000, `the throwaway MariaDB (${log})`);
    const child = server;
    return {
      port,
      dir,
      admin: () => mysql.createConnection({ socketPath: socket, user: 'root' }),
      freeze() {
        child.kill('SIGSTOP');
        return () => child.kill('SIGCONT');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
