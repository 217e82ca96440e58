// Engine time as seen from the renderer. Engine events carry the engine's clock
// (milliseconds since the epoch); a batch reaches us some time after its last event, and
// longer when the engine is busy. Durations shown as "now - since" would include that
// delay (a borrower that waited 3 ms would read "waited 700 ms" behind a saturated
// engine), and any skew between the two processes' clocks. So the renderer estimates
// the offset as the smallest (arrival - event time) seen over a recent window, and shows
// durations against `local now - offset`.

export const CLOCK_WINDOW_MS = 5_000;

export class ClockSync {
  readonly windowMs: number;
  /** local - engine, in ms; 0 until a batch was seen. */
  #offset: number | null = null;
  #windowMin = Infinity;
  #windowStart = -Infinity;

  constructor(windowMs = CLOCK_WINDOW_MS) {
    this.windowMs = windowMs;
  }

  get offset(): number {
    return this.#offset ?? 0;
  }

  /** A batch arrived at `localNow` whose newest event is stamped `engineT`. */
  observe(localNow: number, engineT: number): void {
    if (!Number.isFinite(engineT)) return;
    const d = localNow - engineT;
    if (localNow - this.#windowStart >= this.windowMs) {
      // A new window: the last one's minimum is the estimate (delays may have grown).
      if (this.#windowMin !== Infinity) this.#offset = this.#windowMin;
      this.#windowMin = Infinity;
      this.#windowStart = localNow;
    }
    if (d < this.#windowMin) this.#windowMin = d;
    if (this.#offset === null || d < this.#offset) this.#offset = d;
  }

  engineNow(localNow: number): number {
    return localNow - this.offset;
  }
}
