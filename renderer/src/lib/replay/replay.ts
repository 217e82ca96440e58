// A recorded session played back with no database: any moment is rebuilt with the shared
// reducer from the recording's initial snapshot. Folding 100k events for every position of
// a dragged scrubber would stall it, so one pass at load keeps a copy of the snapshot every
// CHECKPOINT_EVERY events; a seek clones the nearest checkpoint at or before it and folds
// at most that many events. Plain TypeScript, no DOM (tests/unit/renderer-replay.test.ts).

import type { PoolEvent } from '../../../../shared/events';
import { type FaultKind, NO_TOXICS, REFUSED_BY_SERVER, type Toxics, recoveryMs } from '../../../../shared/faults';
import { reduce } from '../../../../shared/reducer';
import { type Recording, checkRecording } from '../../../../shared/scenario';
import type { Snapshot } from '../../../../shared/snapshot';
import { SAMPLE_MS, type SeriesColumns, SeriesSampler } from '../store/series';
import { KIND_LABEL, describeToxics, sameToxics } from '../faults/faults';
import { formatDuration, truncate } from '../format';

export const CHECKPOINT_EVERY = 500;
/** The charts show this much before the replayed moment, as the live ones do. */
export const SERIES_WINDOW_MS = 10 * 60 * 1_000;
/** Samples kept for the charts: two hours of recording at one every SAMPLE_MS. */
const MAX_SAMPLES = (2 * 60 * 60 * 1_000) / SAMPLE_MS;

export type ParsedRecording = { ok: true; recording: Recording } | { ok: false; error: string };

/** A recording file's text, checked (shared/scenario.ts checkRecording): the recording, or one sentence saying what is wrong. */
export function parseRecording(text: string): ParsedRecording {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `This file is not JSON (${err instanceof Error ? err.message : String(err)}).` };
  }
  const r = checkRecording(json);
  return r.ok ? r : { ok: false, error: `Not a recording Poolscope can open: ${r.error}.` };
}

export type MarkKind = 'timeout' | 'leak' | 'refusal' | 'fault' | 'recovery' | 'pool' | 'note';

/** A moment worth jumping to: the state right after the event at `seq`. */
export interface ReplayMark {
  kind: MarkKind;
  seq: number;
  t: number;
  label: string;
  /** Events it stands for: timeouts within TIMEOUT_BURST_MS of a burst's first are one mark. */
  count: number;
}

/** Timeouts this close after a burst's first are counted on its mark, not marked each (a spike times out thousands). */
export const TIMEOUT_BURST_MS = 1_000;

const REFUSED = new RegExp(`${REFUSED_BY_SERVER.source}|ECONNREFUSED`, 'i');

/**
 * Every notable moment, in seq order: each scenario note, each timeout (a burst as one mark
 * with its count), the first leak flagged, the first refusal, each fault set or cleared
 * (outages and the link's conditions), each pool created or ended, each recovery.
 */
