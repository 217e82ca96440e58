import type { Socket } from 'node:net';

/** The toxics one direction of a connection obeys (read live, on every chunk). */
export interface Shaping {
  latencyMs: number;
  jitterMs: number;
  bandwidthKbps: number;
  blackhole: boolean;
}

// Above this many queued bytes the source is paused, so a slow or blackholed direction
// pushes back through TCP flow control instead of buffering without bound; reading resumes
// once the queue has drained below the low mark (hysteresis: not a pause per chunk).
// While paused, the source's end (or reset) waits unseen behind the unread bytes.
const HIGH_WATER = 256 * 1024;
const LOW_WATER = 64 * 1024;
// The token bucket holds this much time's worth of bytes: small enough that a limit is
// felt at once, large enough that a 50 KB/s link is not written 2 bytes at a time.
const BURST_MS = 50;

/** A chunk, or the end of the stream (null), and when latency lets it go. */
interface Item {
  chunk: Buffer | null;
  dueAt: number;
}

const now = (): number => performance.now();

function delayOf(s: Shaping): number {
  const jitter = s.jitterMs > 0 ? (Math.random() * 2 - 1) * s.jitterMs : 0;
  return Math.max(0, s.latencyMs + jitter);
}

const passesThrough = (s: Shaping): boolean =>
  s.latencyMs === 0 && s.jitterMs === 0 && s.bandwidthKbps === 0 && !s.blackhole;

/**
 * One direction of a proxied connection: reads `src`, writes `dst` under latency, jitter,
 * bandwidth and blackhole. Bytes keep their order: a chunk leaves no earlier than the one
 * before it. The end of `src` travels the same queue, so a half-close arrives after the
 * data that preceded it. With no toxics and nothing queued, chunks are written straight
 * through (no timer, no queue entry).
 *
 * `dst` may be attached later: a connection accepted during a blackhole has no upstream yet.
 */
export class DelayedPipe {
  readonly #src: Socket;
  #dst: Socket | null;
  readonly #shaping: () => Shaping;
  readonly #forwarded: (bytes: number) => void;

  #queue: Item[] = [];
  #queuedBytes = 0;
  #lastDueAt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #waitingDrain = false;
  #paused = false;
  #dropped = false;
  #srcEnded = false;
  #endDelivered = false;

  // Token bucket; `#rate` is in bytes per millisecond, which is numerically KB/s (1 KB =
  // 1000 bytes, as Toxiproxy's bandwidth toxic). 0 = unlimited.
  #rate = 0;
  #tokens = 0;
  #refilledAt = 0;

  constructor(src: Socket, dst: Socket | null, shaping: () => Shaping, forwarded: (bytes: number) => void) {
    this.#src = src;
    this.#dst = dst;
    this.#shaping = shaping;
    this.#forwarded = forwarded;
    this.#setRate(shaping().bandwidthKbps);
    src.on('data', this.#onData);
    src.on('end', this.#onEnd);
  }

  /** The source has sent its end, and it has not been passed on yet. */
  get endPending(): boolean {
    return this.#srcEnded && !this.#endDelivered;
  }

  attach(dst: Socket): void {
    this.#dst = dst;
    this.#pump();
  }

  /** The toxics changed: a new rate applies from now, and held data may be due. */
  retune(): void {
    this.#refill();
    this.#setRate(this.#shaping().bandwidthKbps);
    this.#pump();
  }

  /** Forget everything queued and never write again (the connection is being torn down). */
  drop(): void {
    this.#dropped = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#clearTimer();
  }

  #onData = (chunk: Buffer): void => {
    if (this.#dropped) return;
    const shaping = this.#shaping();
    if (this.#queue.length === 0 && passesThrough(shaping) && this.#dst && !this.#waitingDrain) {
      this.#write(this.#dst, chunk);
    } else {
      this.#enqueue(chunk, shaping);
      this.#deliverDue();
    }
    this.#flowControl();
  };

  #onEnd = (): void => {
    this.#srcEnded = true;
    if (this.#dropped) return;
    this.#enqueue(null, this.#shaping());
    this.#pump();
  };

  #enqueue(chunk: Buffer | null, shaping: Shaping): void {
    // max(): a short delay after a long one must not overtake it.
    this.#lastDueAt = Math.max(this.#lastDueAt, now() + delayOf(shaping));
    this.#queue.push({ chunk, dueAt: this.#lastDueAt });
    this.#queuedBytes += chunk?.length ?? 0;
  }

  #pump(): void {
    this.#deliverDue();
    this.#flowControl();
  }

  /** Writes every queued chunk that latency and bandwidth let go now; one timer for the rest. */
  #deliverDue(): void {
    this.#clearTimer();
    const dst = this.#dst;
    while (this.#queue.length > 0) {
      if (this.#dropped || !dst || this.#waitingDrain || this.#shaping().blackhole) return;
      const head = this.#queue[0]!;
      const t = now();
      if (head.dueAt > t) return this.#wakeIn(head.dueAt - t);
      if (head.chunk === null) {
        this.#queue.shift();
        this.#endDelivered = true;
        dst.end();
        return;
      }
      let piece = head.chunk;
      if (this.#rate > 0) {
        this.#refill();
        const want = Math.min(piece.length, Math.max(1, Math.floor(this.#rate * BURST_MS)));
        if (this.#tokens < want) return this.#wakeIn((want - this.#tokens) / this.#rate);
        this.#tokens -= want;
        piece = piece.subarray(0, want);
      }
      if (piece.length === head.chunk.length) this.#queue.shift();
      else head.chunk = head.chunk.subarray(piece.length);
      this.#queuedBytes -= piece.length;
      this.#write(dst, piece);
    }
  }

  #write(dst: Socket, piece: Buffer): void {
    if (dst.destroyed || dst.writableEnded) return;
    this.#forwarded(piece.length);
    if (!dst.write(piece)) {
      this.#waitingDrain = true;
      dst.once('drain', () => {
        this.#waitingDrain = false;
        this.#pump();
      });
    }
  }

  #flowControl(): void {
    if (this.#dropped) return;
    const full = this.#waitingDrain || this.#queuedBytes > HIGH_WATER;
    if (full && !this.#paused) {
      this.#paused = true;
      this.#src.pause();
    } else if (this.#paused && !this.#waitingDrain && this.#queuedBytes <= LOW_WATER) {
      this.#paused = false;
      this.#src.resume();
    }
  }

  #setRate(kbps: number): void {
    // A new limit starts with a full bucket; a changed one keeps what fits.
    this.#tokens = this.#rate === 0 ? kbps * BURST_MS : Math.min(this.#tokens, kbps * BURST_MS);
    this.#rate = kbps;
    this.#refilledAt = now();
  }

  #refill(): void {
    const t = now();
    if (this.#rate > 0) this.#tokens = Math.min(this.#rate * BURST_MS, this.#tokens + (t - this.#refilledAt) * this.#rate);
    this.#refilledAt = t;
  }

  #wakeIn(ms: number): void {
    // Timers may fire a little early against performance.now(): #deliverDue re-checks.
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#pump();
    }, Math.max(1, Math.ceil(ms)));
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
