import { randomUUID } from 'node:crypto';
import type { CommandName, Reply } from '../../../shared/api';
import { type RunBase, describeSeen, evaluate } from '../../../shared/conditions';
import { type Condition, type RunnerState, type Scenario, type ScenarioInfo, type ScenarioReview, type Step, type StepOutcome, type StepStatus, readingMs } from '../../../shared/scenario';
import { stepSummary } from '../../../shared/scenario-parse';
import { listSql, scenarioSql } from '../../../shared/scenario-review';
import type { Clock } from '../clock';
import { PoolscopeError, redactUrls, type Scrubber } from '../errors';
import type { EventLog } from '../event-log';
import { parseTargetUrl, targetInfo } from '../target-spec';

/** How the runner drives the engine: the service's own handle(), so steps are checked as the UI's commands are. */
export type Call = (cmd: CommandName, req: unknown) => Promise<Reply<unknown>>;

/** One condition of an expect step, as evaluated. */
export interface ConditionResult {
  text: string;
  ok: boolean;
  seen: number | string | null;
}

/** Each answers at once when there is nothing to stop. */
const STOPS: CommandName[] = ['load.stop', 'compare.stop', 'pattern.stop', 'instances.stop', 'sweep.stop', 'fault.clear'];
const RESULT_SHOWN = 200;

type Ran = 'passed' | 'failed' | 'interrupted' | 'stale';

/**
 * How a run goes from note to note. 'play': stops at a note until Next, or reads it for its
 * reading time when the note says so; 'step': stops at the next note; 'through' (headless,
 * CI): never stops at a note.
 */
type Mode = 'play' | 'step' | 'through';

export function scenarioInfo(s: Scenario): ScenarioInfo {
  return { name: s.name, title: s.title, description: s.description, steps: s.steps.length, engines: s.engines };
}

/** A scenario's target as shown: "embedded", or the URL as a target's display (never its password). */
export function shownTarget(target: string): string {
  if (target === 'embedded') return target;
  try {
    return targetInfo(parseTargetUrl(target)).display;
  } catch {
    return redactUrls(target);
  }
}

/**
 * Plays a scenario on the engine: play, pause, one step at a time, restart. Every step
 * goes through the typed API (`call`), waits and expects read the live snapshot, and
 * each change is an event (scenario.*), so the UI, a recording and the headless runner
 * all see the same run.
 *
 * A run starts from a quiet pool: what is running is stopped, faults are cleared, held
 * connections are destroyed, and the scenario's settings applied. Counters in conditions
 * count from there (RunBase).
 */
export class ScenarioRunner {
  readonly #call: Call;
  readonly #log: EventLog;
  readonly #clock: Clock;
  /** Masks a command's result before it is cut for its step's message. */
  readonly #scrub: Scrubber;
  #scenario: Scenario | null = null;
  /** The open file's SQL until it is confirmed; null for a built-in, a file without SQL, or once confirmed. */
  #review: ScenarioReview | null = null;
  #outcomes: StepOutcome[] = [];
  readonly #checks = new Map<number, ConditionResult[]>();
  #current = 0;
  #state: RunnerState = 'idle';
  /** Set once the run is prepared; null before the first step of a run. */
  #base: RunBase | null = null;
  #startError: string | null = null;
  /** "$label" → the borrower of that label's tx.begin in this run. */
  readonly #refs = new Map<string, string>();
  /** Bumped by open, restart and stop: a loop of an older generation stops at its next await. */
  #gen = 0;
  #loop: Promise<void> = Promise.resolve();
  #pauseAfterStep = false;
  /** A note's reading time is running (Next cuts it short). */
  #reading = false;
  #mode: Mode = 'play';
  /** Back: the note the run replays the steps up to, then stops at. */
  #goal: number | null = null;
  /** The step index of the note on screen. */
  #noteStep: number | null = null;
  /** Ends the running wait early (pause, restart). */
  #interrupt: (() => void) | null = null;

  constructor(call: Call, log: EventLog, clock: Clock, scrub: Scrubber) {
    this.#scrub = scrub;
    this.#call = call;
    this.#log = log;
    this.#clock = clock;
  }

  get state(): RunnerState {
    return this.#state;
  }

  get outcomes(): readonly StepOutcome[] {
    return this.#outcomes;
  }

  /** Each expect step's conditions with the values seen, by step index. */
  get checks(): ReadonlyMap<number, ConditionResult[]> {
    return this.#checks;
  }

  /** Why the run could not start (wrong engine, settings refused), if it could not. */
  get startError(): string | null {
    return this.#startError;
  }

  /** Resolves when the current play or step has stopped (finished, failed, paused). */
  settled(): Promise<void> {
    return this.#loop;
  }

