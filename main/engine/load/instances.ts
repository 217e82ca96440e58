import type { Commands } from '../../../shared/api';
import type { Engine } from '../engine';
import type { InstrumentedPool } from '../pool/instrumented-pool';
import { serveRequest } from './queries';
import { SideBySide } from './side-by-side';

type Spec = Commands['instances.start']['req'];

/**
 * K simulated app instances against the same database, each with its own real pool of
 * size P kept busy by P clients, so the server meets K x P connections, as a fleet
 * of app servers would. Refusals (the server out of slots) show on each pool's failed
 * connections; the reducer counts them per instance.
 */
export class Instances {
  readonly #engine: Engine;
  readonly #runner: SideBySide;
  #pools: InstrumentedPool[] = [];
  #spec: Spec | null = null;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#runner = new SideBySide(engine.clock);
  }

  async start(spec: Spec): Promise<void> {
    await this.stop(false);
    const engine = this.#engine;
    // A refused connection fails its borrower at once; the acquire timeout bounds a slow one.
    this.#pools = Array.from({ length: spec.count }, () => engine.openSide({ max: spec.poolSize, acquireTimeoutMs: 5_000 }));
    this.#spec = spec;
    engine.log.emit({ type: 'instances.changed', running: true, count: spec.count, poolSize: spec.poolSize, query: spec.query, poolIds: this.#pools.map((p) => p.id) });
    const request = { concurrency: 1, query: spec.query, sleepMs: spec.sleepMs };
    this.#runner.start(
      spec.poolSize,
      this.#pools.map((pool, i) => ({ name: `instance ${i + 1}`, request: (label: string) => serveRequest(pool, label, request) })),
    );
  }

  async stop(announce = true): Promise<void> {
    await this.#runner.stop();
    const pools = this.#pools;
    this.#pools = [];
    await Promise.all(pools.map((p) => this.#engine.endSide(p)));
    const last = this.#spec;
    this.#spec = null;
    if (announce && last) this.#engine.log.emit({ type: 'instances.changed', running: false, count: last.count, poolSize: last.poolSize, query: last.query, poolIds: [] });
  }
}
