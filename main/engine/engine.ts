import { sideApplication } from '../../shared/server-join';
import os from 'node:os';
import path from 'node:path';
import type { PoolSettings } from '../../shared/events';
import { NO_TOXICS, type Toxics } from '../../shared/faults';
import type { Snapshot } from '../../shared/snapshot';
import { type Clock, systemClock } from './clock';
import { type EmbeddedOptions, type EmbeddedServer, startEmbeddedPostgres } from './embedded/embedded-postgres';
import { PoolscopeError, maskTarget, messageOf } from './errors';
import { EventLog } from './event-log';
import { FaultProxy } from './faults/fault-proxy';
import { KnownHosts } from './link/known-hosts';
import { TargetLink } from './link/target-link';
import { explainWithCertificate } from './link/tls';
import type { InstrumentedPool } from './pool/instrumented-pool';
import type { Lease } from './pool/lease';
import { openPool } from './pool/open-pool';
import { NO_TLS, type TargetSpec, parseTarget, targetInfo } from './target-spec';

export interface EngineOptions {
  /** A URL or fields; absent means the embedded PostgreSQL with the demo schema. */
  target?: string | unknown;
  settings?: Partial<PoolSettings>;
  embedded?: Omit<EmbeddedOptions, 'onProgress'>;
  clock?: Clock;
  /**
   * SSH host keys: the user's known_hosts, read only (default ~/.ssh/known_hosts; null: none),
   * and Poolscope's own file of keys accepted in Poolscope (default $XDG_CONFIG_HOME/poolscope/known_hosts).
   */
  knownHosts?: { userFile?: string | null; ownFile?: string };
}