  /**
   * Opens a scenario, paused before its first step. With `review` (a file: code from
   * elsewhere), SQL of its own must be confirmed (confirm) before any step runs.
   */
  open(scenario: Scenario, opts: { review: boolean }): ScenarioInfo {
    this.#abandon();
    this.#scenario = scenario;
    const sql = opts.review ? scenarioSql(scenario) : [];
    this.#review = sql.length > 0 ? { id: randomUUID(), sql } : null;
    this.#reset(scenario);
    return scenarioInfo(scenario);
  }

  /** The person read the open file's SQL (review `id`) and lets it run. */
  confirm(id: string): void {
    this.#need();
    if (this.#review === null) return;
    if (this.#review.id !== id) throw new PoolscopeError('needs-confirmation', 'Another scenario was opened since that review: read its SQL and confirm it instead.');
    this.#review = null;
    this.#log.emit({ type: 'scenario.confirmed', id });
  }

  /** Runs from the current step, stopping at each note until Next (or for its reading time). */
  play(): void {
    if (this.#state === 'playing') return;
    this.#begin('play');
  }

  /** Plays to the end without stopping at notes: the headless runner, CI. */
  playThrough(): void {
    this.#begin('through');
  }

  pause(): void {
    if (this.#state !== 'playing') return;
    this.#pauseAfterStep = true;
    this.#interrupt?.();
  }

  /** Runs up to and including the next note (the wait and expect steps before it too), then pauses. */
  step(): void {
    if (this.#state === 'playing') {
      this.#mode = 'step';
      return;
    }
    this.#begin('step');
  }

  /**
   * Goes on from the note on screen: while paused, plays on to the next note; while a note's
   * reading time runs, cuts it short; while steps run toward the next note, nothing more to do.
   */
  next(): void {
    this.#need();
    if (this.#state === 'failed') throw new PoolscopeError('no-scenario', 'A step failed and stopped the scenario: restart it to run it again.');
    if (this.#state === 'playing') {
      if (this.#reading) this.#interrupt?.();
      return;
    }
    this.#begin('play');
  }

  /**
   * Back to the note before the one on screen: the run starts over (what it started is
   * stopped) and replays the steps up to that note, waits included, then stops there. With
   * no note before, it is a restart.
   */
  async back(): Promise<void> {
    const s = this.#need();
    const from = this.#noteStep ?? this.#current;
    const previous = s.steps.findLastIndex((step, i) => step.kind === 'note' && i < from);
    this.#abandon();
    this.#reset(s);
    // Said on screen from now on: stopping what ran can take a while (a spike's line drains).
    if (previous >= 0) {
      this.#goal = previous;
      this.#set('playing');
    }
    const gen = this.#gen;
    await this.#cleanup();
    if (previous < 0 || gen !== this.#gen) return;
    this.#begin('play');
  }

  async restart(): Promise<void> {
    const s = this.#need();
    this.#abandon();
    this.#reset(s);
    await this.#cleanup();
  }

  /** Closes the scenario: stops its run and what it started; the note leaves the screen. */
  async close(): Promise<void> {
    const s = this.#scenario;
    if (!s) return;
    this.#abandon();
    this.#scenario = null;
    this.#review = null;
    this.#state = 'idle';
    this.#noteStep = null;
    this.#goal = null;
    await this.#cleanup();
    this.#log.emit({ type: 'scenario.closed', name: s.name });
  }

  /** Stops playing (the host is closing); what the steps started is the service's to stop. */
  stop(): void {
    this.#abandon();
  }

  #need(): Scenario {
    if (!this.#scenario) throw new PoolscopeError('no-scenario', 'No scenario is open: open a built-in or a file first.');
    return this.#scenario;
  }

  #abandon(): void {
    this.#gen++;
    this.#interrupt?.();
  }

  #reset(s: Scenario): void {
    this.#outcomes = s.steps.map((step, index) => ({ index, summary: stepSummary(step), status: 'pending', message: null, startedAt: null, endedAt: null }));
    this.#checks.clear();
    this.#refs.clear();
    this.#current = 0;
    this.#noteStep = null;
    this.#goal = null;
    this.#base = null;
    this.#startError = null;
    this.#state = 'paused';
    this.#log.emit({
      type: 'scenario.opened',
      name: s.name,
      title: s.title,
      description: s.description,
      steps: this.#outcomes.map((o) => ({ ...o })),
      target: shownTarget(s.target),
      review: this.#review,
    });
  }

  #begin(mode: Mode): void {
    const s = this.#need();
    if (this.#review) {
      throw new PoolscopeError(
        'needs-confirmation',
        `${s.name} sends SQL of its own, which runs as written on the connected database:\n${listSql(this.#review.sql)}\nA scenario file is code: confirm it (scenario.confirm) only if you trust it.`,
      );
    }
    if (this.#current >= s.steps.length) throw new PoolscopeError('no-scenario', 'The scenario has run to its end: restart it to run it again.');
    this.#pauseAfterStep = false;
    this.#mode = mode;
    const gen = this.#gen;
    this.#set('playing');
    this.#loop = this.#run(s, gen).catch((err: unknown) => {
      // A bug, not a step's failure (those are outcomes): say so on the step, never crash the host.
      if (gen !== this.#gen) return;
      this.#outcome(this.#current, 'failed', `internal error: ${err instanceof Error ? err.message : String(err)}`, null);
      this.#stop('failed');
    });
  }

  #set(state: RunnerState): void {
    this.#state = state;
    this.#log.emit({ type: 'scenario.changed', state, current: this.#current, goal: this.#goal });
  }

  async #run(s: Scenario, gen: number): Promise<void> {
    if (this.#base === null) {
      const started = this.#clock.now();
      const error = await this.#prepare(s);
      if (gen !== this.#gen) return;
      if (error !== null) {
        this.#startError = error;
        this.#outcome(0, 'failed', `the scenario could not start: ${error}`, started);
        this.#stop('failed');
        return;
      }
    }
    for (;;) {
      const index = this.#current;
      const ran = await this.#exec(s.steps[index] as Step, index, gen);
      if (ran === 'stale' || gen !== this.#gen) return;
      if (ran === 'interrupted') return this.#stop('paused');
      this.#current = index + 1;
      if (ran === 'failed') return this.#stop('failed');
      if (this.#current >= s.steps.length) return this.#stop('finished');
      if (this.#pauseAfterStep) return this.#stop('paused');
      const step = s.steps[index] as Step;
      if (step.kind === 'note' && this.#mode !== 'through') {
        if (this.#goal !== null) {
          if (index === this.#goal) return this.#stop('paused');
        } else if (this.#mode === 'step' || step.advance === 'next') {
          return this.#stop('paused');
        } else {
          // Read for its reading time; Next cuts it short, Pause stops there.
          this.#reading = true;
          await this.#sleep(readingMs(step.text));
          this.#reading = false;
          if (gen !== this.#gen) return;
          if (this.#pauseAfterStep) return this.#stop('paused');
        }
      }
      this.#set('playing');
    }
  }

  #stop(state: RunnerState): void {
    this.#goal = null;
    this.#set(state);
  }

  /** Checks the engine, quiets the pool, applies the settings; null when ready, else why not. */
  async #prepare(s: Scenario): Promise<string | null> {
    const live = this.#log.live;
    const pool = live.activePoolId === null ? undefined : live.pools[live.activePoolId];
    if (!pool) return 'there is no pool: connect to a target first';
    if (!s.engines.includes(pool.target.engine)) {
      const names = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB' };
      return `it runs on ${s.engines.map((e) => names[e]).join(' or ')} only, and the target is ${pool.target.display} (${names[pool.target.engine]})`;
    }
    await this.#cleanup();
    if (Object.keys(s.settings).length > 0) {
      const r = await this.#call('pool.configure', s.settings);
      if (!r.ok) return `its settings were refused: ${r.error.message}`;
    }
    this.#base = { t: this.#clock.now(), counters: structuredClone(this.#log.live.counters) };
    return null;
  }

  async #cleanup(): Promise<void> {
    for (const cmd of STOPS) await this.#call(cmd, undefined);
    for (const b of Object.values(this.#log.live.borrowers)) {
      if (b.state === 'holding') await this.#call('lease.destroy', { borrowerId: b.id });
    }
  }

  #outcome(index: number, status: StepStatus, message: string | null, startedAt: number | null): void {
    const prev = this.#outcomes[index];
    if (!prev) return;
    const ended = status === 'pending' || status === 'running' ? null : this.#clock.now();
    const outcome: StepOutcome = { index, summary: prev.summary, status, message, startedAt, endedAt: ended };
    this.#outcomes[index] = outcome;
    this.#log.emit({ type: 'scenario.stepped', outcome: { ...outcome } });
  }

  async #exec(step: Step, index: number, gen: number): Promise<Ran> {
    const startedAt = this.#clock.now();
    this.#outcome(index, 'running', null, startedAt);
    const done = (ok: boolean, message: string | null): Ran => {
      this.#outcome(index, ok ? 'passed' : 'failed', message, startedAt);
      return ok ? 'passed' : 'failed';
    };
    switch (step.kind) {
      case 'note': {
        this.#noteStep = index;
        const reads = this.#mode === 'play' && this.#goal === null && step.advance === 'after-reading';
        this.#log.emit({ type: 'scenario.noted', index, text: step.text, readMs: reads ? readingMs(step.text) : null, ...(step.spotlight ? { spotlight: step.spotlight } : {}) });
        return done(true, null);
      }
      case 'expect': {
        const results = step.conditions.map((c) => this.#check(c));
        this.#checks.set(index, results);
        return done(
          results.every((r) => r.ok),
          results.map((r, i) => `${r.ok ? 'ok' : 'FAILED'}: ${describeSeen(step.conditions[i] as Condition, r.seen)}`).join('; '),
        );
      }
      case 'wait': {
        if ('ms' in step) {
          const slept = await this.#sleep(step.ms);
          if (gen !== this.#gen) return 'stale';
          if (!slept) return this.#pending(index);
          return done(true, null);
        }
        const r = await this.#until(step.until, step.timeoutMs);
        if (gen !== this.#gen) return 'stale';
        if (r === null) return this.#pending(index);
        const took = Math.round(this.#clock.now() - startedAt);
        return r.ok ? done(true, `reached after ${took} ms: ${describeSeen(step.until, r.seen)}`) : done(false, `not reached within ${step.timeoutMs} ms: ${describeSeen(step.until, r.seen)}`);
      }
      case 'command': {
        const req = this.#resolve(step.req);
        if (typeof req === 'string') return done(false, req);
        const reply = await this.#call(step.cmd as CommandName, req);
        if (gen !== this.#gen) {
          await this.#disown(reply);
          return 'stale';
        }
        if (!reply.ok) return done(false, reply.error.message);
        if (step.cmd === 'tx.begin') {
          const label = (step.req as { label?: string }).label ?? 'transaction';
          this.#refs.set(label, (reply.res as { borrowerId: string }).borrowerId);
        }
        const shown = reply.res === null ? null : this.#scrub(JSON.stringify(reply.res));
        return done(true, shown !== null && shown.length > RESULT_SHOWN ? `${shown.slice(0, RESULT_SHOWN - 1)}…` : shown);
      }
    }
  }

  /** A wait cut short by pause: the step runs again from its start on the next play. */
  #pending(index: number): Ran {
    this.#outcome(index, 'pending', null, null);
    return 'interrupted';
  }

  #check(c: Condition): ConditionResult {
    const r = evaluate(this.#log.live, c, this.#base);
    return { text: c.text, ok: r.ok, seen: r.seen };
  }

  /** The request with "$label" replaced by that transaction's borrower; a string says why it cannot be. */
  #resolve(req: unknown): unknown {
    if (typeof req !== 'object' || req === null || !('borrowerId' in req) || typeof req.borrowerId !== 'string') return req;
    const label = req.borrowerId.slice(1);
    const borrowerId = this.#refs.get(label);
    if (borrowerId === undefined) return `transaction "${label}" was not begun in this run (its tx.begin step failed or was skipped): restart the scenario`;
    return { ...req, borrowerId };
  }

  /** A step that finished after a restart or a new scenario: connections it borrowed are not kept. */
  async #disown(reply: Reply<unknown>): Promise<void> {
    if (!reply.ok || typeof reply.res !== 'object' || reply.res === null) return;
    const res = reply.res as { borrowerId?: string; borrowerIds?: string[] };
    for (const borrowerId of [...(res.borrowerIds ?? []), ...(res.borrowerId ? [res.borrowerId] : [])]) await this.#call('lease.destroy', { borrowerId });
  }

  /** Resolves true after `ms`, false when interrupted. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(() => finish(true), ms);
      const finish = (slept: boolean) => {
        this.#clock.clearTimer(timer);
        this.#interrupt = null;
        resolve(slept);
      };
      this.#interrupt = () => finish(false);
    });
  }

  /**
   * Resolves as soon as an event makes the condition hold (evaluated on the live snapshot
   * right after each event, so a passing moment is not missed between polls), or at the
   * timeout with the last value seen; null when interrupted.
   */
  #until(c: Condition, timeoutMs: number): Promise<{ ok: boolean; seen: number | string | null } | null> {
    const now = evaluate(this.#log.live, c, this.#base);
    if (now.ok) return Promise.resolve(now);
    return new Promise((resolve) => {
      let last = now;
      // It reads the snapshot, which summaries keep as whole events would.
      const unsubscribe = this.#log.subscribe(
        () => {
          last = evaluate(this.#log.live, c, this.#base);
          if (last.ok) finish(last);
        },
        { summaries: true },
      );
      const timer = this.#clock.setTimer(() => finish(last), timeoutMs);
      const finish = (r: typeof last | null) => {
        unsubscribe();
        this.#clock.clearTimer(timer);
        this.#interrupt = null;
        resolve(r);
      };
      this.#interrupt = () => finish(null);
    });
  }
}
