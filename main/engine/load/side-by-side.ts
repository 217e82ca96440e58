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

type Stats = (bySide: Record<string, SideStats>, intervalMs: number) => void;

/**
 * Runs `concurrency` closed-loop clients per side and reports every interval what each
 * side served. Together, both sides meet the same machine and database at once. Taking
 * turns (`alternate`), each side runs alone for an interval, then waits for the others:
 * on a machine with few cores, sides that run together slow each other down (a handshake
 * burns the CPU the pooled side needs), so turns measure each side as it would run alone,
 * the way a benchmark interleaves its runs.
 */
export class SideBySide {
  readonly #clock: Clock;
  #running = false;
  #clients: Promise<void>[] = [];
  #windows = new Map<string, ReturnType<typeof window>>();
  /** Since start, per side. */
  #totals = new Map<string, ReturnType<typeof window>>();
  #stopStats: (() => void) | null = null;
  /** Taking turns: the side whose clients may start requests now (null: none), and a wake-up for the rest. */
  #alternate = false;
  #turn: string | null = null;
  #turnChanged: (() => void)[] = [];
  readonly #inFlight = new Map<string, number>();
  #drained: (() => void) | null = null;
  #wake: (() => void) | null = null;
  #turns: Promise<void> | null = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Without `onStats`, only totals() reports. */
  start(concurrency: number, sides: Side[], onStats?: Stats, opts: { alternate?: boolean } = {}): void {
    this.#running = true;
    for (const s of sides) {
      this.#windows.set(s.name, window());
      this.#totals.set(s.name, window());
      this.#inFlight.set(s.name, 0);
    }
    this.#alternate = opts.alternate ?? false;
    if (this.#alternate) {
      this.#turns = this.#takeTurns(sides, onStats);
    } else if (onStats) {
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
    this.#wake?.();
    this.#setTurn(null);
    const clients = this.#clients;
    this.#clients = [];
    await Promise.all(clients);
    await this.#turns;
    this.#turns = null;
    this.#windows.clear();
  }

  /** Each side in turn runs alone for an interval; after a full round, every side's interval is reported. */
  async #takeTurns(sides: Side[], onStats?: Stats): Promise<void> {
    while (this.#running) {
      for (const side of sides) {
        this.#setTurn(side.name);
        await new Promise<void>((resolve) => {
          const timer = this.#clock.setTimer(() => wake(), STATS_MS);
          const wake = () => {
            this.#clock.clearTimer(timer);
            this.#wake = null;
            resolve();
          };
          this.#wake = wake;
        });
        // Requests started in this turn finish before the next side starts, and count in this turn.
        this.#setTurn(null);
        if ((this.#inFlight.get(side.name) ?? 0) > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
        this.#drained = null;
        if (!this.#running) return;
      }
      const bySide: Record<string, SideStats> = {};
      for (const [name, w] of this.#windows) {
        bySide[name] = statsOf(w);
        this.#windows.set(name, window());
      }
      onStats?.(bySide, STATS_MS);
    }
  }

  #setTurn(name: string | null): void {
    this.#turn = name;
    for (const wake of this.#turnChanged.splice(0)) wake();
  }

  /** Resolves when `name` may start a request: at once, unless sides take turns and it is another's. */
  async #myTurn(name: string): Promise<void> {
    while (this.#running && this.#alternate && this.#turn !== name) await new Promise<void>((resolve) => this.#turnChanged.push(resolve));
  }

  /** What each side served since the last start; read before stop() to leave out the requests it waits for. */
  totals(): Record<string, SideStats> {
    const bySide: Record<string, SideStats> = {};
    for (const [name, w] of this.#totals) bySide[name] = statsOf(w);
    return bySide;
  }

  /**
   * Counts a finished request (`ms` null: it failed) in the window open when it ENDS: counted
   * where it started, a request longer than a window landed in one already reported and the
   * panel showed 0 req/s and no latency while requests were completing.
   */
  #count(name: string, total: ReturnType<typeof window>, ms: number | null): void {
    // After stop() the windows are gone: the request still counts in the totals.
    for (const w of [this.#windows.get(name), total]) {
      if (!w) continue;
      w.requests++;
      if (ms === null) {
        w.failed++;
      } else {
        w.ok++;
        record(w.latency, ms);
      }
    }
  }

  async #client(side: Side, label: string): Promise<void> {
    while (this.#running) {
      await this.#myTurn(side.name);
      if (!this.#running) return;
      const total = this.#totals.get(side.name);
      if (!total) return;
      const started = this.#clock.now();
      this.#inFlight.set(side.name, (this.#inFlight.get(side.name) ?? 0) + 1);
      let failed = false;
      try {
        await side.request(label);
        this.#count(side.name, total, this.#clock.now() - started);
      } catch {
        this.#count(side.name, total, null);
        failed = true;
      } finally {
        const left = (this.#inFlight.get(side.name) ?? 1) - 1;
        this.#inFlight.set(side.name, left);
        if (left === 0 && this.#turn !== side.name) this.#drained?.();
      }
      if (failed && this.#running) await new Promise((r) => this.#clock.setTimer(() => r(undefined), ERROR_PAUSE_MS));
    }
  }
}
