import type { PoolEvent } from '../../shared/events';
import type { Recording } from '../../shared/scenario';
import type { Snapshot } from '../../shared/snapshot';
import type { Clock } from './clock';
import { PoolscopeError } from './errors';
import type { EventLog } from './event-log';
import { jsonChunks } from './json-chunks';

/** Past this many events a recording stops by itself (about 1 GB of memory at worst), so a forgotten one cannot exhaust it. */
export const RECORDING_MAX_EVENTS = 2_000_000;

interface Active {
  recordedAt: string;
  target: string | null;
  initial: Snapshot;
  events: PoolEvent[];
  notes: { seq: number; text: string }[];
  unsubscribe: () => void;
}

/**
 * Keeps every event from record.start on, raw (never coalesced), with the snapshot just
 * before the first: the shared reducer rebuilds any moment of it with no database.
 */
export class SessionRecorder {
  readonly #log: EventLog;
  readonly #clock: Clock;
  #active: Active | null = null;
  /** A recording that stopped by itself, kept for the next record.stop. */
  #kept: Recording | null = null;

  constructor(log: EventLog, clock: Clock) {
    this.#log = log;
    this.#clock = clock;
  }

  get recording(): boolean {
    return this.#active !== null;
  }

  start(): void {
    if (this.#active) throw new PoolscopeError('recording', 'Already recording: stop the recording first.');
    this.#kept = null;
    const initial = this.#log.snapshot();
    const pool = initial.activePoolId === null ? undefined : initial.pools[initial.activePoolId];
    const active: Active = { recordedAt: new Date().toISOString(), target: pool?.target.display ?? null, initial, events: [], notes: [], unsubscribe: () => undefined };
    active.unsubscribe = this.#log.subscribe((e) => {
      active.events.push(e);
      if (e.type === 'scenario.noted') active.notes.push({ seq: e.seq, text: e.text });
      // Stopped outside this listener: an event emitted from inside one would reach the other listeners out of order.
      if (active.events.length === RECORDING_MAX_EVENTS) this.#clock.setTimer(() => this.#keep(active), 0);
    });
    this.#active = active;
    this.#log.emit({ type: 'record.changed', recording: true, fromSeq: initial.seq + 1 });
  }

  /**
   * Stops, and answers the recording's file text. At the cap that is hundreds of MB of JSON:
   * it is written a chunk at a time, the host serving between chunks, and travels as one
   * string (a copy over IPC, where an object of 2 M events is cloned field by field).
   */
  async stop(): Promise<string> {
    const recording = this.#take();
    const parts: string[] = [];
    for await (const part of jsonChunks(recording, 'events')) parts.push(part);
    try {
      return parts.join('');
    } catch (err) {
      // Past V8's longest string (about 512 M characters): say so, never crash.
      if (err instanceof RangeError) throw new PoolscopeError('recording', `This recording (${recording.events.length.toLocaleString('en')} events) is too large for one file; record a shorter stretch.`);
      throw err;
    }
  }

  #take(): Recording {
    const active = this.#active;
    if (active) return this.#finish(active);
    const kept = this.#kept;
    this.#kept = null;
    if (kept) return kept;
    throw new PoolscopeError('recording', 'Nothing is being recorded: start a recording first.');
  }

  #keep(active: Active): void {
    if (this.#active === active) this.#kept = this.#finish(active);
  }

  #finish(active: Active): Recording {
    this.#log.emit({ type: 'record.changed', recording: false, fromSeq: null });
    active.unsubscribe();
    this.#active = null;
    return { format: 'poolscope-recording', version: 1, recordedAt: active.recordedAt, target: active.target, initial: active.initial, events: active.events, notes: active.notes };
  }
}
