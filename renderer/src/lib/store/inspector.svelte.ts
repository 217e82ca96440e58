// The Svelte side of the store: the plain-TypeScript parts (PoolStore, SeriesSampler,
// StateHistory, EventJournal, Replay) do the work; this class publishes what the components
// read as `$state.raw` values, on animation frames (at most one publish per frame, the
// view at most every VIEW_MIN_MS, the journal every JOURNAL_REFRESH_MS) however fast
// batches come.
//
// Two sources, one set of published values: `mode` 'live' publishes the engine's snapshot
// (PoolStore), 'replay' a moment of an opened recording (Replay). Both go through buildView,
// so every panel shows either without knowing which. The live store keeps folding batches
// during a replay; leaving it publishes the live state at once.

import type { Transport } from '../../../../shared/api';
import type { Commands, LoadSpec, PoolSettingsInput, SavedTarget, TargetRequest } from '../../../../shared/api';
import type { PoolEvent, TargetInfo } from '../../../../shared/events';
import type { TargetFields } from '../../../../shared/target-schema';
import type { Toxics } from '../../../../shared/faults';
import type { ScenarioInfo } from '../../../../shared/scenario';
import { Replay, type ReplayMark, parseRecording } from '../replay/replay';
import { ReplayClock, type ReplaySpeed } from '../replay/replay-clock';
import { EventJournal, JOURNAL_CAPACITY, type JournalEntry, type JournalFilter, NO_FILTER } from './journal';
import { type SyncStatus, PoolStore, messageOf } from './pool-store';
import { SAMPLE_MS, type SeriesColumns, SeriesSampler } from './series';
import { StateHistory } from './state-history';
import { type InspectorView, buildView, emptyView } from './view';
import { ClockSync } from './clock-sync';
import { clock, wallNow } from './now.svelte';

/** State of the link to the engine, for transports that report it (the WebSocket one does). */
export type LinkState = 'connecting' | 'open' | 'reconnecting' | 'closed';

interface LinkReporting {
  readonly state: LinkState;
  /** Why the host closed the link (or why there is none), as it said it. */
  readonly reason: string | null;
  onState(listener: (state: LinkState, reason: string | null) => void): () => void;
}

function reportsLink(t: Transport): t is Transport & LinkReporting {
  return typeof (t as Partial<LinkReporting>).onState === 'function' && typeof (t as Partial<LinkReporting>).state === 'string';
}

export interface JournalPage {
  /** Newest first, every stored entry that matches (the list renders only what is visible). */
  entries: JournalEntry[];
  /** Entries kept in the ring, and how many of them match the filter. */
  stored: number;
  matching: number;
  received: number;
  skipped: number;
  paused: boolean;
}

/** The journal list is refreshed at most this often: readable, and cheap under a flood. */
const JOURNAL_REFRESH_MS = 200;
/**
 * The snapshot view is republished at most this often (and only on an animation frame):
 * under a flood of events every publish relays out and repaints the tables (at 10 a second,
 * one publish in three missed its frame in tests/bench's view run), and numbers changing
 * more often than a few times a second cannot be read anyway.
 */
const VIEW_MIN_MS = 200;

export type InspectorMode = 'live' | 'replay';

/** Where a replay stands, for the replay bar. */
export interface ReplayPosition {
  fileName: string;
  target: string | null;
  recordedAt: string;
  firstSeq: number;
  lastSeq: number;
  seq: number;
  /** The event at this position; null at the start (the initial snapshot) or between two. */
  event: PoolEvent | null;
  /** Since the recording's first event. */
  elapsedMs: number;
  eventCount: number;
  marks: ReplayMark[];
  playing: boolean;
  speed: ReplaySpeed;
}

/** How often a playing replay moves its position: about 30 times a second (each move rebuilds at most one frame). */
const REPLAY_TICK_MS = 33;

const NO_LANES: ReadonlyMap<string, Uint8Array> = new Map();

export interface SyncInfo {
  status: SyncStatus;
  error: string | null;
  rebases: number;
}

