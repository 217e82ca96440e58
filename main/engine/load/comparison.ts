import type { HandshakeTimings, SideStats } from '../../../shared/events';
import { emptyHistogram, quantile, record } from '../../../shared/histogram';
import { type Clock, every } from '../clock';
import type { Engine } from '../engine';
import type { InstrumentedPool } from '../pool/instrumented-pool';
import { runQuery } from './queries';

const STATS_MS = 500;
const ERROR_PAUSE_MS = 100;

type Query = 'select1' | 'point';

function side() {
  return { requests: 0, ok: 0, failed: 0, latency: emptyHistogram() };
}

function summary(s: ReturnType<typeof side>): SideStats {
  return { requests: s.requests, ok: s.ok, failed: s.failed, p50Ms: quantile(s.latency, 0.5), p99Ms: quantile(s.latency, 0.99) };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * The connection tax, measured: the same closed-loop request stream served by the pool
 * and, side by side, by a pool whose every request destroys its connection, so each
 * request opens, authenticates and closes a new one, with its handshake timed in phases.
 */
export class Comparison {
  readonly #engine: Engine;
  readonly #clock: Clock;
  #generation = 0;
  #clients: Promise<void>[] = [];
  #perRequest: InstrumentedPool | null = null;
  #pooled = side();
  #fresh = side();
  #handshakes: HandshakeTimings[] = [];
  #stopStats: (() => void) | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#clock = engine.clock;
  }

  async start(concurrency: number, query: Query): Promise<void> {
    await this.stop(false);
    const generation = ++this.#generation;
    const perRequest = this.#engine.openSide({ max: concurrency, acquireTimeoutMs: 10_000 });
    this.#perRequest = perRequest;
    this.#unsubscribe = this.#engine.log.subscribe((e) => {
      if (e.type === 'connection.opened' && e.connId.startsWith(`${perRequest.id}.`)) this.#handshakes.push(e.handshake);
    });
    this.#engine.log.emit({ type: 'compare.changed', running: true, concurrency, query, perRequestPoolId: perRequest.id });
    this.#stopStats = every(this.#clock, STATS_MS, () => this.#flush());
    for (let i = 1; i <= concurrency; i++) {
      this.#clients.push(this.#client(generation, () => this.#engine.pool, `pooled #${i}`, false, query, this.#pooled));
      this.#clients.push(this.#client(generation, () => perRequest, `per-request #${i}`, true, query, this.#fresh));
    }
  }

  async stop(announce = true): Promise<void> {
    this.#generation++;
    this.#stopStats?.();
    this.#stopStats = null;
    const clients = this.#clients;
    this.#clients = [];
    await Promise.all(clients);
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    const perRequest = this.#perRequest;
    this.#perRequest = null;
    if (perRequest) await this.#engine.endSide(perRequest);
    const last = this.#engine.log.live.comparison;
    if (announce && last?.running) this.#engine.log.emit({ type: 'compare.changed', running: false, concurrency: last.concurrency, query: last.query, perRequestPoolId: null });
  }

  async #client(generation: number, pool: () => InstrumentedPool, label: string, destroy: boolean, query: Query, stats: ReturnType<typeof side>): Promise<void> {
    while (generation === this.#generation) {
      const started = this.#clock.now();
      stats.requests++;
      try {
        const p = pool();
        const lease = await p.borrow({ label });
        try {
          await runQuery(lease, p.target.engine, { concurrency: 1, query });
        } finally {
          if (destroy) lease.destroy();
          else lease.release();
        }
        stats.ok++;
        record(stats.latency, this.#clock.now() - started);
      } catch {
        stats.failed++;
        await new Promise((r) => this.#clock.setTimer(() => r(undefined), ERROR_PAUSE_MS));
      }
    }
  }

  #flush(): void {
    const hs = this.#handshakes;
    this.#handshakes = [];
    const pick = (k: keyof HandshakeTimings) => median(hs.map((h) => h[k] ?? 0));
    this.#engine.log.emit({
      type: 'compare.stats',
      intervalMs: STATS_MS,
      pooled: summary(this.#pooled),
      perRequest: summary(this.#fresh),
      handshake: hs.length === 0 ? null : { socketMs: pick('socketMs'), tlsMs: hs.some((h) => h.tlsMs !== null) ? pick('tlsMs') : null, authMs: pick('authMs'), readyMs: pick('readyMs'), totalMs: pick('totalMs') },
    });
    this.#pooled = side();
    this.#fresh = side();
  }
}
