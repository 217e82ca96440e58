import { describe, expect, it } from 'vitest';
import type { StepOutcome } from '../../shared/scenario';
import { reduceAll } from '../../shared/reducer';
import { emptySnapshot, type Snapshot } from '../../shared/snapshot';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { playerButtons, progress, stepRows } from '../../renderer/src/lib/scenarios/player';
import { slug, stamped } from '../../renderer/src/lib/export/file-names';
import { buildView } from '../../renderer/src/lib/store/view';

let seq = 0;
const ev = (b: PoolEventBody): PoolEvent => ({ ...b, seq: ++seq, t: 1_000 + seq }) as PoolEvent;
const outcome = (index: number, summary: string, status: StepOutcome['status'] = 'pending', extra: Partial<StepOutcome> = {}): StepOutcome => ({
  index,
  summary,
  status,
  message: null,
  startedAt: null,
  endedAt: null,
  ...extra,
});

function opened(): Snapshot {
  return reduceAll(emptySnapshot(), [
    ev({ type: 'scenario.opened', name: 'leak', title: 'A leak', description: 'd', steps: [outcome(0, 'note: a leak'), outcome(1, 'leak.inject {count: 3}'), outcome(2, 'expect waiting >= 1')] }),
  ]);
}

describe('the scenario player', () => {
  it('lists the steps pending, the first one current, and lets you play or step', () => {
    const s = opened();
    expect(stepRows(s.scenario).map((r) => [r.summary, r.status, r.current])).toEqual([
      ['note: a leak', 'pending', true],
      ['leak.inject {count: 3}', 'pending', false],
      ['expect waiting >= 1', 'pending', false],
    ]);
    expect(playerButtons(s.scenario)).toEqual({ play: true, pause: false, step: true, restart: true });
    expect(progress(s.scenario!)).toBe('0 of 3 steps done');
  });

  it('follows the runner: the current step moves, outcomes and failure messages show', () => {
    const s = opened();
    reduceAll(s, [
      ev({ type: 'scenario.changed', state: 'playing', current: 1 }),
      ev({ type: 'scenario.stepped', outcome: outcome(0, 'note: a leak', 'passed', { startedAt: 10, endedAt: 12 }) }),
      ev({ type: 'scenario.stepped', outcome: outcome(1, 'leak.inject {count: 3}', 'running') }),
    ]);
    let rows = stepRows(s.scenario);
    expect(rows.map((r) => [r.status, r.current])).toEqual([
      ['passed', false],
      ['running', true],
      ['pending', false],
    ]);
    expect(rows[0]?.durationMs).toBe(2);
    expect(playerButtons(s.scenario)).toEqual({ play: false, pause: true, step: false, restart: true });

    reduceAll(s, [
      ev({ type: 'scenario.stepped', outcome: outcome(1, 'leak.inject {count: 3}', 'passed') }),
      ev({ type: 'scenario.stepped', outcome: outcome(2, 'expect waiting >= 1', 'failed', { message: 'waiting >= 1: waiting was 0' }) }),
      ev({ type: 'scenario.changed', state: 'failed', current: 2 }),
    ]);
    rows = stepRows(s.scenario);
    expect(rows[2]).toMatchObject({ status: 'failed', message: 'waiting >= 1: waiting was 0', current: true });
    expect(playerButtons(s.scenario)).toEqual({ play: false, pause: false, step: false, restart: true });
    expect(progress(s.scenario!)).toBe('3 of 3 steps done');
  });

  it('marks no step current once finished, and offers only restart', () => {
    const s = opened();
    reduceAll(s, [ev({ type: 'scenario.changed', state: 'finished', current: 3 })]);
    expect(stepRows(s.scenario).some((r) => r.current)).toBe(false);
    expect(playerButtons(s.scenario)).toEqual({ play: false, pause: false, step: false, restart: true });
  });

  it('has nothing to show or press without a scenario', () => {
    expect(stepRows(null)).toEqual([]);
    expect(playerButtons(null)).toEqual({ play: false, pause: false, step: false, restart: false });
  });

  it('puts the note and steps in the view, as copies the reducer will not change', () => {
    const s = opened();
    reduceAll(s, [ev({ type: 'scenario.noted', index: 0, text: 'Three requests forget to release.' })]);
    const view = buildView(s);
    expect(view.scenario?.note).toBe('Three requests forget to release.');
    reduceAll(s, [ev({ type: 'scenario.stepped', outcome: outcome(0, 'note: a leak', 'passed') })]);
    expect(view.scenario?.steps[0]?.status).toBe('pending');
    // Back to the first step: the note goes.
    reduceAll(s, [ev({ type: 'scenario.changed', state: 'paused', current: 0 })]);
    expect(buildView(s).scenario?.note).toBeNull();
  });

  it('shows whether events are being recorded', () => {
    const s = reduceAll(emptySnapshot(), [ev({ type: 'record.changed', recording: true, fromSeq: 42 })]);
    expect(buildView(s).recording).toEqual({ active: true, fromSeq: 42 });
  });
});

describe('exported file names', () => {
  it('stamps the date and says what the file holds', () => {
    const at = new Date(2026, 10, 24, 9, 5, 7);
    expect(stamped(null, 'json', at)).toBe('poolscope-2026-11-24-090507.json');
    expect(stamped(`chart-${slug('Acquire wait per interval (ms)')}`, 'png', at)).toBe('poolscope-chart-acquire-wait-per-interval-ms-2026-11-24-090507.png');
    // Cut at 40 characters, never ending on a dash.
    expect(slug('Server sessions against max_connections (last 10 minutes)')).toBe('server-sessions-against-max-connections');
  });
});