export class Inspector {
  /** Everything derived from the snapshot, rebuilt at most once per frame. */
  view = $state.raw<InspectorView>(emptyView());
  /** Sampled series (500 ms, 10 min), republished after each sample. */
  series = $state.raw<SeriesColumns>(new SeriesSampler(1).columns());
  /** Swimlanes: per connection, oldest first, one state code per 500 ms slot. */
  lanes = $state.raw<ReadonlyMap<string, Uint8Array>>(new StateHistory().copy());
  journal = $state.raw<JournalPage>({ entries: [], stored: 0, matching: 0, received: 0, skipped: 0, paused: false });
  sync = $state.raw<SyncInfo>({ status: 'stopped', error: null, rebases: 0 });
  link = $state<LinkState>('open');
  linkReason = $state<string | null>(null);
  mode = $state<InspectorMode>('live');
  /** The opened recording and the moment shown; null in live mode. */
  replay = $state.raw<ReplayPosition | null>(null);

  readonly store: PoolStore;
  readonly #transport: Transport;
  readonly #sampler = new SeriesSampler();
  readonly #history = new StateHistory();
  readonly #journal = new EventJournal();
  readonly #clockSync = new ClockSync();
  #journalFilter = $state.raw<JournalFilter>(NO_FILTER);
  #replay: Replay | null = null;
  #replayFile = '';
  #replaySeq = 0;
  #replayDirty = false;
  #replayClock: ReplayClock | null = null;
  #replayTicker: ReturnType<typeof setInterval> | null = null;

  #viewDirty = false;
  #seriesDirty = false;
  #journalDirty = false;
  #journalAt = 0;
  #viewAt = 0;
  #wait: ReturnType<typeof setTimeout> | null = null;
  #waitUntil = 0;
  #frame: number | null = null;
  #stops: (() => void)[] = [];

  constructor(transport: Transport) {
    this.#transport = transport;
    this.store = new PoolStore(transport);
  }

  get journalFilter(): JournalFilter {
    return this.#journalFilter;
  }

  set journalFilter(f: JournalFilter) {
    this.#journalFilter = f;
    this.#replayDirty = this.mode === 'replay';
    this.#journalDirty = true;
    this.#journalAt = 0;
    this.#request();
  }

  get journalPaused(): boolean {
    return this.journal.paused;
  }

  set journalPaused(paused: boolean) {
    this.#journal.setPaused(paused);
    this.#journalDirty = true;
    this.#journalAt = 0;
    this.#request();
  }

