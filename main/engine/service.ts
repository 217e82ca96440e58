import { sourceOfBorrower } from '../../shared/sources';
import { type ApiError, type Batch, type CommandName, type Commands, type PoolSettingsInput, type Reply, type TargetRequest, validateCommand } from '../../shared/api';
import { parseScenario } from '../../shared/scenario-parse';
import type { Scenario } from '../../shared/scenario';
import { SETTINGS_OF } from '../../shared/settings-help';
import { NO_TOXICS, type Toxics } from '../../shared/faults';
import { Coalescer } from './coalescer';
import type { Engine } from './engine';
import { PoolscopeError, messageOf, redactUrls, scrub } from './errors';
import { RecoveryWatch } from './faults/recovery';
import { Instances } from './load/instances';
import { Sweep } from './load/sweep';
import { ServerMonitor } from './server-view/monitor';
import { terminateSession } from './server-view/terminate';
import { LeakDetector } from './leak-detector';
import { installDemo } from './demo/install-demo';
import { Comparison } from './load/comparison';
import { LoadDriver } from './load/load-driver';
import { Patterns } from './load/patterns';
import { handleRequestWithoutFinally } from './load/leaky-handler';
import type { Lease } from './pool/lease';
import { SessionRecorder } from './recording';
import { HostKeyError } from './link/ssh-tunnel';
import type { TargetLink } from './link/target-link';
import { SavedTargets } from './saved-targets';
import { builtInInfos, requireBuiltIn } from './scenarios/builtins';
import { ScenarioRunner } from './scenarios/runner';
import { parseTarget, specToFields, urlToFields } from './target-spec';

/** Rows a transaction's statement returns to the UI: enough to see, not a result browser. */
const TX_ROWS_SHOWN = 20;

type Handlers = { [K in CommandName]: (req: Commands[K]['req']) => Promise<Commands[K]['res']> };

/**
 * The engine behind the typed API. Both hosts (Electron IPC, the browser host's
 * WebSocket) hand every incoming command to `handle`, which validates it before it
 * reaches the engine, and subscribe their client through `subscribe`.
 */
export class PoolscopeService {
  readonly engine: Engine;
  /** Plays scenarios through this service's handle(); the headless runner drives it directly. */
  readonly scenarios: ScenarioRunner;
  readonly #recorder: SessionRecorder;
  readonly #load: LoadDriver;
  readonly #handlers: Handlers;

  readonly #saved: SavedTargets | null;
  readonly #leaks: LeakDetector;
  readonly #coalescers = new Set<Coalescer>();
  readonly #compare: Comparison;
  readonly #patterns: Patterns;
  readonly #recovery: RecoveryWatch;
  readonly #instances: Instances;
  readonly #sweep: Sweep;
  #monitor: ServerMonitor | null = null;
  #watching: TargetLink | null = null;
  /** Server ids our connections reported when they opened, kept while the server still lists them. */
  readonly #ourIds = new Set<number>();
  readonly #unwatch: () => void;

