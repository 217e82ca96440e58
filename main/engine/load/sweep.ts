import type { Commands } from '../../../shared/api';
import type { Clock } from '../clock';
import type { Engine } from '../engine';
import { serveRequest } from './queries';
import { SideBySide } from './side-by-side';

type Spec = Commands['sweep.start']['req'];

/** Connections opened and first requests served before a size is measured. */
const WARM_UP_MS = 500;

/**
 * Throughput against pool size: the same `clients` requests in flight, served by a pool
 * of each size in turn, each measured over `secondsEach` after a warm-up. On a server
 * with few cores, throughput stops rising well before the pool is large, then falls as
 * connections compete for CPU, locks and memory: the database's sweet spot.
 */
export class Sweep {
  readonly #engine: Engine;
  readonly #clock: Clock;
  #run: Promise<void> | null = null;
  #cancelled = false;
  #runner: SideBySide | null = null;
  /** Ends the current wait early when the sweep is stopped. */
  #wake: (() => void) | null = null;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#clock = engine.clock;
  }

  async start(spec: Spec): Promise<void> {
    await this.stop();
    this.#cancelled = false;
    const sizes = [...new Set(spec.sizes)].sort((a, b) => a - b);
    const changed = (running: boolean) => this.#engine.log.emit({ type: 'sweep.changed', running, sizes, secondsEach: spec.secondsEach, clients: spec.clients, query: spec.query });
    changed(true);
    this.#run = (async () => {
      for (const size of sizes) {
        if (this.#cancelled) break;
        await this.#measure(size, spec);
      }
      changed(false);
    })();
  }

  async stop(): Promise<void> {
    this.#cancelled = true;
    this.#wake?.();
    await this.#runner?.stop();
    await this.#run;
    this.#run = null;
  }

  async #measure(size: number, spec: Spec): Promise<void> {
    const engine = this.#engine;
    const pool = engine.openSide({ max: size, acquireTimeoutMs: 60_000 });
    const runner = new SideBySide(this.#clock);
    this.#runner = runner;
    const request = { concurrency: 1, query: spec.query };
    const serve = { name: 'sweep', request: (label: string) => serveRequest(pool, label, request) };
    try {
      runner.start(spec.clients, [serve]);
      await this.#sleep(WARM_UP_MS);
      if (this.#cancelled) return;
      const before = runner.totals().sweep;
      await this.#sleep(spec.secondsEach * 1_000);
      if (this.#cancelled) return;
      // The warm-up's requests are subtracted; latency quantiles cover the whole run.
      const after = runner.totals().sweep;
      const ok = (after?.ok ?? 0) - (before?.ok ?? 0);
      engine.log.emit({
        type: 'sweep.measured',
        size,
        throughput: ok / spec.secondsEach,
        p50Ms: after?.p50Ms ?? null,
        p99Ms: after?.p99Ms ?? null,
        failed: (after?.failed ?? 0) - (before?.failed ?? 0),
      });
    } finally {
      await runner.stop();
      this.#runner = null;
      await engine.endSide(pool);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(() => done(), ms);
      const done = () => {
        this.#clock.clearTimer(timer);
        this.#wake = null;
        resolve();
      };
      this.#wake = done;
    });
  }
}
