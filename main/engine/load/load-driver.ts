import type { LoadSpec } from '../../../shared/api';
import { emptyHistogram, quantile, record } from '../../../shared/histogram';
import { here } from '../call-site';
import { type Clock, every } from '../clock';
import type { EventLog } from '../event-log';
import type { InstrumentedPool } from '../pool/instrumented-pool';
import { handleRequestWithoutFinally } from './leaky-handler';
import { serveRequest } from './queries';

const STATS_MS = 500;
const TICK_MS = 10;
const ERROR_PAUSE_MS = 100;
/**
 * A spike's requests started per turn of the event loop: 10,000 borrowers asked for in
 * one turn held the host for a quarter of a second; in turns of this many, for a few ms each.
 */
const SPIKE_PER_TURN = 250;

/**
 * Virtual clients on whatever pool is active at each request (a target switch or a
 * settings swap takes them along). Closed loop: `concurrency` clients, each borrows,
 * runs its query, releases, and goes again. Open loop: `rate` requests arrive per
 * second whatever the pool does, at most `concurrency` in flight (the rest are shed and
 * counted). Changing the spec while running adjusts in place. Stopping takes the
 * requests still waiting for a connection out of the line at once (borrower.cancelled);
 * those holding one finish their query.
 */
export class LoadDriver {
  readonly #log: EventLog;
  readonly #clock: Clock;
  readonly #pool: () => InstrumentedPool;
  #spec: LoadSpec | null = null;
  #clients = 0;
  readonly #running = new Set<Promise<void>>();
  /** Requests between their borrow and their end: not a client pausing after an error. */
  #inRequest = 0;
  #cancelTicker: (() => void) | null = null;
  #due = 0;
  #requests = 0;
  #stats = LoadDriver.#window();
  #cancelStats: (() => void) | null = null;
  /** Every request borrows from the same line: its call site is captured once (a capture costs ~5 µs). */
  #site: string | null = null;
  /** Bumped by stop(): a spike still arriving in turns stops starting requests. */
  #generation = 0;
  /** Pools this run's requests borrowed from (a settings swap leaves the old one draining). */
  readonly #pools = new Set<InstrumentedPool>();

  constructor(log: EventLog, clock: Clock, pool: () => InstrumentedPool) {
    this.#log = log;
    this.#clock = clock;
    this.#pool = pool;
  }

