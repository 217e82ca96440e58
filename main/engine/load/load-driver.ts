import type { LoadSpec } from '../../../shared/api';
import type { EngineKind } from '../../../shared/events';
import type { EventLog } from '../event-log';
import type { InstrumentedPool } from '../pool/instrumented-pool';

const DEMO_BOOKS = 2_000;
const ERROR_PAUSE_MS = 100;

function statement(engine: EngineKind, spec: LoadSpec): { sql: string; params: () => unknown[] } {
  const p = engine === 'postgres' ? '$1' : '?';
  switch (spec.query) {
    case 'point':
      return { sql: `SELECT * FROM books WHERE id = ${p}`, params: () => [1 + Math.floor(Math.random() * DEMO_BOOKS)] };
    case 'sleep': {
      const seconds = (spec.sleepMs ?? 100) / 1_000;
      return { sql: engine === 'postgres' ? `SELECT pg_sleep(${p})` : `SELECT SLEEP(${p})`, params: () => [seconds] };
    }
    case 'select1':
      return { sql: 'SELECT 1', params: () => [] };
  }
}

/**
 * Closed-loop virtual clients: each borrows, runs one statement, releases, and goes
 * again, on whatever pool is active at that moment (a target switch takes them along).
 */
export class LoadDriver {
  readonly #log: EventLog;
  readonly #pool: () => InstrumentedPool;
  #generation = 0;
  #workers: Promise<void>[] = [];

  constructor(log: EventLog, pool: () => InstrumentedPool) {
    this.#log = log;
    this.#pool = pool;
  }

  async start(spec: LoadSpec): Promise<void> {
    await this.stop(false);
    const generation = ++this.#generation;
    this.#log.emit({ type: 'load.changed', running: true, concurrency: spec.concurrency, query: spec.query, sleepMs: spec.sleepMs ?? null });
    this.#workers = Array.from({ length: spec.concurrency }, (_, i) => this.#client(generation, i + 1, spec));
  }

  async stop(announce = true): Promise<void> {
    this.#generation++;
    const workers = this.#workers;
    this.#workers = [];
    await Promise.all(workers);
    const last = this.#log.live.load;
    if (announce && last?.running) this.#log.emit({ type: 'load.changed', ...last, running: false });
  }

  async #client(generation: number, n: number, spec: LoadSpec): Promise<void> {
    while (generation === this.#generation) {
      let pool: InstrumentedPool;
      try {
        pool = this.#pool();
      } catch {
        return; // the engine stopped
      }
      const { sql, params } = statement(pool.target.engine, spec);
      try {
        const lease = await pool.borrow({ label: `load #${n}` });
        try {
          await lease.query(sql, params());
        } finally {
          lease.release();
        }
      } catch {
        // The failure is already an event (timeout, failed borrower, statement error);
        // pause so that a dead target does not spin the loop.
        await new Promise((r) => setTimeout(r, ERROR_PAUSE_MS));
      }
    }
  }
}
