import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, stat, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cachedCopy, platformPackageNativeDir, reachableBy } from '../../main/engine/embedded/binaries';
import { isRoot, layoutOf } from '../../main/engine/embedded/data-dir';
import { DEMO_ROLE } from '../../main/engine/embedded/demo-role';
import { DEMO_ROW_COUNTS } from '../../main/engine/embedded/demo-schema';
import {
  startEmbeddedPostgres,
  type EmbeddedConnection,
  type EmbeddedPhase,
  type EmbeddedProgress,
  type EmbeddedServer,
} from '../../main/engine/embedded/embedded-postgres';
import { postgresOsUser, type RunAs } from '../../main/engine/embedded/pg-process';
import { isAlive } from '../../main/engine/embedded/postmaster';
import { Engine } from '../../main/engine/engine';
import type { PoolscopeError } from '../../main/engine/errors';

// These tests start their own servers, in their own temp dir, not the run's global one.
// They share that dir and run in order: the first one creates it, the rest reuse it,
// so the file pays for initdb twice (first start, rebuild) rather than once per test.

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const moduleUrl = new URL('../../main/engine/embedded/embedded-postgres.ts', import.meta.url).href;
const engineUrl = new URL('../../main/engine/engine.ts', import.meta.url).href;

let dataDir: string;
const servers: EmbeddedServer[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-pg-test-'));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const server of servers) await server.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function start(opts: { port?: number; dataDir?: string; binaries?: { nativeDir?: string; cacheRoot?: string } } = {}): Promise<{ server: EmbeddedServer; progress: EmbeddedProgress[]; phases: () => EmbeddedPhase[] }> {
  const progress: EmbeddedProgress[] = [];
  const server = await startEmbeddedPostgres({ dataDir, ...opts, onProgress: (p) => progress.push(p) });
  servers.push(server);
  return { server, progress, phases: () => progress.map((p) => p.phase) };
}

async function query<R extends pg.QueryResultRow>(connection: EmbeddedConnection, sql: string): Promise<R[]> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function countRows(connection: EmbeddedConnection): Promise<Record<string, number>> {
  const tables = Object.keys(DEMO_ROW_COUNTS);
  const sql = `SELECT ${tables.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(', ')}`;
  const [row] = await query<Record<string, number>>(connection, sql);
  return row ?? {};
}

const pgdata = (): string => layoutOf(dataDir).pgdata;
const pidFile = (): string => path.join(pgdata(), 'postmaster.pid');

async function postmasterPid(): Promise<number> {
  return Number.parseInt(await readFile(pidFile(), 'utf8'), 10);
}

/** The postmaster's children (checkpointer, walwriter, backends...), from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [])) {
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    if (ppid === String(pid)) found.push(Number(entry));
  }
  return found;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

async function pidOfExitedProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid ?? Number.NaN;
}

/**
 * A separate Node process (via tsx) that starts the server on our data dir and
 * prints the postmaster's pid; with mode 'exit' it then calls process.exit(0),
 * with 'wait' it keeps running until signalled.
 */
