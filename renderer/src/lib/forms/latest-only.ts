// A control dragged across its range (the latency slider) produces a value per pixel.
// LatestOnly sends at most one command per interval, never two at once, and always ends
// with the last value: the link follows the drag live without hundreds of commands.

export class LatestOnly<T> {
  readonly #send: (value: T) => Promise<void>;
  readonly #intervalMs: number;
  readonly #onError: (message: string | null) => void;
  #pending: { value: T } | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #inFlight = false;

  constructor(send: (value: T) => Promise<void>, intervalMs: number, onError: (message: string | null) => void) {
    this.#send = send;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  /** Whether a value is waiting or being sent (the form should not be overwritten meanwhile). */
  get busy(): boolean {
    return this.#pending !== null || this.#inFlight;
  }

  push(value: T): void {
    this.#pending = { value };
    this.#schedule();
  }

  /** Drops a value not yet sent (the panel is going away). */
  cancel(): void {
    this.#pending = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#timer !== null || this.#inFlight || this.#pending === null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#flush();
    }, this.#intervalMs);
  }

  async #flush(): Promise<void> {
    const next = this.#pending;
    if (next === null) return;
    this.#pending = null;
    this.#inFlight = true;
    try {
      await this.#send(next.value);
      this.#onError(null);
    } catch (err) {
      this.#onError(err instanceof Error ? err.message : String(err));
    } finally {
      this.#inFlight = false;
      this.#schedule();
    }
  }
}