  static #window() {
    return { requests: 0, ok: 0, failed: 0, timedOut: 0, cancelled: 0, leaked: 0, shed: 0, latency: emptyHistogram() };
  }

  async start(spec: LoadSpec): Promise<void> {
    const wasOpen = (this.#spec?.rate ?? 0) > 0;
    const open = (spec.rate ?? 0) > 0;
    if (this.#spec && wasOpen !== open) await this.stop(false);
    this.#spec = spec;
    this.#log.emit({
      type: 'load.changed',
      running: true,
      concurrency: spec.concurrency,
      rate: spec.rate ?? null,
      query: spec.query,
      sleepMs: spec.sleepMs ?? null,
      leakOneIn: spec.leakOneIn ?? null,
    });
    this.#cancelStats ??= every(this.#clock, STATS_MS, () => this.#flushStats());
    if (open) {
      this.#cancelTicker ??= every(this.#clock, TICK_MS, () => this.#arrive());
    } else {
      while (this.#clients < spec.concurrency) this.#track(this.#client(++this.#clients));
    }
  }

  /** `count` requests at once: of `query`, else of the running load's, else point lookups. */
  spike(count: number, query?: Pick<LoadSpec, 'query' | 'sleepMs'>): void {
    const spec: LoadSpec = query?.query ? { concurrency: count, ...query } : (this.#spec ?? { concurrency: count, query: 'point' });
    this.#track(this.#spikeInTurns(count, spec, this.#generation));
  }

  async #spikeInTurns(count: number, spec: LoadSpec, generation: number): Promise<void> {
    for (let i = 0; i < count && generation === this.#generation; ) {
      for (const end = Math.min(count, i + SPIKE_PER_TURN); i < end; i++) this.#track(this.#request(spec, `spike #${i + 1}`).then(() => undefined));
      if (i < count) await new Promise((r) => setImmediate(r));
    }
  }

  async stop(announce = true): Promise<void> {
    const last = this.#spec;
    this.#spec = null;
    this.#clients = 0;
    this.#generation++;
    this.#cancelTicker?.();
    this.#cancelStats?.();
    this.#cancelTicker = null;
    this.#cancelStats = null;
    const cancelled = [...this.#pools].map((pool) => pool.cancelWaiting(this, 'the load stopped'));
    this.#pools.clear();
    await Promise.all([...cancelled, ...this.#running]);
    this.#flushStats();
    if (announce && last) {
      this.#log.emit({ type: 'load.changed', running: false, concurrency: last.concurrency, rate: last.rate ?? null, query: last.query, sleepMs: last.sleepMs ?? null, leakOneIn: last.leakOneIn ?? null });
    }
  }

  #track(p: Promise<void>): void {
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  async #client(n: number): Promise<void> {
    // A client whose number is above the current concurrency retires (the spec shrank).
    while (this.#spec && n <= this.#spec.concurrency) {
      const ok = await this.#request(this.#spec, `load #${n}`);
      if (!ok) await new Promise((r) => this.#clock.setTimer(() => r(undefined), ERROR_PAUSE_MS));
    }
    if (this.#clients >= n) this.#clients = n - 1;
  }

  #arrive(): void {
    const spec = this.#spec;
    if (!spec?.rate) return;
    this.#due += (spec.rate * TICK_MS) / 1_000;
    for (; this.#due >= 1; this.#due--) {
      if (this.#running.size >= spec.concurrency) {
        this.#stats.shed++;
        continue;
      }
      this.#track(this.#request(spec, `arrival #${this.#requests + 1}`).then(() => undefined));
    }
  }

  /** One request, borrow to release; resolves false when it failed (the event says why). */
  async #request(spec: LoadSpec, label: string): Promise<boolean> {
    let pool: InstrumentedPool;
    try {
      pool = this.#pool();
    } catch {
      return false; // the engine stopped
    }
    this.#pools.add(pool);
    const started = this.#clock.now();
    const n = ++this.#requests;
    // Counted in the stats window open when the request ends (this.#stats is replaced every
    // interval): a request longer than an interval still shows in that interval's rate and latency.
    this.#inRequest++;
    try {
      if (spec.leakOneIn && n % spec.leakOneIn === 0) {
        await handleRequestWithoutFinally(pool, `${label} (leaked)`, this);
        this.#stats.leaked++;
      } else {
        await serveRequest(pool, label, spec, { site: (this.#site ??= here()), owner: this });
      }
      this.#stats.requests++;
      this.#stats.ok++;
      record(this.#stats.latency, this.#clock.now() - started);
      return true;
    } catch (err) {
      this.#stats.requests++;
      const code = (err as { code?: unknown }).code;
      if (code === 'acquire-timeout') this.#stats.timedOut++;
      else if (code === 'cancelled') this.#stats.cancelled++;
      else this.#stats.failed++;
      return false;
    } finally {
      this.#inRequest--;
    }
  }

  #flushStats(): void {
    const w = this.#stats;
    if (w.requests === 0 && w.shed === 0 && this.#running.size === 0) return;
    this.#stats = LoadDriver.#window();
    this.#log.emit({
      type: 'load.stats',
      intervalMs: STATS_MS,
      requests: w.requests,
      ok: w.ok,
      failed: w.failed,
      timedOut: w.timedOut,
      cancelled: w.cancelled,
      leaked: w.leaked,
      shed: w.shed,
      inFlight: this.#inRequest,
      p50Ms: quantile(w.latency, 0.5),
      p99Ms: quantile(w.latency, 0.99),
    });
  }
}