  /** Without `saved`, the targets.* commands answer that this host keeps no saved targets. */
  constructor(engine: Engine, opts: { saved?: SavedTargets } = {}) {
    this.engine = engine;
    this.#saved = opts.saved ?? null;
    this.#leaks = new LeakDetector(engine.log, engine.clock);
    this.#compare = new Comparison(engine);
    this.#patterns = new Patterns(engine);
    this.#recovery = new RecoveryWatch(engine);
    this.#instances = new Instances(engine);
    this.#sweep = new Sweep(engine);
    this.scenarios = new ScenarioRunner((cmd, req) => this.handle(cmd, req), engine.log, engine.clock, (text) => scrub(text, engine.targetSpec?.password));
    this.#recorder = new SessionRecorder(engine.log, engine.clock);
    // The database's own view follows the active target: a new pool that passed its check
    // (the engine makes it active right after) gets a monitor of its own.
    // A dropped SSH tunnel is an outage like the others: its recovery is measured until the pool serves again.
    let tunnelDown: number | null = null;
    this.#unwatch = engine.log.subscribe((e) => {
      if (e.type === 'pool.verified') engine.clock.setTimer(() => void this.#watchServer(), 0);
      else if (e.type === 'tunnel.changed' && !e.up && tunnelDown === null) tunnelDown = this.#recovery.begin('tunnel', e.message);
      else if (e.type === 'tunnel.changed' && e.up && tunnelDown !== null) {
        this.#recovery.lift(tunnelDown);
        tunnelDown = null;
      }
      else if (e.type === 'connection.opened' && e.serverId !== null) this.#ourIds.add(e.serverId);
      else if (e.type === 'server.observed') this.#forgetGone(e.sessions);
    }, { summaries: true });
    if (engine.targetSpec) void this.#watchServer();
    const saved = () => {
      if (!this.#saved) throw new PoolscopeError('bad-target', 'This host keeps no saved targets.');
      return this.#saved;
    };
    this.#load = new LoadDriver(engine.log, engine.clock, () => engine.pool);
    this.#handlers = {
      // Every batch sent before the snapshot ends at or before its seq, so a client that
      // skips batches up to the snapshot never meets a summary straddling it.
      'snapshot.get': async () => {
        for (const c of this.#coalescers) c.flush();
        return engine.snapshot();
      },
      'target.connect': async (req: TargetRequest) => {
        const { target, settings } = await this.#target(req);
        await engine.connect(target, settings);
        return engine.pool.target;
      },
      'pool.configure': async (settings) => {
        const kind = engine.pool.target.engine;
        const foreign = Object.keys(settings).filter((k) => !(SETTINGS_OF[kind] as readonly string[]).includes(k));
        if (foreign.length > 0) {
          const driver = kind === 'postgres' ? 'pg.Pool' : "mysql2's pool";
          throw new PoolscopeError('bad-target', `${foreign.join(', ')}: not a setting of ${driver}; it has ${SETTINGS_OF[kind].join(', ')}.`);
        }
        const { acquireTimeoutByEngine: _byEngine, ...current } = engine.pool.settings;
        const next = { ...current, ...settings };
        // maxIdle left at its default (= the pool size) follows a new size instead of
        // silently turning idle closing on.
        if (settings.maxIdle === undefined && current.maxIdle === current.max) delete (next as Partial<typeof next>).maxIdle;
        await engine.configure(next);
      },
      'pool.end': ({ poolId }) => engine.endPool(poolId),
      'leak.inject': async ({ count }) => ({
        borrowerIds: (await Promise.all(Array.from({ length: count }, () => handleRequestWithoutFinally(engine.pool, 'leaked request')))).map((l) => l.borrowerId),
      }),
      'leak.threshold': async ({ ms }) => this.#leaks.set(ms),
      'lease.release': async ({ borrowerId }) => this.#lease(borrowerId).release(),
      'lease.destroy': async ({ borrowerId }) => this.#lease(borrowerId).destroy(),
      'tx.begin': async ({ label }) => {
        const lease = await engine.pool.borrow({ label: label ?? 'transaction', site: 'Poolscope (transaction control)' });
        try {
          await lease.query('BEGIN');
        } catch (err) {
          lease.release();
          throw err;
        }
        return { borrowerId: lease.borrowerId, connId: lease.connId };
      },
      'tx.run': async ({ borrowerId, sql }) => {
        const r = await this.#lease(borrowerId).query(sql);
        return { rows: r.rows.slice(0, TX_ROWS_SHOWN), affected: r.affected };
      },
      'tx.commit': ({ borrowerId }) => this.#end(borrowerId, 'COMMIT'),
      'tx.rollback': ({ borrowerId }) => this.#end(borrowerId, 'ROLLBACK'),
      'compare.start': ({ concurrency, query }) => this.#compare.start(concurrency, query),
      'compare.stop': () => this.#compare.stop(),
      'demo.install': () => installDemo(engine.pool),
      'pattern.start': ({ concurrency, paymentMs, emailMs }) => this.#patterns.start(concurrency, paymentMs, emailMs),
      'pattern.stop': () => this.#patterns.stop(),
      'targets.list': () => saved().list(),
      'targets.save': (req) => saved().save(req.name, parseTarget(req.target.kind === 'url' ? req.target.url : req.target.fields), req.settings ?? null),
      'targets.remove': (req) => saved().remove(req.id),
      'targets.parse': async ({ url }) => urlToFields(url),
      'load.start': (spec) => this.#load.start(spec),
      'load.stop': () => this.#load.stop(),
      'load.spike': async ({ count, query, sleepMs }) => this.#load.spike(count, query ? { query, sleepMs } : undefined),
      'fault.set': (toxics) => this.#setFaults(toxics),
      'fault.clear': async () => {
        if (engine.toxics) await this.#setFaults(NO_TOXICS);
      },
      'fault.reset': async () => {
        const connections = engine.resetConnections();
        this.#recovery.once('reset', `${connections} connection${connections === 1 ? '' : 's'} reset through the proxy`);
        return { connections };
      },
      'server.terminate': async ({ serverId }) => {
        const link = engine.link;
        if (!link) throw new PoolscopeError('pool-ended', 'There is no target: connect to one first.');
        const what = this.#ours(serverId);
        const id = this.#recovery.begin('terminate', `session ${serverId} (${what}) terminated`);
        try {
          await terminateSession(link, serverId);
        } finally {
          this.#recovery.lift(id);
        }
      },
      'db.restart': async ({ downMs }) => {
        const down = downMs ?? 2_000;
        engine.checkRestartable();
        const id = this.#recovery.begin('restart', `embedded PostgreSQL stopped for ${down} ms, then started`);
        try {
          await engine.restartEmbedded(down);
        } finally {
          this.#recovery.lift(id);
        }
      },
      'instances.start': (spec) => this.#instances.start(spec),
      'instances.stop': () => this.#instances.stop(),
      'sweep.start': (spec) => this.#sweep.start(spec),
      'sweep.stop': () => this.#sweep.stop(),
      'scenario.list': async () => builtInInfos(),
      // A file is code from elsewhere: its SQL waits for scenario.confirm; the built-ins are ours.
      'scenario.open': async (req) =>
        'builtIn' in req
          ? this.scenarios.open(requireBuiltIn(req.builtIn), { review: false })
          : this.scenarios.open(scenarioFrom(req.source, req.fileName ?? 'scenario.json'), { review: true }),
      'scenario.confirm': async ({ id }) => this.scenarios.confirm(id),
      'scenario.play': async () => this.scenarios.play(),
      'scenario.pause': async () => this.scenarios.pause(),
      'scenario.step': async () => this.scenarios.step(),
      'scenario.next': async () => this.scenarios.next(),
      'scenario.back': () => this.scenarios.back(),
      'scenario.restart': () => this.scenarios.restart(),
      'scenario.close': () => this.scenarios.close(),
      'record.start': async () => this.#recorder.start(),
      'record.stop': async () => this.#recorder.stop(),
    };
  }