/** Where Poolscope keeps the SSH host keys accepted in it (never the user's ~/.ssh/known_hosts). */
export function defaultKnownHostsFile(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'poolscope', 'known_hosts');
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
  /** How the active pool reaches its target (TLS as applied, the SSH tunnel); every other connection to it dials through it too. */
  #link: TargetLink | null = null;
  #unwatchTunnel: () => void = () => {};
  readonly #knownHosts: KnownHosts;
  #nextPool = 0;
  readonly #draining = new Set<Promise<void>>();
  /** A restart of the embedded server under way: a second one waits for it to finish. */
  #restarting = false;
  /** The embedded server, if a restart can be asked for now (running, or dead: a restart brings it back); else why not. */
  checkRestartable(): EmbeddedServer {
    const db = this.#embedded;
    if (!db || !this.#link?.spec.embedded) {
      throw new PoolscopeError('not-embedded', `Only the embedded PostgreSQL can be restarted from here; the target is ${this.#link ? targetInfo(this.#link.spec).display : 'not connected'}. Restart that server with its own tools.`);
    }
    if (this.#restarting) throw new PoolscopeError('not-embedded', 'The embedded PostgreSQL is restarting already: wait until it is up.');
    return db;
  }

  /** The next pool id; pools of attached apps (main/engine/attach/) take theirs here too, so ids never collide. */
  newPoolId(): string {
    return `p${++this.#nextPool}`;
  }

  /** Every pool not yet ended: the active one and those draining after a switch. */
  readonly #open = new Map<string, InstrumentedPool>();
  /** Between the pools and the active target once the user sets a fault; null: pools dial directly. */
  #proxy: FaultProxy | null = null;

  /** Subscribe to `log` before start() to see the embedded database's progress. */
  constructor(opts: EngineOptions = {}) {
    this.#opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = new EventLog(this.clock);
    const userFile = opts.knownHosts?.userFile === undefined ? path.join(os.homedir(), '.ssh', 'known_hosts') : opts.knownHosts.userFile;
    this.#knownHosts = new KnownHosts({ userFile, ownFile: opts.knownHosts?.ownFile ?? defaultKnownHostsFile() });
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
    const shown = typeof target === 'string' ? maskTarget(target) : 'the target';
    const spec = await (target === undefined ? this.#embeddedSpec() : Promise.resolve().then(() => parseTarget(target))).catch((err: unknown) => this.#failed(shown, err));
    // The TLS files are read and the SSH tunnel opened (its host key checked) before any pool.
    const opened = await TargetLink.open(spec, this.#knownHosts).catch((err: unknown) => this.#failed(targetInfo(spec).display, err));
    // Faults belong to a target: the new one is dialled directly, the old proxy serves
    // the draining pool until it ends.
    const proxy = this.#proxy;
    this.#proxy = null;
    const previous = this.#link;
    try {
      await this.#firstThatAnswers(opened.attempts(), settings);
    } catch (err) {
      this.#proxy = proxy;
      await opened.tunnel?.close();
      throw err;
    }
    if (previous?.tunnel && previous.tunnel !== this.#link?.tunnel) {
      const tunnel = previous.tunnel;
      this.#afterDrains(() => tunnel.close());
    }
    if (proxy) {
      this.#afterDrains(() => proxy.close());
      this.log.emit({ type: 'fault.changed', toxics: { ...NO_TOXICS }, proxy: null });
    }
  }

  /**
   * sslmode=prefer tries TLS, then plaintext if the server speaks no TLS; allow the reverse
   * when the server refuses plaintext. The choice is made on the pool's first connection
   * and kept for every other connection of the target. Any other failure ends the tries.
   */
  async #firstThatAnswers(links: TargetLink[], settings?: Partial<PoolSettings>): Promise<void> {
    for (let i = 0; i < links.length; i++) {
      const link = links[i] as TargetLink;
      const last = i === links.length - 1;
      try {
        await this.#swap(link, settings, last);
        return;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const fallBack = !last && ((link.use === 'encrypt' && code === 'tls-unsupported') || (link.use === 'off' && code === 'tls-required'));
        if (fallBack) continue;
        if (!last) this.#failed(link.info().display, err);
        throw err;
      }
    }
  }

  /** Opens a pool on `link` (through the proxy, if one is set) and makes it active once it answered. */
  async #swap(link: TargetLink, settings?: Partial<PoolSettings>, report = true): Promise<void> {
    const next = openPool({ id: this.newPoolId(), link, log: this.log, clock: this.clock, settings, via: this.#via() });
    try {
      await next.verify();
    } catch (err) {
      await next.end();
      const explained = await explainWithCertificate(err, () => link.inspectCertificate());
      if (report) this.#failed(link.info().display, explained);
      throw explained;
    }
    const previous = this.#pool;
    this.#pool = next;
    if (this.#link !== link) this.#activate(link);
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

  /** The active link; its tunnel's drops and returns go into the log. */
  #activate(link: TargetLink): void {
    this.#unwatchTunnel();
    this.#link = link;
    this.#unwatchTunnel = link.tunnel?.onChange((up, message) => this.log.emit({ type: 'tunnel.changed', up, message })) ?? (() => {});
  }

  #failed(display: string, err: unknown): never {
    this.log.emit({ type: 'target.failed', display, message: messageOf(err) });
    throw err;
  }

  #via(): { host: string; port: number } | null {
    return this.#proxy ? { host: this.#proxy.host, port: this.#proxy.port } : null;
  }

  /** Runs `fn` once every pool draining now has ended. */
  #afterDrains(fn: () => Promise<void>): void {
    const done = Promise.all(this.#draining).then(fn, fn).catch(() => undefined).finally(() => this.#draining.delete(done));
    this.#draining.add(done);
  }

  get pool(): InstrumentedPool {
    if (!this.#pool) throw new PoolscopeError('pool-ended', 'The engine has no pool: it was stopped.');
    return this.#pool;
  }

  /** The active pool's target, password included: for engine code only. */
  get targetSpec(): TargetSpec | null {
    return this.#link?.spec ?? null;
  }

  /** How the active target is reached: the server monitor and terminate dial through it. */
  get link(): TargetLink | null {
    return this.#link;
  }

  /** Applies new settings by swapping in a new pool on the same target (and route); the old one drains. */
  async configure(settings: Partial<PoolSettings>): Promise<void> {
    if (!this.#link) throw new PoolscopeError('pool-ended', 'There is no pool to configure: connect to a target first.');
    await this.#swap(this.#link, settings);
  }

  /**
   * Sets conditions on the link to the target. The first call starts the fault proxy and
   * routes the pool through it: a new pool with the same settings, the direct one drains.
   */
  async setFaults(toxics: Partial<Toxics>): Promise<Toxics> {
    const link = this.#link;
    if (!link) throw new PoolscopeError('pool-ended', 'There is no target to put faults on: connect to one first.');
    if (!this.#proxy) {
      // Between the pools and the link: through the SSH tunnel when there is one; TLS still ends at the database.
      const proxy = await FaultProxy.start(() => link.dial(null, { allowHalfOpen: true }));
      this.#proxy = proxy;
      try {
        const { acquireTimeoutByEngine: _byEngine, ...settings } = this.pool.settings;
        await this.#swap(link, settings);
      } catch (err) {
        this.#proxy = null;
        await proxy.close();
        throw err;
      }
    }
    await this.#proxy.set(toxics);
    this.#faultsChanged();
    return this.#proxy.toxics;
  }

  /** Resets every connection through the proxy (TCP RST both ways); how many there were. */
  resetConnections(): number {
    if (!this.#proxy) throw new PoolscopeError('no-fault-proxy', 'The pool does not go through the fault proxy yet: set a fault (latency 0 will do) first, then reset.');
    return this.#proxy.resetAll();
  }

  /** The proxy's conditions, or null while pools dial the target directly. */
  get toxics(): Toxics | null {
    return this.#proxy?.toxics ?? null;
  }

  #faultsChanged(): void {
    const p = this.#proxy;
    const link = this.#link;
    const upstream = link ? `${link.spec.host}:${link.spec.port}${link.tunnel ? ` through SSH ${link.tunnel.where}` : ''}` : '';
    this.log.emit({
      type: 'fault.changed',
      toxics: p ? { ...p.toxics } : { ...NO_TOXICS },
      proxy: p && link ? { listen: `${p.host}:${p.port}`, upstream } : null,
    });
  }

  /**
   * Stops the embedded PostgreSQL, waits `downMs`, starts it again on the same port. The
   * pools are left alone: they see what an application sees when its database restarts.
   */
  async restartEmbedded(downMs: number): Promise<void> {
    const db = this.checkRestartable();
    this.#restarting = true;
    try {
      await db.stop();
      await new Promise((r) => this.clock.setTimer(() => r(undefined), downMs));
      await db.start();
    } finally {
      this.#restarting = false;
    }
  }

  /** Every pool not yet ended (the active one, draining ones, side pools). */
  pools(): InstrumentedPool[] {
    return [...this.#open.values()];
  }

  /**
   * A second pool on the active target that is not the active one (the per-request side
   * of a comparison). It shows in the snapshot like any pool; endSide() ends it.
   */
  openSide(settings: Partial<PoolSettings>): InstrumentedPool {
    if (!this.#link) throw new PoolscopeError('pool-ended', 'There is no target: connect to one first.');
    const id = this.newPoolId();
    const pool = openPool({ id, link: this.#link, log: this.log, clock: this.clock, settings, via: this.#via(), application: sideApplication(id) });
    this.#open.set(pool.id, pool);
    return pool;
  }

  /**
   * Ends a pool that a new target or new settings replaced, now: its waiting borrowers fail
   * and its held connections are destroyed. A draining pool waits for its borrowers, and a
   * leaked one never comes back: without this it kept its connections until the process ended.
   */
  async endPool(poolId: string): Promise<void> {
    const pool = this.#open.get(poolId);
    const status = this.log.live.pools[poolId]?.status;
    if (!pool || status === 'ended') throw new PoolscopeError('pool-ended', `Pool ${poolId} has already ended.`);
    if (pool === this.#pool) throw new PoolscopeError('pool-in-use', `Pool ${poolId} is the active pool: connect to another target or change the settings to replace it first.`);
    if (status !== 'draining' && status !== 'ending') throw new PoolscopeError('pool-in-use', `Pool ${poolId} belongs to a run (a comparison, the instances or the sweep): stop that run to end it.`);
    await pool.end();
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
    // The proxy goes first: a pool ending behind a blackhole would wait for goodbyes that never arrive.
    const proxy = this.#proxy;
    this.#proxy = null;
    await proxy?.close();
    // Stopping does not wait for borrowers: every open pool ends now.
    await Promise.all([...this.#open.values()].map((p) => p.end()));
    if (pool) await pool.end();
    this.#open.clear();
    await Promise.all(this.#draining);
    this.#unwatchTunnel();
    await this.#link?.tunnel?.close();
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
    return { engine: 'postgres', host: c.host, port: c.port, database: c.database, user: c.user, password: c.password, tls: { ...NO_TLS }, ssh: null, embedded: true };
  }
}