export function findMarks(recording: Pick<Recording, 'events' | 'notes'>): ReplayMark[] {
  const marks: ReplayMark[] = [];
  const firsts = new Set<MarkKind>();
  const mark = (kind: MarkKind, e: PoolEvent, label: string) => void marks.push({ kind, seq: e.seq, t: e.t, label, count: 1 });
  const first = (kind: MarkKind, e: PoolEvent, label: string) => {
    if (firsts.has(kind)) return;
    firsts.add(kind);
    mark(kind, e, label);
  };
  const tOf = new Map<number, number>();
  const noted = new Set<number>();
  const outages = new Map<number, FaultKind>();
  let burst: ReplayMark | null = null;
  let link: Toxics = NO_TOXICS;
  for (const e of recording.events) {
    tOf.set(e.seq, e.t);
    switch (e.type) {
      case 'borrower.timedout':
        if (burst && e.t - burst.t <= TIMEOUT_BURST_MS) {
          burst.count++;
          burst.label = `${burst.count} timeouts within ${formatDuration(TIMEOUT_BURST_MS)}: ${truncate(e.message, 60)}`;
        } else {
          mark('timeout', e, `timeout: ${truncate(e.message, 80)}`);
          burst = marks.at(-1) ?? null;
        }
        break;
      case 'borrower.flagged':
        first('leak', e, `first leak flagged: held ${Math.round(e.heldMs)} ms`);
        break;
      case 'connection.closed':
        if (e.reason === 'connect failed' && e.error !== null && REFUSED.test(e.error)) first('refusal', e, `first refusal: ${truncate(e.error, 80)}`);
        break;
      case 'borrower.failed':
        if (REFUSED.test(e.message)) first('refusal', e, `first refusal: ${truncate(e.message, 80)}`);
        break;
      case 'fault.changed':
        if (!sameToxics(link, e.toxics)) mark('fault', e, sameToxics(e.toxics, NO_TOXICS) ? 'link faults cleared' : `link: ${describeToxics(e.toxics)}`);
        link = e.toxics;
        break;
      case 'fault.injected':
        outages.set(e.faultId, e.kind);
        mark('fault', e, `fault: ${KIND_LABEL[e.kind]}${e.detail ? ` (${truncate(e.detail, 60)})` : ''}`);
        break;
      case 'fault.lifted': {
        const kind = outages.get(e.faultId);
        mark('fault', e, `fault lifted${kind ? `: ${KIND_LABEL[kind]}` : ''}`);
        break;
      }
      case 'fault.recovered': {
        const ms = recoveryMs(e);
        mark('recovery', e, `recovered from ${KIND_LABEL[e.kind]}${ms === null ? '' : ` in ${formatDuration(ms)}`}`);
        break;
      }
      case 'pool.created':
        mark('pool', e, `pool ${e.poolId} created: ${truncate(e.target.display, 60)}, max ${e.settings.max}`);
        break;
      case 'pool.ended':
        mark('pool', e, `pool ${e.poolId} ended`);
        break;
      case 'scenario.noted':
        noted.add(e.seq);
        mark('note', e, `note: ${truncate(e.text, 80)}`);
        break;
    }
  }
  // Notes the recorder kept besides the events (a note without its event, say).
  for (const n of recording.notes) {
    if (!noted.has(n.seq)) marks.push({ kind: 'note', seq: n.seq, t: tOf.get(n.seq) ?? 0, label: `note: ${truncate(n.text, 80)}`, count: 1 });
  }
  return marks.sort((a, b) => a.seq - b.seq);
}

export class Replay {
  readonly recording: Recording;
  readonly checkpointEvery: number;
  readonly marks: ReplayMark[];
  /** The seq range the scrubber covers: the initial snapshot's, then each event's. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly #events: readonly PoolEvent[];
  /** checkpoints[k]: the snapshot after the first k * checkpointEvery events; never handed out. */
  readonly #checkpoints: Snapshot[] = [];
  readonly #series: SeriesColumns;
  /** Each event's time, never going back (an event may be stamped a moment before the one it follows): what the replay clock reads. */
  readonly #times: Float64Array;

