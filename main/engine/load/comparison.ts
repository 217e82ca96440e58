import type { HandshakeTimings } from '../../../shared/events';
import { here } from '../call-site';
import type { Engine } from '../engine';
import type { InstrumentedPool } from '../pool/instrumented-pool';
import { serveRequest } from './queries';
import { SideBySide } from './side-by-side';

type Query = 'select1' | 'point';

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * The connection tax, measured: the same closed-loop request stream served by the pool
 * and, taking turns with it every half second, by a pool whose every request destroys its
 * connection, so each request opens, authenticates and closes a new one, with its
 * handshake timed in phases.
 */
export class Comparison {
  readonly #engine: Engine;
  readonly #runner: SideBySide;
  #perRequest: InstrumentedPool | null = null;
  #handshakes: HandshakeTimings[] = [];
  #unsubscribe: (() => void) | null = null;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#runner = new SideBySide(engine.clock);
  }

  async start(concurrency: number, query: Query): Promise<void> {
    await this.stop(false);
    // The run before stopped mid-interval: its handshakes are not this run's (on a link made
    // slower in between, they put 10 ms where 300 ms were measured).
    this.#handshakes = [];
    const engine = this.#engine;
    const perRequest = engine.openSide({ max: concurrency, acquireTimeoutMs: 10_000 });
    this.#perRequest = perRequest;
    this.#unsubscribe = engine.log.subscribe(
      (e) => {
        if (e.type === 'connection.opened' && e.connId.startsWith(`${perRequest.id}.`)) this.#handshakes.push(e.handshake);
      },
      { summaries: true },
    );
    engine.log.emit({ type: 'compare.changed', running: true, concurrency, query, perRequestPoolId: perRequest.id });
    let site: string | null = null; // captured once: every request borrows from here
    const serve = (pool: () => InstrumentedPool, destroy: boolean) => (label: string) =>
      serveRequest(pool(), label, { concurrency: 1, query }, { destroy, site: (site ??= here()) });
    this.#runner.start(
      concurrency,
      [
        { name: 'pooled', request: serve(() => engine.pool, false) },
        { name: 'per-request', request: serve(() => perRequest, true) },
      ],
      (bySide, intervalMs) => {
        const hs = this.#handshakes;
        this.#handshakes = [];
        const pick = (k: keyof HandshakeTimings) => median(hs.map((h) => h[k] ?? 0));
        engine.log.emit({
          type: 'compare.stats',
          intervalMs,
          pooled: bySide.pooled ?? { requests: 0, ok: 0, failed: 0, p50Ms: null, p99Ms: null },
          perRequest: bySide['per-request'] ?? { requests: 0, ok: 0, failed: 0, p50Ms: null, p99Ms: null },
          handshake:
            hs.length === 0 ? null : { socketMs: pick('socketMs'), sshMs: hs.some((h) => h.sshMs !== null) ? pick('sshMs') : null, tlsMs: hs.some((h) => h.tlsMs !== null) ? pick('tlsMs') : null, authMs: pick('authMs'), readyMs: pick('readyMs'), totalMs: pick('totalMs') },
        });
      },
      // Run together, the handshakes took the CPU the pooled side needed and the panel showed
      // 31x where the sides measured alone give 67x (tests/bench): they take turns instead.
      { alternate: true },
    );
  }

  async stop(announce = true): Promise<void> {
    await this.#runner.stop();
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    const perRequest = this.#perRequest;
    this.#perRequest = null;
    if (perRequest) await this.#engine.endSide(perRequest);
    const last = this.#engine.log.live.comparison;
    if (announce && last?.running) this.#engine.log.emit({ type: 'compare.changed', running: false, concurrency: last.concurrency, query: last.query, perRequestPoolId: null });
  }
}
