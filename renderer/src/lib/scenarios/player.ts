// The scenario player for people: each step as a row with its status and the current one
// marked, the runner's state in words, and which buttons make sense in that state.

import type { RunnerState, StepStatus } from '../../../../shared/scenario';
import type { Snapshot } from '../../../../shared/snapshot';

export interface StepRow {
  index: number;
  summary: string;
  status: StepStatus;
  /** A failed expect's values, or what failed and what to check. */
  message: string | null;
  /** The step the runner runs next (or runs now); none once the scenario is over. */
  current: boolean;
  durationMs: number | null;
}

export function stepRows(scenario: Snapshot['scenario']): StepRow[] {
  if (!scenario) return [];
  const over = scenario.state === 'finished';
  return scenario.steps.map((o, i) => ({
    index: o.index,
    summary: o.summary,
    status: o.status,
    message: o.message,
    current: !over && i === scenario.current,
    durationMs: o.startedAt !== null && o.endedAt !== null ? o.endedAt - o.startedAt : null,
  }));
}

export interface PlayerButtons {
  play: boolean;
  pause: boolean;
  step: boolean;
  /** Go on from the note on screen. */
  next: boolean;
  /** Back to the previous note (the steps up to it replayed). */
  back: boolean;
  restart: boolean;
  close: boolean;
}

const NONE: PlayerButtons = { play: false, pause: false, step: false, next: false, back: false, restart: false, close: false };

/**
 * Play, Step and Next while stopped with steps left (Next also cuts a note's reading time
 * short); Pause while playing; Back, Restart and Close whenever a scenario is open.
 */
export function playerButtons(scenario: Snapshot['scenario']): PlayerButtons {
  if (!scenario) return NONE;
  const stopped = scenario.state === 'idle' || scenario.state === 'paused';
  const left = scenario.current < scenario.steps.length;
  const reading = scenario.state === 'playing' && scenario.readMs !== null;
  return { play: stopped && left, pause: scenario.state === 'playing', step: stopped && left, next: (stopped && left) || reading, back: true, restart: true, close: true };
}

/** The failed step that stopped the run, in words: which step, and what it saw. */
export function failure(scenario: Snapshot['scenario']): string | null {
  if (scenario?.state !== 'failed') return null;
  const step = scenario.steps.find((s) => s.status === 'failed');
  if (!step) return null;
  return `Stopped at step ${step.index + 1} (${step.summary})${step.message ? `: ${step.message}` : ''}`;
}

/** While Back replays the steps up to a note: says so, as those steps run again. */
export function goingBack(scenario: Snapshot['scenario']): string | null {
  if (!scenario || scenario.goal === null) return null;
  const step = scenario.goal + 1;
  return step === 1 ? 'Going back to the first note: starting over' : `Going back to the note at step ${step}: starting over and replaying steps 1 to ${step}`;
}

export const RUNNER_STATE_LABEL: Record<RunnerState, string> = {
  idle: 'ready',
  playing: 'playing',
  paused: 'paused',
  finished: 'finished',
  failed: 'stopped: a step failed',
};

/** The runner's state in words, saying when it waits at a note, reads one, or goes back to one. */
export function stateLabel(scenario: NonNullable<Snapshot['scenario']>): string {
  if (scenario.state === 'playing' && scenario.goal !== null) return 'going back';
  if (scenario.state === 'playing' && scenario.readMs !== null) return 'reading the note';
  if (scenario.state === 'paused' && scenario.noteStep !== null && scenario.noteStep === scenario.current - 1) return 'at a note: Next goes on';
  return RUNNER_STATE_LABEL[scenario.state];
}

/** "3 of 7 steps done" */
export function progress(scenario: NonNullable<Snapshot['scenario']>): string {
  const done = scenario.steps.filter((s) => s.status === 'passed' || s.status === 'failed' || s.status === 'skipped').length;
  return `${done} of ${scenario.steps.length} step${scenario.steps.length === 1 ? '' : 's'} done`;
}
