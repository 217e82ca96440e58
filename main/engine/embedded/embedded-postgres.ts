import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { EmbeddedPhase } from '../../../shared/events';
import { locateBinaries, type BinariesOptions, type PgBinaries } from './binaries';
import {
  createPassword,
  defaultDataDir,
  hasLeftovers,
  initdbPasswordFile,
  isComplete,
  layoutOf,
  prepareDataDir,
  readOrCreatePassword,
  readPassword,
  wipe,
  withInitdbPasswordFile,
  writeMarker,
  type DataDirLayout,
} from './data-dir';
import { DEMO_ROLE, ensureDemoRole } from './demo-role';
import { DEMO_DATABASE, DEMO_SCHEMA_SQL } from './demo-schema';
import {
  drain,
  initdb,
  isRunning,
  PgSpawnError,
  postgresOsUser,
  spawnPostgres,
  stopPg,
  waitUntilReady,
  type PgChild,
  type RunAs,
} from './pg-process';
import { type DataDirLock, lockDataDir } from './data-dir-lock';
import { recoverStalePostmaster } from './postmaster';

export { defaultDataDir } from './data-dir';

export type { EmbeddedPhase };
export interface EmbeddedProgress { phase: EmbeddedPhase; message: string }
export interface EmbeddedOptions {
  dataDir?: string;
  port?: number;
  onProgress?: (p: EmbeddedProgress) => void;
  /** Where the PostgreSQL binaries come from (tests); see binaries.ts. */
  binaries?: BinariesOptions;
}
export interface EmbeddedConnection { host: string; port: number; user: string; password: string; database: string }
export interface EmbeddedServer {
  /** The demo role's login to the demo database: what pools, the monitor and terminate use. Never the superuser. */
  readonly connection: EmbeddedConnection;
  readonly dataDir: string;
  readonly running: boolean;
  /** Fast shutdown; idempotent; the server process is gone when it resolves, and the data dir free for another Poolscope. */
  stop(): Promise<void>;
  /** Starts again after stop() (or after the server died), on the same port; refused if another Poolscope took the data dir meanwhile. */
  start(): Promise<void>;
}

