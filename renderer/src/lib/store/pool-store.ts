// The renderer's copy of the engine state, kept in step with the shared reducer.
//
// Order matters: subscribe first, then ask for the snapshot, so that no event falls
// between the two. Batches that arrive while the snapshot is on its way are buffered
// and, once it lands, those that reach past it (`to > seq`) are folded in. A batch that
// does not start right after the last one (`from !== lastTo + 1`: dropped on the way,
// the host restarted, the socket reconnected) throws the copy away and rebases on a new
// snapshot. Plain TypeScript, no DOM: the Svelte layer (inspector.svelte.ts) wraps it.

import type { Batch, Transport } from '../../../../shared/api';
import type { PoolEvent } from '../../../../shared/events';
import { applyBatch } from '../../../../shared/reducer';
import { emptySnapshot, type Snapshot } from '../../../../shared/snapshot';

export type SyncStatus =
  /** Waiting for the first snapshot. */
  | 'connecting'
  /** Folding batches as they come. */
  | 'live'
  /** A gap or a reconnect: fetching a new snapshot to rebase on. */
  | 'resyncing'
  /** The snapshot could not be fetched; retrying. */
  | 'offline'
  | 'stopped';

export interface PoolStoreListener {
  /** A new snapshot replaced the old one (first load or rebase). */
  rebased?(snapshot: Snapshot): void;
  /** These events were folded into the snapshot (already applied when this is called). */
  applied?(events: readonly PoolEvent[], snapshot: Snapshot): void;
  /** Status or error changed. */
  status?(status: SyncStatus, error: string | null): void;
}

export interface PoolStoreOptions {
  /** Delay before asking again for a snapshot that failed. */
  retryMs?: number;
  /** Batches kept while a snapshot is on its way; older ones are dropped (a later gap rebases again). */
  maxBuffered?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') return err.message;
  return String(err);
}

export class PoolStore {
  readonly #transport: Transport;
  readonly #listeners = new Set<PoolStoreListener>();
  readonly #retryMs: number;
  readonly #maxBuffered: number;
  readonly #setTimer: (fn: () => void, ms: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;

  #snapshot: Snapshot = emptySnapshot();
  #hasSnapshot = false;
  #lastTo = 0;
  /** Non-null while a snapshot is on its way: the batches that arrived meanwhile. */
  #buffer: Batch[] | null = null;
  #generation = 0;
  #status: SyncStatus = 'stopped';
  #error: string | null = null;
  #unsubscribe: (() => void) | null = null;
  #retry: unknown = null;

  /** Rebases since start (not counting the first snapshot). */
  rebases = 0;
  batches = 0;
  events = 0;

  constructor(transport: Transport, options: PoolStoreOptions = {}) {
    this.#transport = transport;
    this.#retryMs = options.retryMs ?? 1_000;
    this.#maxBuffered = options.maxBuffered ?? 2_000;
    this.#setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  /** The live snapshot. It is updated in place: read it, do not keep or change it. */
  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  get hasSnapshot(): boolean {
    return this.#hasSnapshot;
  }

  /** seq of the last batch folded in (the snapshot's seq after a rebase). */
  get lastTo(): number {
    return this.#lastTo;
  }

  get status(): SyncStatus {
    return this.#status;
  }

  get error(): string | null {
    return this.#error;
  }

  listen(l: PoolStoreListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  start(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.#transport.subscribe((batch) => this.#onBatch(batch));
    this.#fetch();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#generation++;
    this.#buffer = null;
    if (this.#retry !== null) this.#clearTimer(this.#retry);
    this.#retry = null;
    this.#setStatus('stopped', null);
  }

  /**
   * Rebases on a new snapshot (a reconnected transport calls this). A snapshot already on
   * its way will do, unless the last attempt failed and waits for its retry.
   */
  resync(): void {
    if (!this.#unsubscribe) return;
    if (this.#buffer !== null && this.#status !== 'offline') return;
    this.#fetch();
  }

  #fetch(): void {
    const generation = ++this.#generation;
    if (this.#retry !== null) this.#clearTimer(this.#retry);
    this.#retry = null;
    // Batches already buffered are older than the snapshot to come; keeping them costs
    // nothing (they are skipped by seq) and keeps a late straddling batch.
    this.#buffer ??= [];
    this.#setStatus(this.#hasSnapshot ? 'resyncing' : 'connecting', this.#error);
    this.#transport.invoke('snapshot.get', undefined).then(
      (res) => {
        if (generation !== this.#generation) return;
        this.#install(res.seq, res.snapshot);
      },
      (err: unknown) => {
        if (generation !== this.#generation) return;
        this.#setStatus('offline', `Could not read the engine state: ${messageOf(err)}`);
        this.#retry = this.#setTimer(() => {
          this.#retry = null;
          if (generation === this.#generation) this.#fetch();
        }, this.#retryMs);
      },
    );
  }

  #install(seq: number, snapshot: Snapshot): void {
    const buffered = this.#buffer ?? [];
    this.#buffer = null;
    if (this.#hasSnapshot) this.rebases++;
    this.#snapshot = snapshot;
    this.#snapshot.seq = seq;
    this.#lastTo = seq;
    this.#hasSnapshot = true;
    this.#setStatus('live', null);
    for (const l of this.#listeners) l.rebased?.(snapshot);
    for (let i = 0; i < buffered.length; i++) {
      const batch = buffered[i] as Batch;
      if (batch.to <= this.#lastTo) continue;
      if (batch.from > this.#lastTo + 1) {
        // Lost events even against the new snapshot: rebase again, keeping what is left.
        this.#buffer = buffered.slice(i);
        this.#fetch();
        return;
      }
      this.#apply(batch);
    }
  }

  #onBatch(batch: Batch): void {
    if (this.#buffer !== null) {
      this.#buffer.push(batch);
      if (this.#buffer.length > this.#maxBuffered) this.#buffer.shift();
      return;
    }
    if (!this.#hasSnapshot) return;
    if (batch.from === this.#lastTo + 1) {
      this.#apply(batch);
    } else {
      // A gap, a replay, or a host that restarted and counts from 1 again: whatever it is,
      // our copy no longer follows the engine's log.
      this.#buffer = [batch];
      this.#fetch();
    }
  }

  /** Folds a batch that starts at or before lastTo + 1 and ends after it. */
  #apply(batch: Batch): void {
    let events = batch.events;
    if (batch.from <= this.#lastTo) {
      // The snapshot fell inside this batch: fold only what came after it.
      const after = this.#lastTo;
      events = events.filter((e) => e.seq > after);
    }
    applyBatch(this.#snapshot, { to: batch.to, events });
    this.#lastTo = batch.to;
    this.batches++;
    this.events += events.length;
    for (const l of this.#listeners) l.applied?.(events, this.#snapshot);
  }

  #setStatus(status: SyncStatus, error: string | null): void {
    if (status === this.#status && error === this.#error) return;
    this.#status = status;
    this.#error = error;
    for (const l of this.#listeners) l.status?.(status, error);
  }
}
