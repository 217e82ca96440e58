import type { PatternSide, SideStats } from '../../../shared/events';
import type { Engine } from '../engine';
import type { Lease } from '../pool/lease';
import { SideBySide } from './side-by-side';

const IN_TX = 'in transaction';
const AFTER = 'after commit';
const EMPTY: SideStats = { requests: 0, ok: 0, failed: 0, p50Ms: null, p99Ms: null };

/**
 * The article's long transaction: an order written in a transaction that also waits for
 * a payment provider and an email service (simulated), against the same order committed
 * and the connection released before those calls. Both run on the active pool at once.
 */
export class Patterns {
  readonly #engine: Engine;
  readonly #runner: SideBySide;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#runner = new SideBySide(engine.clock);
  }

  async start(concurrency: number, paymentMs: number, emailMs: number): Promise<void> {
    await this.stop(false);
    const engine = this.#engine;
    const wait = (ms: number) => new Promise((r) => engine.clock.setTimer(() => r(undefined), ms));
    const insertOrder = (lease: Lease) =>
      lease.query(
        engine.pool.target.engine === 'postgres' ? "INSERT INTO orders (customer, status) VALUES ($1, 'pending')" : "INSERT INTO orders (customer, status) VALUES (?, 'pending')",
        ['checkout@example.com'],
      );
    const checkout = (payInside: boolean) => async (label: string) => {
      const lease = await engine.pool.borrow({ label, owner: this });
      try {
        await lease.query('BEGIN');
        await insertOrder(lease);
        if (payInside) {
          await wait(paymentMs);
          await wait(emailMs);
        }
        await lease.query('COMMIT');
      } catch (err) {
        if (lease.txStatus !== 'idle') await lease.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        lease.release();
      }
      if (!payInside) {
        await wait(paymentMs);
        await wait(emailMs);
      }
    };
    engine.log.emit({ type: 'pattern.changed', running: true, concurrency, paymentMs, emailMs });
    this.#runner.start(
      concurrency,
      [
        { name: IN_TX, request: checkout(true) },
        { name: AFTER, request: checkout(false) },
      ],
      (bySide, intervalMs) => {
        engine.log.emit({ type: 'pattern.stats', intervalMs, inTransaction: this.#side(IN_TX, bySide[IN_TX]), afterCommit: this.#side(AFTER, bySide[AFTER]) });
      },
    );
  }

  /** Requests waiting for a connection leave the line at once (borrower.cancelled); holders finish. */
  async stop(announce = true): Promise<void> {
    const stopped = this.#runner.stop();
    await Promise.all([stopped, this.#cancelWaiting()]);
    const last = this.#engine.log.live.patterns;
    if (announce && last?.running) this.#engine.log.emit({ type: 'pattern.changed', ...last, running: false });
  }

  async #cancelWaiting(): Promise<void> {
    let pool;
    try {
      pool = this.#engine.pool;
    } catch {
      return; // No active pool (the engine stopped): nothing waits on it.
    }
    await pool.cancelWaiting(this, 'the pattern stopped');
  }

  /** A side's stats with the connections its borrowers hold and wait for right now. */
  #side(name: string, stats: SideStats | undefined): PatternSide {
    let holding = 0;
    let waiting = 0;
    for (const b of Object.values(this.#engine.log.live.borrowers)) {
      if (!b.label.startsWith(`${name} #`)) continue;
      if (b.state === 'holding') holding++;
      else waiting++;
    }
    return { ...(stats ?? EMPTY), holding, waiting };
  }
}
