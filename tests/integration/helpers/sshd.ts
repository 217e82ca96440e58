import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, listening } from './free-port';

const run = promisify(execFile);

export const SSHD = '/usr/sbin/sshd';
export const KEY_PASSPHRASE = 'key-secret-phrase';

/**
 * Debian's OpenSSH server on a loopback port with a throwaway host key, letting the current
 * OS user in with two throwaway keys (one protected by KEY_PASSPHRASE). TCP forwarding on.
 */
export interface TestSshd {
  port: number;
  user: string;
  /** The host key's fingerprint, SHA256:… (as ssh-keygen -l prints it). */
  fingerprint: string;
  /** A host key fingerprint that is not this server's. */
  otherFingerprint: string;
  key: string;
  keyWithPassphrase: string;
  /** Kills the sessions (the forked per-connection sshd processes): every tunnel drops; the server keeps listening. */
  killSessions(): Promise<number>;
  stop(): Promise<void>;
}

async function fingerprintOf(pubFile: string): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile]);
  return (/SHA256:[A-Za-z0-9+/]+/.exec(stdout) as RegExpExecArray)[0];
}

export async function startSshd(): Promise<TestSshd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-sshd-'));
  const keygen = (file: string, passphrase: string) => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'poolscope-test', '-f', path.join(dir, file)]);
  await Promise.all([keygen('host_key', ''), keygen('other_host_key', ''), keygen('user_key', ''), keygen('user_key_pp', KEY_PASSPHRASE)]);
  const pubs = await Promise.all(['user_key.pub', 'user_key_pp.pub'].map((f) => readFile(path.join(dir, f), 'utf8')));
  await writeFile(path.join(dir, 'authorized_keys'), pubs.join(''), { mode: 0o600 });
  const port = await freePort();
  const user = os.userInfo().username;
  await writeFile(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding yes',
      'PermitTTY no',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  // sshd's privilege separation directory; Debian's package creates it at boot only.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const server: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await listening(port, 10_000, `sshd (${log})`);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    user,
    fingerprint: await fingerprintOf(path.join(dir, 'host_key.pub')),
    otherFingerprint: await fingerprintOf(path.join(dir, 'other_host_key.pub')),
    key: path.join(dir, 'user_key'),
    keyWithPassphrase: path.join(dir, 'user_key_pp'),
    async killSessions() {
      const { stdout } = await run('pgrep', ['-P', String(server.pid)]).catch(() => ({ stdout: '' }));
      const pids = stdout.split(/\s+/).filter(Boolean).map(Number);
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      return pids.length;
    },
    stop,
  };
}