  /** Blackhole and refusal are outages while on: a recovery window opens and closes with them. */
  async #setFaults(toxics: Partial<Toxics>): Promise<Toxics> {
    const before = this.engine.toxics ?? NO_TOXICS;
    const after = await this.engine.setFaults(toxics);
    const outages = [
      ['blackhole', 'blackhole: the proxy accepts and forwards nothing'],
      ['refuse', 'the proxy refuses new connections'],
    ] as const;
    for (const [kind, detail] of outages) {
      if (after[kind] && !before[kind]) this.#recovery.begin(kind, detail);
      const open = this.#recovery.openOf(kind);
      if (!after[kind] && open !== null) this.#recovery.lift(open);
    }
    return after;
  }

  /**
   * Which of our connections a server session is; anything else is refused. A session is
   * ours by its id alone: an open connection of a pool on the active target has it, or one
   * of ours reported it when it opened and the server still lists it (an orphan: its pool
   * let go of it first). Its application name proves nothing: any client can set it.
   */
  #ours(serverId: number): string {
    const s = this.engine.log.live;
    const active = s.activePoolId === null ? undefined : s.pools[s.activePoolId]?.target.display;
    const conn = Object.values(s.connections).find((c) => c.serverId === serverId && s.pools[c.poolId]?.target.display === active);
    if (conn) return `connection ${conn.id}`;
    if (this.#ourIds.has(serverId) && s.server?.sessions.some((x) => x.id === serverId)) return 'an orphan of ours';
    throw new PoolscopeError('not-ours', `Session ${serverId} is not one of Poolscope's connections (no open connection has that ${s.server ? 'server id' : 'id, and the server view is not read yet'}). Poolscope terminates only its own sessions; end others with the database's own tools.`);
  }

  /**
   * An id the server no longer lists may be reused by someone else's session: forgotten,
   * unless an open connection still has it. A failed read lists nothing: then only open
   * connections' ids are kept (the set cannot grow while the monitor is down).
   */
  #forgetGone(sessions: readonly { id: number }[]): void {
    const listed = new Set(sessions.map((x) => x.id));
    const open = new Set(Object.values(this.engine.log.live.connections).map((c) => c.serverId));
    for (const id of this.#ourIds) if (!listed.has(id) && !open.has(id)) this.#ourIds.delete(id);
  }

  #lease(borrowerId: string): Lease {
    const source = sourceOfBorrower(this.engine.log.live, borrowerId);
    if (source) {
      throw new PoolscopeError('not-ours', `Borrower ${borrowerId} is in the pool of an attached app (pid ${source.pid}): Poolscope watches that pool and leaves it alone; only the app releases or destroys its connections.`);
    }
    const lease = this.engine.lease(borrowerId);
    if (!lease) throw new PoolscopeError('lease-ended', `Borrower ${borrowerId} holds no connection now (it was released, or its pool ended).`);
    return lease;
  }

  /** COMMIT or ROLLBACK, then release; a connection that broke meanwhile is released all the same. */
  async #end(borrowerId: string, sql: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const lease = this.#lease(borrowerId);
    try {
      await lease.query(sql);
    } finally {
      lease.release();
    }
  }

  async #target(req: TargetRequest): Promise<{ target: unknown; settings: PoolSettingsInput | undefined }> {
    switch (req.kind) {
      case 'embedded':
        return { target: undefined, settings: req.settings };
      case 'url':
        return { target: req.url, settings: req.settings };
      case 'fields':
        return { target: req.fields, settings: req.settings };
      case 'saved': {
        if (!this.#saved) throw new PoolscopeError('bad-target', 'This host keeps no saved targets.');
        const { spec, settings } = await this.#saved.spec(req.id, { password: req.password, passphrase: req.passphrase, sshPassword: req.sshPassword });
        const fields = specToFields(spec, { secrets: true });
        if (req.hostKey && fields.ssh) fields.ssh.hostKey = req.hostKey;
        return { target: fields, settings: req.settings ?? settings ?? undefined };
      }
    }
  }

  async handle(cmd: unknown, req: unknown): Promise<Reply<unknown>> {
    const v = validateCommand(cmd, req);
    if (!v.ok) return v;
    try {
      const handler = this.#handlers[v.cmd] as (req: unknown) => Promise<unknown>;
      return { ok: true, res: (await handler(v.req)) ?? null };
    } catch (err) {
      return { ok: false, error: toApiError(err) };
    }
  }

  /** Sends the client batches of events from now on; `send` returns false when it could not deliver. */
  subscribe(send: (batch: Batch) => boolean): () => void {
    const c = new Coalescer(this.engine.log, this.engine.clock, send);
    this.#coalescers.add(c);
    return () => {
      c.stop();
      this.#coalescers.delete(c);
    };
  }

  async #watchServer(): Promise<void> {
    const link = this.engine.link;
    if (!link || link === this.#watching) return;
    this.#watching = link;
    const previous = this.#monitor;
    this.#monitor = new ServerMonitor(link, this.engine.log, this.engine.clock);
    await previous?.stop();
  }

  async stop(): Promise<void> {
    this.scenarios.stop();
    this.#unwatch();
    await this.#monitor?.stop();
    this.#monitor = null;
    this.#leaks.stop();
    // Load requests may be waiting for connections: ending the pools answers them now.
    const loadStopped = Promise.all([this.#load.stop(), this.#compare.stop(), this.#patterns.stop(), this.#instances.stop(), this.#sweep.stop()]);
    await this.#recovery.stop();
    await this.engine.stop();
    await loadStopped;
  }
}

/** A scenario file's text, checked; every problem, each naming its field, in one error. */
export function scenarioFrom(source: string, fileName: string): Scenario {
  const r = parseScenario(source, fileName);
  if (!r.ok) throw new PoolscopeError('bad-scenario', `${fileName} is not a valid scenario:\n${r.errors.map((e) => `  ${e}`).join('\n')}`);
  return r.scenario;
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof HostKeyError) return { code: err.code, message: err.message, hostKey: err.hostKey };
  if (err instanceof PoolscopeError) return { code: err.code, message: err.message };
  return { code: 'internal', message: redactUrls(messageOf(err)) };
}