const HOST = '127.0.0.1';
const USER = 'postgres';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Starts (and on first use creates and seeds) the embedded PostgreSQL that
 * Poolscope runs when no database is configured. Recovers from an interrupted
 * first start and from a server left running by a crashed run.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const dataDir = path.resolve(opts.dataDir ?? defaultDataDir());
  const layout = layoutOf(dataDir);
  const emit = (phase: EmbeddedPhase, message: string): void => opts.onProgress?.({ phase, message });

  await prepareDataDir(dataDir);
  // Another live Poolscope's server is left alone (the start is refused); only then is a
  // server on this dir one whose owner is gone.
  const lock = await lockDataDir(dataDir);
  try {
    return await startLocked(opts, layout, lock, emit);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

async function startLocked(opts: EmbeddedOptions, layout: DataDirLayout, lock: DataDirLock, emit: (phase: EmbeddedPhase, message: string) => void): Promise<EmbeddedServer> {
  const dataDir = layout.root;
  const port = opts.port ?? (await freePort());
  // Before looking at the marker: a dir must not be wiped under a running server.
  await recoverStalePostmaster(layout.pgdata, (message) => emit('recovering', message));
  const fresh = !(await isComplete(layout));
  if (fresh && (await hasLeftovers(layout))) {
    emit('recovering', `${dataDir} holds an unfinished setup (an earlier first start was interrupted); rebuilding it.`);
    await wipe(layout);
  }
  // As root the server runs as the 'postgres' OS user (created when missing).
  const runAs = await postgresOsUser();
  const binaries = await locateBinaries(runAs, opts.binaries);
  const password = fresh ? await createPassword(layout.passwordFile) : await readPassword(layout.passwordFile);
  // A data dir from before the demo role has no password for it yet: the role is created below.
  const demoPassword = await readOrCreatePassword(layout.demoPasswordFile);
  const log = new LogTail([password, demoPassword]);
  // The children run in the data dir: the caller's cwd may be closed to 'postgres'.
  const spawnOptions = { runAs, cwd: dataDir, onOutput: (text: string) => log.add(text) };

  if (fresh) {
    emit('initialising', `Creating a new PostgreSQL cluster in ${layout.pgdata}`);
    const pwfile = initdbPasswordFile(layout);
    try {
      await withInitdbPasswordFile(pwfile, password, runAs, () =>
        initdb({ ...spawnOptions, initdb: binaries.initdb, pgdata: layout.pgdata, user: USER, pwfile }));
    } catch (err) {
      const check = err instanceof PgSpawnError ? '' : ` Check that ${dataDir} is writable and has free disk space.`;
      throw new Error(`Could not initialise embedded PostgreSQL in ${layout.pgdata}: ${messageOf(err)}.${check}${log.describe()}`);
    }
  }
  const connection = { host: HOST, port, user: DEMO_ROLE, password: demoPassword, database: DEMO_DATABASE };
  const admin = { host: HOST, port, user: USER, password, database: DEMO_DATABASE };
  const server = new Server({ binaries, runAs, layout, connection, admin, log, emit }, lock);
  await server.boot(fresh);
  return server;
}

interface ServerSetup {
  binaries: PgBinaries;
  runAs: RunAs | undefined;
  layout: DataDirLayout;
  connection: EmbeddedConnection;
  /** The superuser: only for setup and the readiness probe, each on a short-lived connection. */
  admin: EmbeddedConnection;
  log: LogTail;
  emit: (phase: EmbeddedPhase, message: string) => void;
}

class Server implements EmbeddedServer {
  readonly connection: EmbeddedConnection;
  readonly dataDir: string;
  readonly #setup: ServerSetup;
  readonly #layout: DataDirLayout;
  readonly #log: LogTail;
  readonly #emit: (phase: EmbeddedPhase, message: string) => void;
  /** The running postmaster, once it accepted a login. */
  #child: PgChild | undefined;
  /** start() and stop() run one at a time, in call order. */
  #queue: Promise<void> = Promise.resolve();
  /** The data dir, ours from the first start until stop(); start() takes it again. */
  #lock: DataDirLock | null;

  constructor(setup: ServerSetup, lock: DataDirLock) {
    this.#lock = lock;
    this.#setup = setup;
    this.#layout = setup.layout;
    this.connection = Object.freeze(setup.connection);
    this.dataDir = setup.layout.root;
    this.#log = setup.log;
    this.#emit = setup.emit;
  }

  get running(): boolean {
    return isRunning(this.#child?.process);
  }

  /**
   * The first start, by startEmbeddedPostgres; seeds the demo database when the cluster is
   * new. Every first start also puts the demo role right (see ensureDemoRole).
   */
  async boot(seed: boolean): Promise<void> {
    await this.#launch();
    const { admin } = this.#setup;
    if (seed) {
      this.#emit('seeding', `Creating the ${DEMO_DATABASE} database with demo data`);
      try {
        await withClient({ ...admin, database: 'postgres' }, (c) => c.query(`CREATE DATABASE ${DEMO_DATABASE}`));
        await withClient(admin, (c) => ensureDemoRole(c, this.connection.password));
        // As the demo role: the tables are its own, as "Install demo schema here" would make them.
        await withClient(this.connection, (c) => c.query(DEMO_SCHEMA_SQL));
        await writeMarker(this.#layout);
      } catch (err) {
        await this.#halt(false);
        throw new Error(`Could not create the ${DEMO_DATABASE} demo database in ${this.dataDir}: ${messageOf(err)}. The next start rebuilds it.${this.#log.describe()}`);
      }
    } else {
      try {
        await withClient(admin, (c) => ensureDemoRole(c, this.connection.password));
      } catch (err) {
        await this.#halt(false);
        throw new Error(`Could not set up the ${DEMO_ROLE} role in ${this.dataDir}: ${messageOf(err)}. Deleting ${this.dataDir} rebuilds the demo database from scratch.${this.#log.describe()}`);
      }
    }
    this.#ready();
  }

  start(): Promise<void> {
    return this.#serially(async () => {
      if (this.running) return;
      this.#lock ??= await lockDataDir(this.dataDir);
      // A server killed as a fault, or by hand, can leave its postmaster.pid behind.
      await recoverStalePostmaster(this.#layout.pgdata, (message) => this.#emit('recovering', message));
      await this.#launch();
      this.#ready();
    });
  }

  /** Stops the server and lets go of the data dir (until start()). */
  stop(): Promise<void> {
    return this.#serially(async () => {
      await this.#halt(true);
      const lock = this.#lock;
      this.#lock = null;
      await lock?.release();
    });
  }

  #serially(op: () => Promise<void>): Promise<void> {
    const result = this.#queue.then(op);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #launch(): Promise<void> {
    const { port } = this.connection;
    const { binaries, runAs } = this.#setup;
    this.#emit('starting', `Starting PostgreSQL on ${HOST}:${port}`);
    const child = spawnPostgres({
      postgres: binaries.postgres,
      pgdata: this.#layout.pgdata,
      host: HOST,
      port,
      runAs,
      cwd: this.dataDir,
      onOutput: (text) => this.#log.add(text),
    });
    const outcome = await waitUntilReady(child, { ...this.#setup.admin, database: 'postgres' }, this.#layout.pgdata, START_TIMEOUT_MS);
    if (outcome.kind === 'ready') {
      this.#child = child;
      this.#watch(child);
      return;
    }
    await stopPg(child, STOP_TIMEOUT_MS); // no half-started server may linger
    await drain(child);
    if (outcome.kind === 'unspawned') {
      // Nothing about ports or disk space to check.
      throw new Error(`Embedded PostgreSQL could not be started: ${outcome.error.message}.${this.#log.describe()}`);
    }
    const what = outcome.kind === 'timeout'
      ? `did not start within ${START_TIMEOUT_MS / 1000} s`
      : outcome.kind === 'exited' ? `exited while starting (${outcome.why})` : `failed to start (${outcome.error.message})`;
    throw new Error(`Embedded PostgreSQL ${what}. Check that port ${port} on ${HOST} is free and that ${this.dataDir} is writable and has free disk space; deleting ${this.dataDir} rebuilds the demo database from scratch.${this.#log.describe()}`);
  }

  #watch(child: PgChild): void {
    void child.ended.then((end) => {
      if (this.#child !== child) return; // stopped by us
      this.#child = undefined;
      const how = 'error' in end ? end.error.message : end.signal ?? `exit code ${end.code}`;
      this.#emit('stopped', `PostgreSQL exited unexpectedly (${how}).${this.#log.describe()}`);
    });
  }

  #ready(): void {
    this.#emit('ready', `PostgreSQL is ready on ${HOST}:${this.connection.port}, database ${DEMO_DATABASE}`);
  }

  async #halt(announce: boolean): Promise<void> {
    const child = this.#child;
    if (!isRunning(child?.process)) {
      this.#child = undefined;
      return;
    }
    if (announce) this.#emit('stopping', 'Stopping PostgreSQL (fast shutdown)');
    // Forget it first: its exit is then not reported as unexpected.
    this.#child = undefined;
    try {
      await stopPg(child, STOP_TIMEOUT_MS);
    } catch (err) {
      if (isRunning(child.process)) this.#child = child; // still ours to stop
      throw err;
    }
    if (announce) this.#emit('stopped', 'PostgreSQL stopped');
  }
}

/** The server's recent output, kept for error messages only. */
class LogTail {
  static readonly #KEEP = 50;
  static readonly #SHOW = 12;
  readonly #lines: string[] = [];
  readonly #secrets: string[];

  constructor(secrets: string[]) {
    this.#secrets = secrets;
  }

  add(chunk: unknown): void {
    for (const line of String(chunk).split('\n')) {
      if (line.trim() === '') continue;
      // The server never prints a password; masked anyway, as errors travel to the UI.
      this.#lines.push(this.#secrets.reduce((text, secret) => text.replaceAll(secret, '********'), line));
      if (this.#lines.length > LogTail.#KEEP) this.#lines.shift();
    }
  }

  describe(): string {
    return this.#lines.length === 0 ? ' The server wrote no output.' : `\nLast server output:\n${this.#lines.slice(-LogTail.#SHOW).join('\n')}`;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function withClient(config: pg.ClientConfig, use: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client(config);
  client.on('error', () => undefined); // a broken connection also fails the pending call, which is reported
  await client.connect();
  try {
    await use(client);
  } finally {
    await client.end();
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
