// The replay's clock: where in the recording's own time a replay stands, playing at 1x to
// 10x from a wall clock the caller passes in (performance.now() on the page, numbers in the
// tests). Plain TypeScript, no timers: the inspector reads at(now) once per frame.

export const REPLAY_SPEEDS = [1, 2, 5, 10] as const;
export type ReplaySpeed = (typeof REPLAY_SPEEDS)[number];

export class ReplayClock {
  /** The recording's first and last event times. */
  readonly start: number;
  readonly end: number;
  #speed: ReplaySpeed = 1;
  #playing = false;
  /** Recording time at the last play, seek or speed change, and the wall time then. */
  #from: number;
  #wallFrom = 0;

  constructor(start: number, end: number) {
    this.start = start;
    this.end = Math.max(start, end);
    this.#from = this.start;
  }

  get speed(): ReplaySpeed {
    return this.#speed;
  }

  get playing(): boolean {
    return this.#playing;
  }

  /** The recording time shown at wall time `now`; playing stops at the end. */
  at(now: number): number {
    if (!this.#playing) return this.#from;
    const t = this.#from + (now - this.#wallFrom) * this.#speed;
    if (t < this.end) return t;
    this.#from = this.end;
    this.#playing = false;
    return this.end;
  }

  /** Plays from where it stands; from the start again when it stands at the end. */
  play(now: number): void {
    if (this.#playing) return;
    if (this.#from >= this.end) this.#from = this.start;
    this.#wallFrom = now;
    this.#playing = this.#from < this.end;
  }

  pause(now: number): void {
    this.#from = this.at(now);
    this.#playing = false;
  }

  setSpeed(speed: ReplaySpeed, now: number): void {
    this.#from = this.at(now);
    this.#wallFrom = now;
    this.#speed = speed;
  }

  /** Moves to recording time `t` (a scrubber drag, a mark, a step); keeps playing if it was. */
  seek(t: number, now: number): void {
    this.#from = Math.min(this.end, Math.max(this.start, t));
    this.#wallFrom = now;
    if (this.#from >= this.end) this.#playing = false;
  }
}