async function startInChildProcess(mode: 'exit' | 'wait'): Promise<{ child: ChildProcess; pid: number }> {
  const script = `
    const { readFile } = await import('node:fs/promises');
    const { startEmbeddedPostgres } = await import(process.env.MODULE_URL);
    await startEmbeddedPostgres({ dataDir: process.env.DATA_DIR });
    const pid = Number.parseInt(await readFile(process.env.PID_FILE, 'utf8'), 10);
    console.log(JSON.stringify({ pid }));
    if (process.env.MODE === 'exit') process.exit(0);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    env: { ...process.env, MODULE_URL: moduleUrl, DATA_DIR: dataDir, PID_FILE: pidFile(), MODE: mode },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const { pid } = JSON.parse(line) as { pid: number };
    return { child, pid };
  }
  throw new Error(`child process printed no pid: ${stderr}`);
}

/**
 * An Engine on our data dir in a separate Node process (via tsx), as a second Poolscope would
 * run it. It prints {ready} once its pool answered; a line 'query' on its stdin runs a query
 * through its pool and prints the rows; 'exit' exits without stopping anything.
 */
async function engineInChildProcess(): Promise<{ child: ChildProcess; ask: (line: string) => Promise<unknown> }> {
  const script = `
    const { createInterface } = await import('node:readline');
    const { Engine } = await import(process.env.ENGINE_URL);
    const engine = await Engine.start({ embedded: { dataDir: process.env.DATA_DIR } });
    console.log(JSON.stringify({ ready: true }));
    for await (const line of createInterface({ input: process.stdin })) {
      if (line === 'exit') process.exit(0);
      const { rows } = await engine.pool.query('SELECT count(*)::int AS n FROM books');
      console.log(JSON.stringify({ rows }));
    }
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    env: { ...process.env, ENGINE_URL: engineUrl, DATA_DIR: dataDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<unknown> => {
    const r = await lines.next();
    if (r.done) throw new Error(`the child process ended: ${stderr}`);
    return JSON.parse(r.value) as unknown;
  };
  expect(await next()).toEqual({ ready: true });
  return {
    child,
    ask: (line) => {
      child.stdin?.write(`${line}\n`);
      return next();
    },
  };
}

describe('embedded PostgreSQL', () => {
  let firstPassword = '';

  it('first start initialises the cluster, seeds the demo database and reports each phase', async () => {
    const { server, progress, phases } = await start();
    expect(phases()).toEqual(['initialising', 'starting', 'seeding', 'ready']);
    expect(server.running).toBe(true);
    expect(server.dataDir).toBe(dataDir);
    expect(server.connection).toMatchObject({ host: '127.0.0.1', user: DEMO_ROLE, database: 'poolscope_demo' });
    expect(await countRows(server.connection)).toEqual(DEMO_ROW_COUNTS);

    const layout = layoutOf(dataDir);
    for (const file of [layout.passwordFile, layout.demoPasswordFile]) expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(layout.demoPasswordFile, 'utf8')).trim()).toBe(server.connection.password);
    const superuserPassword = (await readFile(layout.passwordFile, 'utf8')).trim();
    expect(superuserPassword).not.toBe(server.connection.password);
    // The marker is there and initdb's temporary password copy is not.
    expect((await readdir(dataDir)).sort()).toEqual(['.poolscope-seeded', 'demo-password', 'password', 'pgdata', 'poolscope.lock']);
    for (const secret of [server.connection.password, superuserPassword]) expect(progress.map((p) => p.message).join('\n')).not.toContain(secret);

    // Server settings are the superuser's to read.
    const [settings] = await query<{ listen: string; sockets: string; enc: string }>(
      { ...server.connection, user: 'postgres', password: superuserPassword },
      `SELECT current_setting('listen_addresses') AS listen, current_setting('unix_socket_directories') AS sockets,
              current_setting('password_encryption') AS enc`,
    );
    expect(settings).toEqual({ listen: '127.0.0.1', sockets: '', enc: 'scram-sha-256' });
    // Only the generated password works (the embedded-postgres library was handed 'unused').
    await expect(query({ ...server.connection, password: 'unused' }, 'SELECT 1')).rejects.toThrow(/password authentication failed/);

    firstPassword = server.connection.password;
    await server.stop();
  });

  it('a second start reuses the data dir: no initdb, no seeding', async () => {
    const { server, phases } = await start();
    expect(phases()).toEqual(['starting', 'ready']);
    expect(server.connection.password).toBe(firstPassword);
    expect(await countRows(server.connection)).toEqual(DEMO_ROW_COUNTS);
    await server.stop();
  });

  it('stop() leaves no postgres process behind; start() brings the server back on the same port', async () => {
    const { server, phases } = await start();
    const pid = await postmasterPid();
    const workers = await childrenOf(pid);
    expect(await isAlive(pid)).toBe(true);

    await server.stop();
    expect(server.running).toBe(false);
    expect(await isAlive(pid)).toBe(false);
    for (const worker of workers) expect(await isAlive(worker)).toBe(false);
    await expect(stat(pidFile())).rejects.toThrow(/ENOENT/); // a clean shutdown removes it
    await server.stop(); // idempotent

    const { port } = server.connection;
    await server.start();
    expect(server.running).toBe(true);
    expect(server.connection.port).toBe(port);
    expect(await countRows(server.connection)).toEqual(DEMO_ROW_COUNTS);
    expect(phases()).toEqual(['starting', 'ready', 'stopping', 'stopped', 'starting', 'ready']);
    await server.stop();
  });

  it('a stale postmaster.pid whose process is gone is removed', async () => {
    const deadPid = await pidOfExitedProcess();
    await writeFile(pidFile(), `${deadPid}\n${pgdata()}\n`);
    const { server, progress, phases } = await start();
    expect(phases()).toEqual(['recovering', 'starting', 'ready']);
    expect(progress[0]?.message).toContain(`stale postmaster.pid`);
    expect(progress[0]?.message).toContain(`pid ${deadPid} is not running`);
    await server.stop();
  });

  it('a stale postmaster.pid whose pid now belongs to another process is removed', async () => {
    // PostgreSQL itself refuses to start over a lock file naming a live process.
    const sleeper = spawn('sleep', ['30']);
    children.push(sleeper);
    await writeFile(pidFile(), `${sleeper.pid}\n${pgdata()}\n`);
    const { server, progress, phases } = await start();
    expect(phases()).toEqual(['recovering', 'starting', 'ready']);
    expect(progress[0]?.message).toContain(`pid ${sleeper.pid} now belongs to another process`);
    expect(sleeper.exitCode).toBeNull(); // left alone
    sleeper.kill();
    await server.stop();
  });

  it('a second start on a data dir whose server runs (here, in this process) is refused, naming the holder; the first keeps serving', async () => {
    const first = await start();
    const pid = await postmasterPid();
    const refused = await startEmbeddedPostgres({ dataDir }).then(() => null, (err: unknown) => err as Error);
    expect(refused?.message).toContain(`The data dir ${dataDir} is in use by another engine in this process (pid ${process.pid})`);
    expect(refused?.message).toContain('POOLSCOPE_DATA_DIR=');
    expect(await isAlive(pid)).toBe(true);
    expect(first.server.running).toBe(true);
    expect(first.progress.map((p) => p.phase)).toEqual(['starting', 'ready']);
    expect(await countRows(first.server.connection)).toEqual(DEMO_ROW_COUNTS);
    // Stopped, it lets go of the dir: the next start takes it.
    await first.server.stop();
    const second = await start();
    expect(second.phases()).toEqual(['starting', 'ready']);
    await second.server.stop();
  });

  it('a server orphaned by a killed Node process is stopped on the next start', async () => {
    const { child, pid } = await startInChildProcess('wait');
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await isAlive(pid)).toBe(true); // SIGKILL gives the exit hook no chance

    const { server, progress, phases } = await start();
    expect(phases()).toEqual(['recovering', 'starting', 'ready']);
    expect(progress[0]?.message).toContain(`PostgreSQL (pid ${pid})`);
    expect(await isAlive(pid)).toBe(false);
    await server.stop();
  });

  it.each(['SIGKILL', 'exit'] as const)('two Poolscopes on one data dir: the second is refused and leaves the first one serving; after the first ends by %s, a new one starts', async (how) => {
    const first = await engineInChildProcess();
    const pid = await postmasterPid();
    const second = await Engine.start({ embedded: { dataDir } }).then(() => null, (err: unknown) => err as PoolscopeError);
    expect(second?.code).toBe('embedded-failed');
    expect(second?.message).toContain(`The data dir ${dataDir} is in use by another Poolscope (pid ${first.child.pid}, since `);
    expect(second?.message).toContain('POOLSCOPE_DATA_DIR=');
    // The first one's server and pool are untouched.
    expect(await isAlive(pid)).toBe(true);
    expect(await first.ask('query')).toEqual({ rows: [{ n: DEMO_ROW_COUNTS.books }] });

    if (how === 'SIGKILL') first.child.kill('SIGKILL');
    else first.child.stdin?.write('exit\n');
    if (first.child.exitCode === null && first.child.signalCode === null) await once(first.child, 'exit');
    const next = await Engine.start({ embedded: { dataDir } });
    try {
      await expect(next.pool.query('SELECT count(*)::int AS n FROM books')).resolves.toMatchObject({ rows: [{ n: DEMO_ROW_COUNTS.books }] });
    } finally {
      await next.stop();
    }
    expect(await isAlive(pid)).toBe(false);
  });

  it.each(['exit', 'SIGTERM'] as const)('a Node process ending by %s stops its server (exit hook)', async (how) => {
    const { child, pid } = await startInChildProcess(how === 'exit' ? 'exit' : 'wait');
    if (how === 'SIGTERM') child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    expect(await eventually(async () => !(await isAlive(pid)))).toBe(true);
    // A fast shutdown, not a crash: the lock file is gone.
    expect(await eventually(() => stat(pidFile()).then(() => false, () => true))).toBe(true);
  });

  it('leaves the exit code of a process that imports it alone (the library\'s own exit hook forced 0)', async () => {
    const script = `await import(process.env.MODULE_URL); process.exitCode = 3;`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: { ...process.env, MODULE_URL: moduleUrl },
      stdio: 'ignore',
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(3);
  });

  it('fails with a clear error and leaves no server behind when the port is taken', async () => {
    const blocker = net.createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const error = await startEmbeddedPostgres({ dataDir, port }).then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(Error);
      const { message } = error as Error;
      expect(message).toContain('Embedded PostgreSQL exited while starting');
      expect(message).toContain(`port ${port}`);
      expect(message).toMatch(/Address already in use/);
      expect(message).not.toContain(firstPassword);
      await expect(stat(pidFile())).rejects.toThrow(/ENOENT/);
    } finally {
      blocker.close();
    }
  });

  it('a data dir without the marker (an interrupted first start) is wiped and rebuilt', async () => {
    // Leave the dir as a crash during seeding would: half the data, no marker.
    const { server } = await start();
    await query(server.connection, 'DROP TABLE order_items');
    await server.stop();
    await unlink(layoutOf(dataDir).marker);
    await writeFile(path.join(dataDir, '.initdb-pwfile-0123'), 'left by a crash during initdb\n');

    const rebuilt = await start();
    expect(rebuilt.phases()).toEqual(['recovering', 'initialising', 'starting', 'seeding', 'ready']);
    expect(rebuilt.progress[0]?.message).toContain('unfinished setup');
    expect(rebuilt.server.connection.password).not.toBe(firstPassword);
    expect(await countRows(rebuilt.server.connection)).toEqual(DEMO_ROW_COUNTS);
    expect((await readdir(dataDir)).sort()).toEqual(['.poolscope-seeded', 'demo-password', 'password', 'pgdata', 'poolscope.lock']);
    await rebuilt.server.stop();
  });

  it('the demo role owns the demo database and nothing more: no superuser, no server programs or files', async () => {
    const { server } = await start();
    const [role] = await query<Record<string, boolean | string[]>>(
      server.connection,
      `SELECT r.rolsuper AS super, r.rolcreatedb AS createdb, r.rolcreaterole AS createrole, r.rolreplication AS replication, r.rolbypassrls AS bypassrls,
              ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid)::text[] AS member_of,
              (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) = current_user AS owns_database
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    expect(role).toEqual({ super: false, createdb: false, createrole: false, replication: false, bypassrls: false, member_of: ['pg_read_all_stats'], owns_database: true });
    // What a shared scenario file tried: the server refuses it to this role.
    await expect(query(server.connection, "COPY (SELECT 1) TO PROGRAM 'true'")).rejects.toThrow(/permission denied/);
    await expect(query(server.connection, "SELECT pg_read_file('PG_VERSION')")).rejects.toThrow(/permission denied/);
    await expect(query(server.connection, 'CREATE ROLE intruder SUPERUSER')).rejects.toThrow(/permission denied/);
    await expect(query({ ...server.connection, database: 'postgres' }, 'SELECT 1')).rejects.toThrow(/permission denied for database "postgres"/);
    await server.stop();
  });

  it('a data dir from before the demo role gets it on the next start; a role given more loses it', async () => {
    const layout = layoutOf(dataDir);
    const { server } = await start();
    // As an earlier version left it: no role, no password file, the tables the superuser's.
    const superuser = { user: 'postgres', password: (await readFile(layout.passwordFile, 'utf8')).trim() };
    await query({ ...server.connection, ...superuser }, `ALTER DATABASE poolscope_demo OWNER TO postgres; ${Object.keys(DEMO_ROW_COUNTS).map((t) => `ALTER TABLE ${t} OWNER TO postgres;`).join(' ')} DROP ROLE ${DEMO_ROLE}`);
    await server.stop();
    await unlink(layout.demoPasswordFile);

    const upgraded = await start();
    expect(upgraded.phases()).toEqual(['starting', 'ready']);
    const demo = upgraded.server.connection;
    expect(demo.user).toBe(DEMO_ROLE);
    expect((await readFile(layout.demoPasswordFile, 'utf8')).trim()).toBe(demo.password);
    expect(await countRows(demo)).toEqual(DEMO_ROW_COUNTS);
    const owners = await query<{ owner: string }>(demo, `SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = 'public'`);
    expect(owners).toEqual([{ owner: DEMO_ROLE }]);
    await query(demo, "INSERT INTO orders (customer) VALUES ('after-upgrade@example.com')");

    // A scenario run while the pools were the superuser's could have handed the role more.
    await query({ ...demo, ...superuser }, `ALTER ROLE ${DEMO_ROLE} SUPERUSER CREATEROLE; GRANT pg_execute_server_program, pg_write_server_files TO ${DEMO_ROLE}`);
    await upgraded.server.stop();
    const again = await start();
    const [role] = await query<{ super: boolean; createrole: boolean; member_of: string[] }>(
      again.server.connection,
      `SELECT rolsuper AS super, rolcreaterole AS createrole, ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid)::text[] AS member_of FROM pg_roles r WHERE rolname = current_user`,
    );
    expect(role).toEqual({ super: false, createrole: false, member_of: ['pg_read_all_stats'] });
    await query(again.server.connection, `DELETE FROM orders WHERE customer = 'after-upgrade@example.com'`);
    await again.server.stop();
  });

  it('a program that cannot be spawned (EACCES) is a clear rejected error, for initdb and for postgres', async () => {
    // initdb and postgres are directories: every directory is searchable, so even as root
    // they look runnable and are used in place, and exec() fails with EACCES.
    const broken = await mkdtemp(path.join(os.tmpdir(), 'poolscope-pg-broken-'));
    const freshDir = path.join(broken, 'data');
    try {
      await chmod(broken, 0o755);
      const nativeDir = path.join(broken, 'native');
      for (const dir of ['bin/initdb', 'bin/postgres', 'lib', 'share']) await mkdir(path.join(nativeDir, dir), { recursive: true, mode: 0o755 });
      await writeFile(path.join(broken, 'package.json'), '{ "version": "0.0.0-broken" }\n');

      const initError = await startEmbeddedPostgres({ dataDir: freshDir, binaries: { nativeDir } }).then(() => undefined, (err: unknown) => err);
      expect(initError).toBeInstanceOf(Error);
      expect((initError as Error).message).toMatch(/^Could not initialise embedded PostgreSQL in .*: Could not run .*\/bin\/initdb \(spawn .* EACCES\)/);

      // The complete data dir of the tests above: no initdb, the server itself fails to spawn.
      const startError = await startEmbeddedPostgres({ dataDir, binaries: { nativeDir } }).then(() => undefined, (err: unknown) => err);
      expect(startError).toBeInstanceOf(Error);
      expect((startError as Error).message).toMatch(/^Embedded PostgreSQL could not be started: Could not run .*\/bin\/postgres \(spawn .* EACCES\)/);
      await expect(stat(pidFile())).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });
});

// The CI bug: as root the server runs as the 'postgres' OS user, and a checkout below a
// directory that user cannot enter (a mktemp dir, /root: mode 700) made initdb fail with
// EACCES. Here the platform package is copied below such a directory and used from there.
describe.runIf(isRoot())('as root, binaries below a directory the \'postgres\' user cannot enter', () => {
  let hidden: string;
  let nativeDir: string;
  let cacheRoot: string;
  let runAs: RunAs;
  let version: string;
  const cache = (): string => path.join(cacheRoot, `pg-${version}`);

  beforeAll(async () => {
    runAs = (await postgresOsUser())!;
    hidden = await mkdtemp(path.join(os.tmpdir(), 'poolscope-pg-hidden-')); // mode 700, as mktemp -d
    const pkg = path.dirname(platformPackageNativeDir());
    const copy = path.join(hidden, 'checkout', 'node_modules', ...pkg.split(path.sep).slice(-2));
    await cp(pkg, copy, { recursive: true, verbatimSymlinks: true });
    nativeDir = path.join(copy, 'native');
    version = (JSON.parse(await readFile(path.join(copy, 'package.json'), 'utf8')) as { version: string }).version;
    cacheRoot = await mkdtemp(path.join(os.tmpdir(), 'poolscope-pg-cache-'));
    await chmod(cacheRoot, 0o755); // stands in for /var/tmp/poolscope
  });

  afterAll(async () => {
    await rm(hidden, { recursive: true, force: true });
    await rm(cacheRoot, { recursive: true, force: true });
  });

  it('starts the server from a copy in the cache; the private directory is left as it was', async () => {
    expect((await stat(hidden)).mode & 0o777).toBe(0o700);
    expect(await reachableBy(nativeDir, runAs)).toBe(false);

    const ownDir = path.join(cacheRoot, 'data');
    const { server, phases } = await start({ dataDir: ownDir, binaries: { nativeDir, cacheRoot } });
    expect(phases()).toEqual(['initialising', 'starting', 'seeding', 'ready']);
    expect(await countRows(server.connection)).toEqual(DEMO_ROW_COUNTS);
    // The postmaster runs the copy, as 'postgres'.
    const pid = Number.parseInt(await readFile(path.join(layoutOf(ownDir).pgdata, 'postmaster.pid'), 'utf8'), 10);
    expect(await realpath(`/proc/${pid}/exe`)).toBe(path.join(cache(), 'native', 'bin', 'postgres'));
    expect((await stat(`/proc/${pid}`)).uid).toBe(runAs.uid);

    expect((await stat(hidden)).mode & 0o777).toBe(0o700); // not opened up
    expect((await readdir(cacheRoot)).sort()).toEqual(['data', `pg-${version}`]); // no scratch left
    expect((await readdir(cache())).sort()).toEqual(['.complete', 'native']);
    expect(await reachableBy(path.join(cache(), 'native'), runAs)).toBe(true);
    for (const dir of ['native', 'native/bin', 'native/lib', 'native/share']) {
      expect((await stat(path.join(cache(), dir))).mode & 0o777).toBe(0o755);
    }
    // The library symlinks are copied as (relative) symlinks, not pointing back into the source.
    const links = (await readdir(path.join(cache(), 'native', 'lib'))).filter((name) => /^libpq\.so(\.\d+)?$/.test(name));
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) {
      const file = path.join(cache(), 'native', 'lib', link);
      expect((await lstat(file)).isSymbolicLink()).toBe(true);
      expect(path.isAbsolute(await readlink(file))).toBe(false);
    }
    await server.stop();

    // A later start reuses the copy as it is.
    const marker = await stat(path.join(cache(), '.complete'));
    const again = await start({ dataDir: ownDir, binaries: { nativeDir, cacheRoot } });
    expect(again.phases()).toEqual(['starting', 'ready']);
    const after = await stat(path.join(cache(), '.complete'));
    expect([after.ino, after.mtimeMs]).toEqual([marker.ino, marker.mtimeMs]);
    await again.server.stop();
  });

  it('concurrent copies, an interrupted copy and a copy without its marker end in one complete copy', async () => {
    const root = path.join(cacheRoot, 'concurrent');
    await mkdir(root, { mode: 0o755 });
    // An interrupted copy (its process is gone) and a half copy without the marker.
    const interrupted = path.join(root, `.pg-${version}.tmp-${await pidOfExitedProcess()}-0123abcd`);
    await mkdir(path.join(interrupted, 'native', 'bin'), { recursive: true });
    await mkdir(path.join(root, `pg-${version}`, 'native', 'bin'), { recursive: true });

    const copies = await Promise.all([cachedCopy(nativeDir, version, root), cachedCopy(nativeDir, version, root)]);
    const expected = path.join(root, `pg-${version}`, 'native');
    expect(copies).toEqual([expected, expected]);
    expect(await readdir(root)).toEqual([`pg-${version}`]);
    expect((await readdir(path.join(root, `pg-${version}`))).sort()).toEqual(['.complete', 'native']);
    expect((await readdir(path.join(expected, 'bin'))).sort()).toEqual((await readdir(path.join(nativeDir, 'bin'))).sort());
  });
});

describe('the run\'s shared server (globalSetup)', () => {
  it('is reachable at the URL it provides as pgUrl', async () => {
    const client = new pg.Client({ connectionString: inject('pgUrl') });
    await client.connect();
    try {
      const { rows } = await client.query<{ ok: number }>('SELECT 1 AS ok');
      expect(rows).toEqual([{ ok: 1 }]);
    } finally {
      await client.end();
    }
  });
});