  start(): void {
    if (this.#stops.length > 0) return;
    const t = this.#transport;
    if (reportsLink(t)) {
      this.link = t.state;
      this.linkReason = t.reason;
      this.#stops.push(
        t.onState((s, reason) => {
          const was = this.link;
          this.link = s;
          this.linkReason = reason;
          // Events were missed while the link was down. The WebSocket transport also sends a
          // gap batch then; whichever comes first rebases, the other finds it under way.
          if (s === 'open' && was === 'reconnecting') this.store.resync();
        }),
      );
    }
    this.#stops.push(
      this.store.listen({
        rebased: () => {
          this.sync = { status: this.store.status, error: this.store.error, rebases: this.store.rebases };
          this.#viewDirty = true;
          this.#request();
        },
        applied: (events) => {
          if (events.length > 0) {
            // Summaries keep their first position but take their last event's time.
            let newest = -Infinity;
            for (const e of events) if (e.t > newest) newest = e.t;
            this.#clockSync.observe(wallNow(), newest);
            clock.offset = this.#clockSync.offset;
          }
          this.#journal.push(events);
          this.#history.note(events);
          this.#viewDirty = true;
          this.#journalDirty = true;
          this.#request();
        },
        status: (status, error) => {
          this.sync = { status, error, rebases: this.store.rebases };
        },
      }),
    );
    this.#stops.push(clock.start());
    const sampler = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#stops.push(() => clearInterval(sampler));
    this.store.start();
    this.#stops.push(() => this.store.stop());
  }

  stop(): void {
    for (const stop of this.#stops.splice(0).reverse()) stop();
    this.#stopReplayTicker();
    if (this.#frame !== null) cancelAnimationFrame(this.#frame);
    this.#frame = null;
    if (this.#wait !== null) clearTimeout(this.#wait);
    this.#wait = null;
  }

  // Commands. They reject with a readable message; the caller shows it.
  connectTarget(req: TargetRequest): Promise<TargetInfo> {
    return this.#invoke(() => this.#transport.invoke('target.connect', req));
  }

  installDemo(): Promise<{ created: boolean }> {
    return this.#invoke(() => this.#transport.invoke('demo.install', undefined));
  }

  /** Saved targets: list, save, remove (connect goes through connectTarget with kind 'saved'). */
  savedTargets(): Promise<SavedTarget[]> {
    return this.#invoke(() => this.#transport.invoke('targets.list', undefined));
  }

  /** Saves a profile: a URL (an import) or the form's fields, with pool settings when given. */
  saveTarget(req: Commands['targets.save']['req']): Promise<{ saved: SavedTarget; note: string | null }> {
    return this.#invoke(() => this.#transport.invoke('targets.save', req));
  }

  /** A URL as target fields (its TLS parameters read, or refused naming the one at fault). */
  parseTargetUrl(url: string): Promise<TargetFields> {
    return this.#invoke(() => this.#transport.invoke('targets.parse', { url }));
  }

  removeSavedTarget(id: string): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('targets.remove', { id }));
  }

  startLoad(spec: LoadSpec): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('load.start', spec));
  }

  stopLoad(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('load.stop', undefined));
  }

  spike(req: Commands['load.spike']['req']): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('load.spike', req));
  }

  configurePool(settings: PoolSettingsInput): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('pool.configure', settings));
  }

  endPool(poolId: string): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('pool.end', { poolId }));
  }

  injectLeaks(count: number): Promise<{ borrowerIds: string[] }> {
    return this.#invoke(() => this.#transport.invoke('leak.inject', { count }));
  }

  setLeakThreshold(ms: number): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('leak.threshold', { ms }));
  }

  releaseLease(borrowerId: string): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('lease.release', { borrowerId }));
  }

  destroyLease(borrowerId: string): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('lease.destroy', { borrowerId }));
  }

  txBegin(label?: string): Promise<{ borrowerId: string; connId: string }> {
    return this.#invoke(() => this.#transport.invoke('tx.begin', label === undefined ? {} : { label }));
  }

  txRun(borrowerId: string, sql: string): Promise<{ rows: unknown[]; affected: number | null }> {
    return this.#invoke(() => this.#transport.invoke('tx.run', { borrowerId, sql }));
  }

  txCommit(borrowerId: string): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('tx.commit', { borrowerId }));
  }

  txRollback(borrowerId: string): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('tx.rollback', { borrowerId }));
  }

  startCompare(req: Commands['compare.start']['req']): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('compare.start', req));
  }

  stopCompare(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('compare.stop', undefined));
  }

  startPatterns(req: Commands['pattern.start']['req']): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('pattern.start', req));
  }

  stopPatterns(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('pattern.stop', undefined));
  }

  /** Changes conditions on the link; the first call routes the pool through the fault proxy. */
  setFaults(toxics: Partial<Toxics>): Promise<Toxics> {
    return this.#invoke(() => this.#transport.invoke('fault.set', toxics));
  }

  clearFaults(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('fault.clear', undefined));
  }

  resetConnections(): Promise<{ connections: number }> {
    return this.#invoke(() => this.#transport.invoke('fault.reset', undefined));
  }

  terminate(serverId: number): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('server.terminate', { serverId }));
  }

  restartDatabase(downMs?: number): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('db.restart', downMs === undefined ? {} : { downMs }));
  }

  startInstances(req: Commands['instances.start']['req']): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('instances.start', req));
  }

  stopInstances(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('instances.stop', undefined));
  }

  startSweep(req: Commands['sweep.start']['req']): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('sweep.start', req));
  }

  stopSweep(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('sweep.stop', undefined));
  }

  listScenarios(): Promise<ScenarioInfo[]> {
    return this.#invoke(() => this.#transport.invoke('scenario.list', undefined));
  }

  openScenario(req: Commands['scenario.open']['req']): Promise<ScenarioInfo> {
    return this.#invoke(() => this.#transport.invoke('scenario.open', req));
  }

  confirmScenario(id: string): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('scenario.confirm', { id }));
  }

  playScenario(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('scenario.play', undefined));
  }

  pauseScenario(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('scenario.pause', undefined));
  }

  stepScenario(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('scenario.step', undefined));
  }

  restartScenario(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('scenario.restart', undefined));
  }

  nextNote(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('scenario.next', undefined));
  }

  backNote(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('scenario.back', undefined));
  }

  closeScenario(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('scenario.close', undefined));
  }

  startRecording(): Promise<void> {
    return this.#invoke(() => this.#transport.invoke('record.start', undefined));
  }

  /** The recording's file text (the engine writes it in chunks; the page only saves it). */
  stopRecording(): Promise<string> {
    return this.#invoke(() => this.#transport.invoke('record.stop', undefined));
  }

  /**
   * Shows a recording file instead of the engine, at its start (the state when recording
   * began), paused. Needs no engine: the reducer rebuilds every moment here. Throws with a
   * readable message on a bad file.
   */
  openRecording(text: string, fileName: string): void {
    const parsed = parseRecording(text);
    if (!parsed.ok) throw new Error(parsed.error);
    this.#stopReplayTicker();
    this.#replay = new Replay(parsed.recording);
    this.#replayClock = new ReplayClock(this.#replay.startT, this.#replay.endT);
    this.#replayFile = fileName;
    this.mode = 'replay';
    this.seekReplay(this.#replay.firstSeq);
  }

  /** Shows the recorded moment right after the last event at or before `seq`; a playing replay goes on from there. */
  seekReplay(seq: number): void {
    const r = this.#replay;
    if (!r) return;
    this.#show(seq);
    this.#replayClock?.seek(r.timeAt(this.#replaySeq), performance.now());
  }

  /** One event back (-1) or forward (+1); pauses a playing replay first. */
  stepReplay(direction: -1 | 1): void {
    const r = this.#replay;
    if (!r) return;
    this.pauseReplay();
    this.seekReplay(direction < 0 ? r.prevSeq(this.#replaySeq) : r.nextSeq(this.#replaySeq));
  }

  /** Plays the recording in its own time at the chosen speed, from where it stands (from its start again once at its end). */
  playReplay(): void {
    const c = this.#replayClock;
    const r = this.#replay;
    if (!c || !r) return;
    if (this.#replaySeq >= r.lastSeq) this.seekReplay(r.firstSeq);
    c.play(performance.now());
    if (c.playing && this.#replayTicker === null) this.#replayTicker = setInterval(() => this.#tickReplay(), REPLAY_TICK_MS);
    this.#replayDirty = true;
    this.#request();
  }

  pauseReplay(): void {
    this.#replayClock?.pause(performance.now());
    this.#stopReplayTicker();
    this.#replayDirty = true;
    this.#request();
  }

  setReplaySpeed(speed: ReplaySpeed): void {
    this.#replayClock?.setSpeed(speed, performance.now());
    this.#replayDirty = true;
    this.#request();
  }

  #tickReplay(): void {
    const c = this.#replayClock;
    const r = this.#replay;
    if (!c || !r) return this.#stopReplayTicker();
    this.#show(r.seqAtTime(c.at(performance.now())));
    if (!c.playing) this.#stopReplayTicker();
  }

  #show(seq: number): void {
    const r = this.#replay;
    if (!r) return;
    this.#replaySeq = Math.min(r.lastSeq, Math.max(r.firstSeq, Math.round(seq)));
    this.#replayDirty = true;
    this.#request();
  }

  #stopReplayTicker(): void {
    if (this.#replayTicker !== null) clearInterval(this.#replayTicker);
    this.#replayTicker = null;
  }

  /** Back to the engine: the live state is published on the next frame. */
  exitReplay(): void {
    this.#stopReplayTicker();
    this.#replayClock = null;
    this.#replay = null;
    this.#replayDirty = false;
    this.replay = null;
    this.mode = 'live';
    clock.pin(null);
    this.#viewDirty = this.#seriesDirty = this.#journalDirty = true;
    this.#viewAt = this.#journalAt = 0;
    this.#request();
  }

  clearJournal(): void {
    this.#journal.clear();
    this.#journalDirty = true;
    this.#journalAt = 0;
    this.#request();
  }

  async #invoke<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new Error(messageOf(err), { cause: err });
    }
  }

  #sample(): void {
    if (!this.store.hasSnapshot) return;
    const s = this.store.snapshot;
    this.#sampler.sample(wallNow(), s);
    this.#history.sample(s);
    this.#seriesDirty = true;
    this.#request();
  }

  /** Schedules the next publish on an animation frame, not before the earliest part is due. */
  #request(): void {
    if (this.#frame !== null) return;
    const now = wallNow();
    let due = Infinity;
    if (this.mode === 'replay') {
      // A seek shows on the next frame; the live parts wait until the replay ends.
      if (this.#replayDirty) due = now;
    } else {
      if (this.#seriesDirty) due = now;
      if (this.#viewDirty) due = Math.min(due, this.#viewAt + VIEW_MIN_MS);
      if (this.#journalDirty) due = Math.min(due, this.#journalAt + JOURNAL_REFRESH_MS);
    }
    if (due === Infinity) return;
    if (this.#wait !== null) {
      if (this.#waitUntil <= due) return;
      clearTimeout(this.#wait);
      this.#wait = null;
    }
    const frame = () => {
      this.#frame = requestAnimationFrame(() => {
        this.#frame = null;
        this.#publish();
      });
    };
    if (due <= now) return frame();
    this.#waitUntil = due;
    this.#wait = setTimeout(() => {
      this.#wait = null;
      frame();
    }, due - now);
  }

  #publish(): void {
    if (this.mode === 'replay') this.#publishReplay();
    else this.#publishLive();
    this.#request();
  }

  /** A seek: at most one rebuild per frame however fast the scrubber moves. */
  #publishReplay(): void {
    const r = this.#replay;
    if (!r || !this.#replayDirty) return;
    this.#replayDirty = false;
    const seq = this.#replaySeq;
    const s = r.at(seq);
    this.view = buildView(s);
    clock.pin(s.t);
    this.series = r.seriesAt(s.t);
    // Swimlanes need the 60 s before the moment sampled live; a replay shows rows without them.
    this.lanes = NO_LANES;
    const journal = new EventJournal();
    journal.push(r.eventsBefore(seq, JOURNAL_CAPACITY));
    const entries = journal.query(this.#journalFilter);
    this.journal = { entries, stored: journal.length, matching: entries.length, received: r.countAt(seq), skipped: 0, paused: false };
    const first = r.recording.events[0];
    this.replay = {
      fileName: this.#replayFile,
      target: r.recording.target,
      recordedAt: r.recording.recordedAt,
      firstSeq: r.firstSeq,
      lastSeq: r.lastSeq,
      seq,
      event: r.eventAt(seq),
      elapsedMs: first ? Math.max(0, s.t - first.t) : 0,
      eventCount: r.eventCount,
      marks: r.marks,
      playing: this.#replayClock?.playing ?? false,
      speed: this.#replayClock?.speed ?? 1,
    };
  }

  #publishLive(): void {
    const now = wallNow();
    if (this.#viewDirty && now - this.#viewAt >= VIEW_MIN_MS) {
      this.#viewDirty = false;
      this.#viewAt = now;
      this.view = buildView(this.store.snapshot);
      clock.refresh();
    }
    if (this.#seriesDirty) {
      this.#seriesDirty = false;
      this.series = this.#sampler.columns();
      this.lanes = this.#history.copy();
    }
    if (this.#journalDirty && now - this.#journalAt >= JOURNAL_REFRESH_MS) {
      this.#journalDirty = false;
      this.#journalAt = now;
      const j = this.#journal;
      const entries = j.query(this.#journalFilter);
      this.journal = {
        entries,
        stored: j.length,
        matching: entries.length,
        received: j.received,
        skipped: j.skipped,
        paused: j.paused,
      };
    }
  }
}
