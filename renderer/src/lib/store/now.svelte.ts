// One ticking "now" for every time display ("3.2 s in state"), instead of a timer per row.
// It is engine time: the local clock minus the offset the inspector estimates from the
// batches it receives (see clock-sync.ts).

export const TICK_MS = 250;

export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

class Ticker {
  #now = $state(wallNow());
  #offset = 0;
  #pinned: number | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #users = 0;
  /** Wall time of the last tick or refresh. */
  #tickedAt = 0;

  /** Engine time, refreshed every TICK_MS while someone has called start(). */
  get now(): number {
    return this.#now;
  }

  /** local - engine, in ms. */
  set offset(ms: number) {
    this.#offset = ms;
  }

  /**
   * Stops the clock at engine time `t` (a replayed moment: "3.2 s in state" is measured from
   * then), or lets it run again (null).
   */
  pin(t: number | null): void {
    this.#pinned = t;
    this.#tick();
  }

  /** Reads the clock now (the inspector does when it publishes new state, so rows never look ahead of `now`). */
  refresh(): void {
    this.#tick();
  }

  start(): () => void {
    if (this.#users++ === 0) {
      this.#tick();
      // A refresh by a publish just now counts as this tick: every time display re-renders
      // once, not twice (under load the view publishes several times a second).
      this.#timer = setInterval(() => {
        if (wallNow() - this.#tickedAt >= TICK_MS / 2) this.#tick();
      }, TICK_MS);
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      if (--this.#users === 0 && this.#timer !== null) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }

  #tick(): void {
    this.#tickedAt = wallNow();
    this.#now = this.#pinned ?? this.#tickedAt - this.#offset;
  }
}

export const clock = new Ticker();
