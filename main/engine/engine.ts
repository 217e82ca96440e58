import type { PoolSettings } from '../../shared/events';
import type { Snapshot } from '../../shared/snapshot';
import { type Clock, systemClock } from './clock';
import { type EmbeddedOptions, type EmbeddedServer, startEmbeddedPostgres } from './embedded/embedded-postgres';
import { PoolscopeError, messageOf, redactUrls } from './errors';
import { EventLog } from './event-log';
import type { InstrumentedPool } from './pool/instrumented-pool';
import type { Lease } from './pool/lease';
import { openPool } from './pool/open-pool';
import { type TargetSpec, parseTarget, targetInfo } from './target-spec';

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
  /** The target of the active pool. */
  #spec: TargetSpec | null = null;
  #nextPool = 0;
  readonly #draining = new Set<Promise<void>>();
  /** Every pool not yet ended: the active one and those draining after a switch. */
  readonly #open = new Map<string, InstrumentedPool>();

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
    try {
      await this.connect(this.#opts.target, this.#opts.settings);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /**
   * Switches to another target (undefined: the embedded database). The new pool must
   * answer before it replaces the current one, which then drains; if it does not, the
   * current pool keeps serving and the error is thrown (and recorded as target.failed).
   */
  async connect(target: string | unknown | undefined, settings?: Partial<PoolSettings>): Promise<void> {
    let spec: TargetSpec | null = null;
    let next: InstrumentedPool | null = null;
    try {
      spec = target === undefined ? await this.#embeddedSpec() : parseTarget(target);
      next = openPool({ id: `p${++this.#nextPool}`, spec, log: this.log, clock: this.clock, settings });
      await next.verify();
    } catch (err) {
      if (next) await next.end();
      const shown = spec ? targetInfo(spec).display : typeof target === 'string' ? redactUrls(target) : 'the target';
      this.log.emit({ type: 'target.failed', display: shown, message: messageOf(err) });
      throw err;
    }
    const previous = this.#pool;
    this.#pool = next;
    this.#spec = spec;
    this.#open.set(next.id, next);
    // Borrowers of the previous pool finish on it; it closes once they are done.
    if (previous) {
      const ended = previous.drain().finally(() => {
        this.#draining.delete(ended);
        this.#open.delete(previous.id);
      });
      this.#draining.add(ended);
    }
  }

  get pool(): InstrumentedPool {
    if (!this.#pool) throw new PoolscopeError('pool-ended', 'The engine has no pool: it was stopped.');
    return this.#pool;
  }

  /** The active pool's target, password included: for engine code only (the server monitor). */
  get targetSpec(): TargetSpec | null {
    return this.#spec;
  }

  /** Applies new settings by swapping in a new pool on the same target; the old one drains. */
  async configure(settings: Partial<PoolSettings>): Promise<void> {
    if (!this.#spec) throw new PoolscopeError('pool-ended', 'There is no pool to configure: connect to a target first.');
    const { password, embedded: _embedded, ...fields } = this.#spec;
    await this.connect(this.#spec.embedded ? undefined : { ...fields, password: password ?? undefined }, settings);
  }

  /**
   * A second pool on the active target that is not the active one (the per-request side
   * of a comparison). It shows in the snapshot like any pool; endSide() ends it.
   */
  openSide(settings: Partial<PoolSettings>): InstrumentedPool {
    if (!this.#spec) throw new PoolscopeError('pool-ended', 'There is no target: connect to one first.');
    const pool = openPool({ id: `p${++this.#nextPool}`, spec: this.#spec, log: this.log, clock: this.clock, settings });
    this.#open.set(pool.id, pool);
    return pool;
  }

  async endSide(pool: InstrumentedPool): Promise<void> {
    await pool.end();
    this.#open.delete(pool.id);
  }

  /** The lease a borrower holds in any open pool (to release or destroy a leaked connection). */
  lease(borrowerId: string): Lease | undefined {
    for (const pool of this.#open.values()) {
      const lease = pool.lease(borrowerId);
      if (lease) return lease;
    }
    return undefined;
  }

  snapshot(): { seq: number; snapshot: Snapshot } {
    const snapshot = this.log.snapshot();
    return { seq: snapshot.seq, snapshot };
  }

  /** Ends the pool, then the embedded database if one runs. Safe to call twice. */
  async stop(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    // Stopping does not wait for borrowers: every open pool ends now.
    await Promise.all([...this.#open.values()].map((p) => p.end()));
    if (pool) await pool.end();
    this.#open.clear();
    await Promise.all(this.#draining);
    const db = this.#embedded;
    this.#embedded = null;
    if (db) await db.stop();
  }

  async #embeddedSpec(): Promise<TargetSpec> {
    try {
      this.#embedded ??= await startEmbeddedPostgres({
        ...this.#opts.embedded,
        onProgress: (p) => this.log.emit({ type: 'embedded.progressed', phase: p.phase, message: p.message }),
      });
    } catch (err) {
      throw new PoolscopeError('embedded-failed', `The embedded PostgreSQL could not start: ${messageOf(err)}`);
    }
    const c = this.#embedded.connection;
    return { engine: 'postgres', host: c.host, port: c.port, database: c.database, user: c.user, password: c.password, tls: false, embedded: true };
  }
}