  constructor(recording: Recording, checkpointEvery = CHECKPOINT_EVERY) {
    this.recording = recording;
    this.checkpointEvery = checkpointEvery;
    this.#events = recording.events;
    this.#times = new Float64Array(this.#events.length);
    let latest = -Infinity;
    for (const [i, e] of this.#events.entries()) this.#times[i] = latest = Math.max(latest, e.t);
    this.firstSeq = recording.initial.seq;
    this.lastSeq = this.#events.at(-1)?.seq ?? this.firstSeq;
    this.marks = findMarks(recording);

    const first = this.#events[0];
    const last = this.#events.at(-1);
    const span = first && last ? last.t - first.t : 0;
    const sampler = new SeriesSampler(Math.max(2, Math.min(MAX_SAMPLES, Math.ceil(span / SAMPLE_MS) + 2)));
    // The one pass at load: checkpoints, and the charts' samples at event time.
    const s = structuredClone(recording.initial);
    let sampleAt = first ? first.t : Infinity;
    for (let i = 0; i < this.#events.length; i++) {
      if (i % checkpointEvery === 0) this.#checkpoints.push(structuredClone(s));
      const e = this.#events[i] as PoolEvent;
      // A quiet stretch longer than the charts keep is skipped, not sampled slot by slot.
      if (e.t - sampleAt > MAX_SAMPLES * SAMPLE_MS) sampleAt = e.t - MAX_SAMPLES * SAMPLE_MS;
      for (; sampleAt <= e.t; sampleAt += SAMPLE_MS) sampler.sample(sampleAt, s);
      reduce(s, e);
    }
    if (this.#events.length === 0) this.#checkpoints.push(structuredClone(s));
    sampler.sample(sampleAt, s);
    this.#series = sampler.columns();
  }

  get eventCount(): number {
    return this.#events.length;
  }

  /** How many events have a seq at or before `seq`. */
  countAt(seq: number): number {
    let lo = 0;
    let hi = this.#events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#events[mid] as PoolEvent).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The snapshot after every event up to `seq`: a new object, the caller's to keep. */
  at(seq: number): Snapshot {
    const n = this.countAt(seq);
    const k = Math.min(Math.floor(n / this.checkpointEvery), this.#checkpoints.length - 1);
    const s = structuredClone(this.#checkpoints[k] as Snapshot);
    for (let i = k * this.checkpointEvery; i < n; i++) reduce(s, this.#events[i] as PoolEvent);
    return s;
  }

  /** The recording's first and last moments (its first event's time for an empty one: 0). */
  get startT(): number {
    return this.#times[0] ?? 0;
  }

  get endT(): number {
    return this.#times.at(-1) ?? 0;
  }

  /** The time of the last event at or before `seq`; the first event's before any. */
  timeAt(seq: number): number {
    const n = this.countAt(seq);
    return n === 0 ? this.startT : (this.#times[n - 1] as number);
  }

  /** The seq shown at time `t` of the recording: the last event at or before it (the start before the first). */
  seqAtTime(t: number): number {
    let lo = 0;
    let hi = this.#times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#times[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? this.firstSeq : (this.#events[lo - 1] as PoolEvent).seq;
  }

  /** The event at exactly `seq`, if one has it. */
  eventAt(seq: number): PoolEvent | null {
    const n = this.countAt(seq);
    const e = this.#events[n - 1];
    return e && e.seq === seq ? e : null;
  }

  /** The seq one event before / after `seq` (clamped to the range). */
  prevSeq(seq: number): number {
    const n = this.countAt(seq);
    const at = this.#events[n - 1];
    // On an event: the one before it; between two: the one before the position.
    const i = at && at.seq === seq ? n - 2 : n - 1;
    return i < 0 ? this.firstSeq : (this.#events[i] as PoolEvent).seq;
  }

  nextSeq(seq: number): number {
    return this.#events[this.countAt(seq)]?.seq ?? this.lastSeq;
  }

  /** The last `limit` events at or before `seq`, oldest first (for the journal). */
  eventsBefore(seq: number, limit: number): PoolEvent[] {
    const n = this.countAt(seq);
    return this.#events.slice(Math.max(0, n - limit), n);
  }

  /** The charts' samples from SERIES_WINDOW_MS before `t` up to `t`. */
  seriesAt(t: number): SeriesColumns {
    const times = this.#series.t;
    let from = 0;
    while (from < times.length && (times[from] as number) * 1_000 < t - SERIES_WINDOW_MS) from++;
    let to = from;
    while (to < times.length && (times[to] as number) * 1_000 <= t) to++;
    const out = { t: times.slice(from, to) } as SeriesColumns;
    for (const [k, col] of Object.entries(this.#series)) if (k !== 't') (out as Record<string, unknown>)[k] = col.slice(from, to);
    return out;
  }
}
