import { type FaultKind, type Recovery, failureGroup } from '../../../shared/faults';
import type { Clock } from '../clock';
import type { Engine } from '../engine';

/** Between two probes while the pool does not serve yet. */
const PROBE_PAUSE_MS = 100;
/** A probe that never succeeds gives up after this long (the window closes without servedAt). */
const PROBE_GIVE_UP_MS = 120_000;
/** After the pool serves again, time for dropped connections' sockets to close before they are counted. */
const SETTLE_MS = 1_000;
const PROBE_LABEL = 'recovery probe';

interface Window {
  recovery: Recovery;
  failures: Map<string, number>;
  lifted: boolean;
}

/** Messages that differ only in a measured time are the same failure. */

/**
 * Measures each outage from the fault to the pool serving again: the borrowers and
 * statements that failed meanwhile (by message), connections lost and opened, and,
 * once the pool serves, the sockets left open by connections it dropped. "Serves" is
 * proven, not assumed: after the fault is lifted a probe borrows and runs `SELECT 1`
 * through the active pool until it succeeds.
 */
export class RecoveryWatch {
  readonly #engine: Engine;
  readonly #clock: Clock;
  readonly #windows = new Map<number, Window>();
  /** The probe's own borrowers and the connections they hold: their failures are not the app's. */
  readonly #probes = new Set<string>();
  readonly #probeConns = new Set<string>();
  readonly #running = new Set<Promise<void>>();
  #nextId = 0;
  #stopped = false;
  readonly #unsubscribe: () => void;
  /** Held while an outage is measured: every failed statement is its own event then. */
  #everyEvent: (() => void) | null = null;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#clock = engine.clock;
    // Outside an outage the log may fold served borrowers (EventLog); a summary delivered
    // after one began still counts its failures, under its last error.
    this.#unsubscribe = engine.log.subscribe(
      (e) => {
        if (this.#windows.size === 0) return;
        switch (e.type) {
          case 'borrower.enqueued':
            if (e.label === PROBE_LABEL) this.#probes.add(e.borrowerId);
            return;
          case 'borrower.acquired':
            if (this.#probes.has(e.borrowerId)) this.#probeConns.add(e.connId);
            return;
          case 'borrower.released':
            if (this.#probes.delete(e.borrowerId)) this.#probeConns.delete(e.connId);
            return;
          case 'borrower.cancelled':
            this.#probes.delete(e.borrowerId);
            return;
          case 'borrower.failed':
          case 'borrower.timedout':
            if (this.#probes.delete(e.borrowerId)) return;
            this.#count((w) => this.#fail(w, e.message));
            return;
          case 'statement.finished':
            if (e.error !== null && !this.#probeConns.has(e.connId)) this.#count((w) => this.#fail(w, e.error as string));
            return;
          case 'connection.opened':
            this.#count((w) => w.recovery.opened++);
            return;
          case 'connection.closed':
            if (e.reason === 'error' || e.reason === 'terminated by server') this.#count((w) => w.recovery.lost++);
            return;
          case 'borrower.summary':
            if (e.lastError !== null) this.#count((w) => this.#fail(w, e.lastError as string, e.errors));
            return;
        }
      },
      { summaries: true },
    );
  }

  /** An outage starts now; `lift` ends it. Returns its id. */
  begin(kind: FaultKind, detail: string): number {
    const faultId = ++this.#nextId;
    const startedAt = this.#clock.now();
    this.#everyEvent ??= this.#engine.log.everyEvent();
    this.#windows.set(faultId, {
      recovery: { faultId, kind, detail, startedAt, clearedAt: null, servedAt: null, failures: [], lost: 0, opened: 0, socketsLeftOpen: null },
      failures: new Map(),
      lifted: false,
    });
    this.#engine.log.emit({ type: 'fault.injected', faultId, kind, detail });
    return faultId;
  }

  /** The fault is gone: probe until the pool serves, then report. */
  lift(faultId: number): void {
    const w = this.#windows.get(faultId);
    if (!w || w.lifted) return;
    w.lifted = true;
    w.recovery.clearedAt = this.#clock.now();
    this.#engine.log.emit({ type: 'fault.lifted', faultId });
    const p = this.#finish(w).finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  /** A fault that is over as soon as it is done (a reset, a terminate). */
  once(kind: FaultKind, detail: string): number {
    const id = this.begin(kind, detail);
    this.lift(id);
    return id;
  }

  /** The open outage of this kind, if any (a blackhole or a refusal toggled off). */
  openOf(kind: FaultKind): number | null {
    for (const [id, w] of this.#windows) if (w.recovery.kind === kind && !w.lifted) return id;
    return null;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    this.#quiet();
    await Promise.all(this.#running);
    this.#windows.clear();
  }

  #quiet(): void {
    this.#everyEvent?.();
    this.#everyEvent = null;
  }

  #count(fn: (w: Window) => void): void {
    for (const w of this.#windows.values()) if (w.recovery.servedAt === null) fn(w);
  }

  #fail(w: Window, message: string, count = 1): void {
    const key = failureGroup(message);
    w.failures.set(key, (w.failures.get(key) ?? 0) + count);
  }

  async #finish(w: Window): Promise<void> {
    const r = w.recovery;
    r.servedAt = await this.#probe();
    if (r.servedAt !== null) {
      await this.#sleep(SETTLE_MS);
      r.socketsLeftOpen = this.#engine.pools().reduce((n, p) => n + p.socketsLeftOpen(), 0);
    }
    r.failures = [...w.failures].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count);
    this.#windows.delete(r.faultId);
    if (this.#windows.size === 0) this.#quiet();
    if (!this.#stopped) this.#engine.log.emit({ type: 'fault.recovered', ...r });
  }

  /** When a borrow and `SELECT 1` on the active pool first succeeded; null if it never did. */
  async #probe(): Promise<number | null> {
    const giveUpAt = this.#clock.now() + PROBE_GIVE_UP_MS;
    while (!this.#stopped && this.#clock.now() < giveUpAt) {
      try {
        await this.#engine.pool.query('SELECT 1', undefined, { label: PROBE_LABEL, site: 'Poolscope (recovery probe)' });
        return this.#clock.now();
      } catch {
        // Still failing (or a pool swap ended the one asked): look again shortly.
        await this.#sleep(PROBE_PAUSE_MS);
      }
    }
    return null;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((r) => this.#clock.setTimer(() => r(), ms));
  }
}
