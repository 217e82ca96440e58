import { describe, expect, it } from 'vitest';
import type { StepOutcome } from '../../shared/scenario';
import { reduceAll } from '../../shared/reducer';
import { emptySnapshot, type Snapshot } from '../../shared/snapshot';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { failure, goingBack, playerButtons, progress, stateLabel, stepRows } from '../../renderer/src/lib/scenarios/player';
import { noteKeyAction, takesKeys } from '../../renderer/src/lib/scenarios/note-keys';
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
    expect(playerButtons(s.scenario)).toEqual({ play: true, pause: false, step: true, next: true, back: true, restart: true, close: true });
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
    expect(playerButtons(s.scenario)).toEqual({ play: false, pause: true, step: false, next: false, back: true, restart: true, close: true });

    reduceAll(s, [
      ev({ type: 'scenario.stepped', outcome: outcome(1, 'leak.inject {count: 3}', 'passed') }),
      ev({ type: 'scenario.stepped', outcome: outcome(2, 'expect waiting >= 1', 'failed', { message: 'waiting >= 1: waiting was 0' }) }),
      ev({ type: 'scenario.changed', state: 'failed', current: 2 }),
    ]);
    rows = stepRows(s.scenario);
    expect(rows[2]).toMatchObject({ status: 'failed', message: 'waiting >= 1: waiting was 0', current: true });
    expect(playerButtons(s.scenario)).toEqual({ play: false, pause: false, step: false, next: false, back: true, restart: true, close: true });
    expect(progress(s.scenario!)).toBe('3 of 3 steps done');
  });

  it('marks no step current once finished, and offers only restart', () => {
    const s = opened();
    reduceAll(s, [ev({ type: 'scenario.changed', state: 'finished', current: 3 })]);
    expect(stepRows(s.scenario).some((r) => r.current)).toBe(false);
    expect(playerButtons(s.scenario)).toEqual({ play: false, pause: false, step: false, next: false, back: true, restart: true, close: true });
  });

  it('has nothing to show or press without a scenario', () => {
    expect(stepRows(null)).toEqual([]);
    expect(playerButtons(null)).toEqual({ play: false, pause: false, step: false, next: false, back: false, restart: false, close: false });
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

  it('keeps the note\'s step; Next cuts a reading time short; a failed expect says which step stopped the run', () => {
    const s = opened();
    reduceAll(s, [ev({ type: 'scenario.changed', state: 'playing', current: 0 }), ev({ type: 'scenario.noted', index: 0, text: 'Read this.', readMs: 4000 })]);
    expect(s.scenario).toMatchObject({ noteStep: 0, readMs: 4000 });
    expect(stateLabel(s.scenario!)).toBe('reading the note');
    expect(playerButtons(s.scenario).next).toBe(true);
    // The step after the note runs: the reading is over, Next has nothing to cut short.
    reduceAll(s, [ev({ type: 'scenario.stepped', outcome: outcome(1, 'leak.inject {count: 3}', 'running') })]);
    expect(s.scenario?.readMs).toBeNull();
    expect(playerButtons(s.scenario).next).toBe(false);
    reduceAll(s, [
      ev({ type: 'scenario.stepped', outcome: outcome(2, 'expect waiting >= 1', 'failed', { message: 'FAILED: waiting >= 1 (seen 0)' }) }),
      ev({ type: 'scenario.changed', state: 'failed', current: 3 }),
    ]);
    expect(failure(s.scenario)).toBe('Stopped at step 3 (expect waiting >= 1): FAILED: waiting >= 1 (seen 0)');
    expect(playerButtons(s.scenario).next).toBe(false);
  });

  it('says when Back replays the steps up to a note, and closing takes the scenario and its note away', () => {
    const s = opened();
    reduceAll(s, [ev({ type: 'scenario.changed', state: 'playing', current: 0, goal: 2 })]);
    expect(goingBack(s.scenario)).toBe('Going back to the note at step 3: starting over and replaying steps 1 to 3');
    expect(stateLabel(s.scenario!)).toBe('going back');
    reduceAll(s, [ev({ type: 'scenario.changed', state: 'playing', current: 0, goal: 0 })]);
    expect(goingBack(s.scenario)).toBe('Going back to the first note: starting over');
    reduceAll(s, [ev({ type: 'scenario.noted', index: 2, text: 'here' }), ev({ type: 'scenario.changed', state: 'paused', current: 3, goal: null })]);
    expect(goingBack(s.scenario)).toBeNull();
    expect(s.scenario).toMatchObject({ note: 'here', noteStep: 2 });
    expect(stateLabel(s.scenario!)).toBe('at a note: Next goes on');
    reduceAll(s, [ev({ type: 'scenario.closed', name: 'leak' })]);
    expect(s.scenario).toBeNull();
    expect(buildView(s).scenario).toBeNull();
  });

  it('shows whether events are being recorded', () => {
    const s = reduceAll(emptySnapshot(), [ev({ type: 'record.changed', recording: true, fromSeq: 42 })]);
    expect(buildView(s).recording).toEqual({ active: true, fromSeq: 42 });
  });
});

describe('keys that move through the notes', () => {
  const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, ...mods });
  const el = (tagName: string, type?: string, isContentEditable = false) => ({ tagName, type, isContentEditable });

  it('Space, Right and PageDown go on; Left and PageUp go back; R restarts', () => {
    expect([' ', 'ArrowRight', 'PageDown', 'ArrowLeft', 'PageUp', 'r', 'R'].map((k) => noteKeyAction(key(k), null))).toEqual(['next', 'next', 'next', 'back', 'back', 'restart', 'restart']);
    expect(noteKeyAction(key('ArrowDown'), null)).toBeNull();
    expect(noteKeyAction(key('Enter'), null)).toBeNull();
  });

  it('does nothing while a text field has focus, or with a modifier (Ctrl+R reloads)', () => {
    for (const focused of [el('INPUT'), el('input', 'text'), el('INPUT', 'number'), el('TEXTAREA'), el('SELECT'), el('DIV', undefined, true), el('INPUT', 'range')]) {
      expect(takesKeys(focused)).toBe(true);
      expect(noteKeyAction(key('r'), focused)).toBeNull();
      expect(noteKeyAction(key('ArrowRight'), focused)).toBeNull();
    }
    expect(noteKeyAction(key('r', { ctrlKey: true }), null)).toBeNull();
    expect(noteKeyAction(key('ArrowLeft', { altKey: true }), null)).toBeNull();
    expect(noteKeyAction(key('ArrowRight', { metaKey: true }), null)).toBeNull();
  });

  it('passes through a checkbox or a button, except Space, which presses the button', () => {
    expect(noteKeyAction(key('ArrowRight'), el('INPUT', 'checkbox'))).toBe('next');
    expect(noteKeyAction(key('ArrowRight'), el('BUTTON'))).toBe('next');
    expect(noteKeyAction(key(' '), el('BUTTON'))).toBeNull();
    expect(noteKeyAction(key(' '), el('DIV'))).toBe('next');
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
