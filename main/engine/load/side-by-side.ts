import type { SideStats } from '../../../shared/events';
import { emptyHistogram, quantile, record } from '../../../shared/histogram';
import { type Clock, every } from '../clock';

const STATS_MS = 500;
const ERROR_PAUSE_MS = 100;

/** One way of serving a request; `request` throws when it failed (its events say why). */
export interface Side {
  name: string;
  request(label: string): Promise<void>;
}

function window() {
  return { requests: 0, ok: 0, failed: 0, latency: emptyHistogram() };
}

function statsOf(w: ReturnType<typeof window>): SideStats {
  return { requests: w.requests, ok: w.ok, failed: w.failed, p50Ms: quantile(w.latency, 0.5), p99Ms: quantile(w.latency, 0.99) };
}

/**
 * Runs `concurrency` closed-loop clients per side at once, so both sides meet the same
 * machine and database, and reports every interval what each side served.
 */
export class SideBySide {
  readonly #clock: Clock;
  #running = false;
  #clients: Promise<void>[] = [];
  #windows = new Map<string, ReturnType<typeof window>>();
  /** Since start, per side. */
  #totals = new Map<string, ReturnType<typeof window>>();
  #stopStats: (() => void) | null = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Without `onStats`, only totals() reports. */
  start(concurrency: number, sides: Side[], onStats?: (bySide: Record<string, SideStats>, intervalMs: number) => void): void {
    this.#running = true;
    for (const s of sides) {
      this.#windows.set(s.name, window());
      this.#totals.set(s.name, window());
    }
    if (onStats) {
      this.#stopStats = every(this.#clock, STATS_MS, () => {
        const bySide: Record<string, SideStats> = {};
        for (const [name, w] of this.#windows) {
          bySide[name] = statsOf(w);
          this.#windows.set(name, window());
        }
        onStats(bySide, STATS_MS);
      });
    }
    for (let i = 1; i <= concurrency; i++) for (const s of sides) this.#clients.push(this.#client(s, `${s.name} #${i}`));
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#stopStats?.();
    this.#stopStats = null;
    const clients = this.#clients;
    this.#clients = [];
    await Promise.all(clients);
    this.#windows.clear();
  }

  /** What each side served since the last start; read before stop() to leave out the requests it waits for. */
  totals(): Record<string, SideStats> {
    const bySide: Record<string, SideStats> = {};
    for (const [name, w] of this.#totals) bySide[name] = statsOf(w);
    return bySide;
  }

  async #client(side: Side, label: string): Promise<void> {
    while (this.#running) {
      const w = this.#windows.get(side.name);
      const total = this.#totals.get(side.name);
      if (!w || !total) return;
      const started = this.#clock.now();
      w.requests++;
      total.requests++;
      try {
        await side.request(label);
        const ms = this.#clock.now() - started;
        w.ok++;
        total.ok++;
        record(w.latency, ms);
        record(total.latency, ms);
      } catch {
        w.failed++;
        total.failed++;
        await new Promise((r) => this.#clock.setTimer(() => r(undefined), ERROR_PAUSE_MS));
      }
    }
  }
}
