import type { PoolSettings } from '../../shared/events';
import type { Snapshot } from '../../shared/snapshot';
import { type Clock, systemClock } from './clock';
import { type EmbeddedOptions, type EmbeddedServer, startEmbeddedPostgres } from './embedded/embedded-postgres';
import { PoolscopeError, messageOf } from './errors';
import { EventLog } from './event-log';
import type { InstrumentedPool } from './pool/instrumented-pool';
import { openPool } from './pool/open-pool';
import { type TargetSpec, parseTarget } from './target-spec';

export interface EngineOptions {
  /** A URL or fields; absent means the embedded PostgreSQL with the demo schema. */
  target?: string | unknown;
  settings?: Partial<PoolSettings>;
  embedded?: Omit<EmbeddedOptions, 'onProgress'>;
  clock?: Clock;
  logCapacity?: number;
}

/**
 * The host-agnostic core: one target, its real pool, and the event log everything
 * observed goes into. The Electron shell, the browser host and the CLI all drive this.
 */
export class Engine {
  readonly log: EventLog;
  readonly clock: Clock;
  readonly #opts: EngineOptions;
  #embedded: EmbeddedServer | null = null;
  #pool: InstrumentedPool | null = null;
  #nextPool = 0;

  /** Subscribe to `log` before start() to see the embedded database's progress. */
  constructor(opts: EngineOptions = {}) {
    this.#opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = new EventLog(this.clock, opts.logCapacity);
  }

  /** Constructs and starts an engine. Throws PoolscopeError. */
  static async start(opts: EngineOptions = {}): Promise<Engine> {
    const engine = new Engine(opts);
    await engine.start();
    return engine;
  }

  /** Connects to the target (starting the embedded database if none) and proves it answers. */
  async start(): Promise<void> {
    const { target, embedded, settings } = this.#opts;
    try {
      const spec = target === undefined ? await this.#startEmbedded(embedded) : parseTarget(target);
      await this.#open(spec, settings);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  get pool(): InstrumentedPool {
    if (!this.#pool) throw new PoolscopeError('pool-ended', 'The engine has no pool: it was stopped.');
    return this.#pool;
  }

  get embedded(): EmbeddedServer | null {
    return this.#embedded;
  }

  snapshot(): { seq: number; snapshot: Snapshot } {
    const snapshot = this.log.snapshot();
    return { seq: snapshot.seq, snapshot };
  }

  /** Ends the pool, then the embedded database if one runs. Safe to call twice. */
  async stop(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    if (pool) await pool.end();
    const db = this.#embedded;
    this.#embedded = null;
    if (db) await db.stop();
  }

  async #startEmbedded(options: EngineOptions['embedded']): Promise<TargetSpec> {
    try {
      this.#embedded = await startEmbeddedPostgres({
        ...options,
        onProgress: (p) => this.log.emit({ type: 'embedded.progressed', phase: p.phase, message: p.message }),
      });
    } catch (err) {
      throw new PoolscopeError('embedded-failed', `The embedded PostgreSQL could not start: ${messageOf(err)}`);
    }
    const c = this.#embedded.connection;
    return { engine: 'postgres', host: c.host, port: c.port, database: c.database, user: c.user, password: c.password, tls: false, embedded: true };
  }

  async #open(spec: TargetSpec, settings?: Partial<PoolSettings>): Promise<void> {
    const pool = openPool({ id: `p${++this.#nextPool}`, spec, log: this.log, clock: this.clock, settings });
    this.#pool = pool;
    await pool.verify();
  }
}
