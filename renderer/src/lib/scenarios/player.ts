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
  restart: boolean;
}

const NONE: PlayerButtons = { play: false, pause: false, step: false, restart: false };

/** Play and step while stopped with steps left; pause while playing; restart whenever a scenario is open. */
export function playerButtons(scenario: Snapshot['scenario']): PlayerButtons {
  if (!scenario) return NONE;
  const stopped = scenario.state === 'idle' || scenario.state === 'paused';
  const left = scenario.current < scenario.steps.length;
  return { play: stopped && left, pause: scenario.state === 'playing', step: stopped && left, restart: true };
}

export const RUNNER_STATE_LABEL: Record<RunnerState, string> = {
  idle: 'ready',
  playing: 'playing',
  paused: 'paused',
  finished: 'finished',
  failed: 'stopped: a step failed',
};

/** "3 of 7 steps done" */
export function progress(scenario: NonNullable<Snapshot['scenario']>): string {
  const done = scenario.steps.filter((s) => s.status === 'passed' || s.status === 'failed' || s.status === 'skipped').length;
  return `${done} of ${scenario.steps.length} step${scenario.steps.length === 1 ? '' : 's'} done`;
}
