import { describe, expect, it } from 'vitest';
import { target } from './helpers/fixtures';
import { evaluate, parseCondition } from '../../shared/conditions';
import { reduceAll } from '../../shared/reducer';
import { type Condition, type Scenario, readingMs } from '../../shared/scenario';
import { parseScenario } from '../../shared/scenario-parse';
import { listSql, scenarioSql, targetMismatch } from '../../shared/scenario-review';
import { emptySnapshot } from '../../shared/snapshot';
import { BUILT_IN_NAMES, builtIn } from '../../main/engine/scenarios/builtins';

// Scenario files are checked field by field: each problem names the field at fault and
// what would be right; nothing throws.

const file = (steps: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ title: 'T', steps, ...extra }, null, 2);
const errorsOf = (text: string) => {
  const r = parseScenario(text, 'test.json');
  if (r.ok) throw new Error('expected errors');
  return r.errors;
};

describe('malformed scenario files', () => {
  it('bad JSON: the line and column of the mistake', () => {
    const errors = errorsOf('{\n  "title": "T",\n  steps: []\n}');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^not valid JSON at line 3, column 3: /);
  });

  it('a request field out of range: the step, the command and the field, in the API’s own words', () => {
    const errors = errorsOf(file([{ note: 'hi' }, { wait: { ms: 10 } }, { expect: 'waiting == 0' }, { 'leak.inject': { count: 0 } }]));
    expect(errors).toEqual(['steps[3]["leak.inject"].count: count must be at least 1']);
    expect(errorsOf(file([{ 'leak.inject': { count: 1.5 } }]))).toEqual(['steps[0]["leak.inject"].count: count must be a whole number']);
    expect(errorsOf(file([{ 'load.start': { concurrency: 2, query: 'fast' } }]))[0]).toMatch(/^steps\[0\]\["load.start"\]\.query: /);
  });

  it('an unknown step lists the allowed ones; a step with two keys says so', () => {
    const [unknown] = errorsOf(file([{ 'leak.injct': { count: 1 } }]));
    expect(unknown).toMatch(/^steps\[0\]: unknown step "leak.injct"; a step is one of note, wait, expect, or a command: .*leak\.inject/);
    expect(unknown).not.toMatch(/snapshot\.get|targets\.list|scenario\.play|record\.start/);
    expect(errorsOf(file([{ expect: 'waiting == 0', wait: { ms: 1 } }]))[0]).toMatch(/^steps\[0\]: a step has exactly one key, found "expect", "wait"/);
    expect(errorsOf(file([{ 'scenario.play': {} }]))[0]).toMatch(/^steps\[0\]: "scenario.play" cannot be a step/);
    // A scenario runs where the person connected: it cannot switch to a database of its own choosing.
    expect(errorsOf(file([{ 'target.connect': { kind: 'saved', id: 'prod' } }]))[0]).toMatch(/^steps\[0\]: "target.connect" cannot be a step \(a scenario runs on the connected target/);
  });

  it('a bad condition names the unknown metric and lists the valid ones; bad operators and values too', () => {
    const [metric] = errorsOf(file([{ expect: ['waiting >= 1', 'waitng >= 40'] }]));
    expect(metric).toMatch(/^steps\[0\]\.expect\[1\]: unknown metric "waitng" in "waitng >= 40"; metrics: total, idle, borrowed/);
    expect(errorsOf(file([{ wait: { until: 'waiting => 40' } }]))[0]).toMatch(/^steps\[0\]\.wait\.until: "waiting => 40" is not a condition/);
    expect(errorsOf(file([{ expect: 'waiting >= many' }]))[0]).toBe('steps[0].expect: waiting is a number: "many" in "waiting >= many" is not one');
    expect(errorsOf(file([{ expect: 'lastTimeout.cause == bad luck' }]))[0]).toMatch(/lastTimeout.cause is one of injected fault, leak, slow queries, database unreachable, pool too small, not "bad luck"/);
    expect(errorsOf(file([{ expect: 'lastTimeout.cause > leak' }]))[0]).toMatch(/compare it with == or !=/);
  });

  it('waits, notes, settings, top-level fields and borrower references', () => {
    expect(errorsOf(file([{ wait: { ms: -1 } }]))).toEqual(['steps[0].wait.ms: a whole number of milliseconds from 0 to 600000']);
    expect(errorsOf(file([{ wait: { ms: 5, until: 'idle > 1' } }]))[0]).toMatch(/^steps\[0\]\.wait: write \{"ms": 2000\} or/);
    expect(errorsOf(file([{ note: '' }]))).toEqual(['steps[0].note: a note is text to show']);
    expect(errorsOf(file([{ 'load.stop': { now: true } }]))).toEqual(['steps[0]["load.stop"]: takes no request: write {}']);
    expect(errorsOf(file([{ note: 'x' }], { settings: { max: 0 } }))).toEqual(['settings.max: pool size (max) must be at least 1']);
    expect(errorsOf(JSON.stringify({ steps: [], colour: 'red' }))).toEqual([
      'colour: unknown field; a scenario has version, title, description, target, settings, engines, steps',
      'title: a scenario needs a title (text)',
      'steps: a non-empty list of steps',
    ]);
    expect(errorsOf(file([{ note: 'x' }], { engines: ['oracle'] }))).toEqual(['engines: a non-empty list of "postgres", "mysql"']);
    expect(errorsOf(file([{ note: 'x' }], { target: 'oracle://db' }))[0]).toMatch(/^target: "embedded" or a database URL/);
    expect(errorsOf(file([{ 'tx.commit': { borrowerId: '$order' } }]))[0]).toMatch(/^steps\[0\]\["tx.commit"\]: borrowerId: "\$order" names no earlier tx.begin; add \{"tx.begin": \{"label": "order"\}\}/);
    expect(errorsOf(file([{ 'tx.commit': { borrowerId: 'p1.b3' } }]))[0]).toMatch(/borrowerId: name a transaction begun earlier in the scenario as "\$<its label>"/);
    expect(errorsOf('[]')).toEqual(['a scenario is a JSON object with a title and steps']);
  });

  it('collects every problem, not just the first', () => {
    expect(errorsOf(file([{ note: 1 }, { 'leak.inject': { count: 0 } }, { expect: 'nope' }]))).toHaveLength(3);
  });
});

describe('well-formed scenarios', () => {
  it('a note names a spotlight, checked field by field', () => {
    const r = parseScenario(file([{ note: 'the line', spotlight: 'waiting-line' }, { note: 'plain' }]), 'spot.json');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.scenario.steps).toEqual([
      { kind: 'note', text: 'the line', advance: 'next', spotlight: 'waiting-line' },
      { kind: 'note', text: 'plain', advance: 'next' },
    ]);
    expect(errorsOf(file([{ note: 'x', spotlight: 'queue' }]))).toEqual([
      'steps[0].spotlight: one of "waiting-line", "lane", "comparison", "long-transaction", "instances", "sweep", "database", "diagnosis"',
    ]);
    expect(errorsOf(file([{ note: '', spotlight: 'lane' }]))).toEqual(['steps[0].note: a note is text to show']);
    expect(errorsOf(file([{ wait: { ms: 1 }, spotlight: 'lane' }]))[0]).toMatch(/^steps\[0\]\.spotlight: only a note names a spotlight/);
    expect(errorsOf(file([{ note: 'x', spotlight: 'lane', wait: { ms: 1 } }]))[0]).toMatch(/^steps\[0\]: unknown field "wait" of a note/);
  });

  it('every built-in note names what to show in presenter mode', () => {
    for (const name of BUILT_IN_NAMES) {
      const notes = builtIn(name)?.steps.filter((x) => x.kind === 'note') ?? [];
      for (const n of notes) expect(n, name).toHaveProperty('spotlight');
    }
  });

  it('every built-in passes the parser and names its engines', () => {
    expect(BUILT_IN_NAMES).toHaveLength(9);
    for (const name of BUILT_IN_NAMES) {
      const s = builtIn(name);
      expect(s?.steps.length, name).toBeGreaterThan(0);
      expect(s?.steps.some((x) => x.kind === 'note'), name).toBe(true);
      expect(s?.steps.some((x) => x.kind === 'expect'), name).toBe(true);
    }
  });

  it('a file with every kind of step, as the runner gets it', () => {
    const r = parseScenario(
      file([
        { note: ' look here ' },
        { wait: { ms: 100 } },
        { wait: { until: 'waiting >= 40', timeoutMs: 5000 } },
        { wait: { until: 'idle > 0' } },
        { expect: ['lastTimeout.cause == "pool too small"', 'comparison.ratio > 2'] },
        { 'tx.begin': { label: 'order' } },
        { 'tx.run': { borrowerId: '$order', sql: 'SELECT 1' } },
        { 'load.stop': {} },
      ], { settings: { max: 3 } }),
      'mine.json',
    );
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.scenario).toMatchObject({ name: 'mine.json', title: 'T', target: 'embedded', engines: ['postgres', 'mysql'], settings: { max: 3 } });
    expect(r.scenario.steps).toEqual([
      { kind: 'note', text: 'look here', advance: 'next' },
      { kind: 'wait', ms: 100 },
      { kind: 'wait', until: { metric: 'waiting', op: '>=', value: 40, text: 'waiting >= 40' }, timeoutMs: 5000 },
      { kind: 'wait', until: { metric: 'idle', op: '>', value: 0, text: 'idle > 0' }, timeoutMs: 30_000 },
      {
        kind: 'expect',
        conditions: [
          { metric: 'lastTimeout.cause', op: '==', value: 'pool too small', text: 'lastTimeout.cause == "pool too small"' },
          { metric: 'comparison.ratio', op: '>', value: 2, text: 'comparison.ratio > 2' },
        ],
      },
      { kind: 'command', cmd: 'tx.begin', req: { label: 'order' } },
      { kind: 'command', cmd: 'tx.run', req: { borrowerId: '$order', sql: 'SELECT 1' } },
      { kind: 'command', cmd: 'load.stop', req: undefined },
    ]);
  });
});

describe('a note and how Play goes on from it', () => {
  it('waits for Next by default; "after-reading" reads for a time growing with its length, 4 s at least', () => {
    const r = parseScenario(file([{ note: 'short' }, { note: 'read on', advance: 'after-reading' }]), 'mine.json');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.scenario.steps).toEqual([
      { kind: 'note', text: 'short', advance: 'next' },
      { kind: 'note', text: 'read on', advance: 'after-reading' },
    ]);
    expect(readingMs('short')).toBe(4_000);
    const long = Array.from({ length: 40 }, () => 'word').join(' ');
    expect(readingMs(long)).toBe(14_000);
    expect(readingMs(`${long} more`)).toBeGreaterThan(readingMs(long));
  });

  it('checks each field of a note on its own', () => {
    expect(errorsOf(file([{ note: 'x', advance: 'later' }]))).toEqual(['steps[0].advance: "next" or "after-reading" (Play waits for Next, or goes on after a reading time)']);
    expect(errorsOf(file([{ note: '', advance: 'next' }]))).toEqual(['steps[0].note: a note is text to show']);
    expect(errorsOf(file([{ note: 'x', wait: { ms: 1 } }]))).toEqual(['steps[0]: unknown field "wait" of a note; a note has "note" (its text) and optionally "advance" and "spotlight"']);
  });
});

describe("a scenario's own SQL and target, as a person reviews them", () => {
  const scenario = (steps: unknown[], extra: Record<string, unknown> = {}) => {
    const r = parseScenario(file(steps, extra), 'mine.json');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    return r.scenario;
  };

  it('lists every statement it sends as written, by step: tx.run and custom load queries, nothing else', () => {
    const s = scenario([
      { 'tx.begin': { label: 'x' } },
      { 'tx.run': { borrowerId: '$x', sql: "COPY (SELECT 1) TO PROGRAM 'id'" } },
      { 'load.start': { concurrency: 2, query: 'point' } },
      { 'load.start': { concurrency: 2, query: 'custom', sql: 'DROP TABLE books' } },
      { 'load.spike': { count: 3, query: 'custom' } },
      { 'demo.install': {} },
    ]);
    const sql = scenarioSql(s);
    expect(sql).toEqual([
      { index: 1, cmd: 'tx.run', sql: "COPY (SELECT 1) TO PROGRAM 'id'" },
      { index: 3, cmd: 'load.start', sql: 'DROP TABLE books' },
    ]);
    expect(listSql(sql)).toBe("  step 2 (tx.run): COPY (SELECT 1) TO PROGRAM 'id'\n  step 4 (load.start): DROP TABLE books");
    expect(scenarioSql(scenario([{ 'leak.inject': { count: 1 } }]))).toEqual([]);
    // The built-ins are ours: pinned-transaction sends SQL, and is trusted by the runners.
    expect(scenarioSql(builtIn('pinned-transaction') as Scenario).map((x) => x.cmd)).toEqual(['tx.run', 'tx.run', 'tx.run']);
  });

  it('says when the scenario names another target than the connected one', () => {
    const info = (display: string, embedded: boolean) => ({ ...target, display, embedded });
    const demo = info('postgres://poolscope_demo@127.0.0.1:5000/poolscope_demo', true);
    const prod = info('postgres://app@db.example.com:5432/shop', false);
    expect(targetMismatch('embedded', demo)).toBeNull();
    expect(targetMismatch('embedded', prod)).toBe('This scenario is written for the embedded demo database; it will run on postgres://app@db.example.com:5432/shop, the connected target.');
    expect(targetMismatch('postgres://app@db.example.com:5432/shop', prod)).toBeNull();
    expect(targetMismatch('postgres://app@staging:5432/shop', prod)).toBe('This scenario names postgres://app@staging:5432/shop; it will run on postgres://app@db.example.com:5432/shop, the connected target.');
    expect(targetMismatch(null, prod)).toBeNull(); // a recording from before targets were kept
  });
});

describe('conditions on a snapshot', () => {
  const cond = (text: string): Condition => {
    const c = parseCondition(text);
    if (!c.ok) throw new Error(c.error);
    return c.condition;
  };

  it('counters count from the run’s start; nothing to read fails with null', () => {
    const s = emptySnapshot();
    s.counters.timedOut = 5;
    expect(evaluate(s, cond('timedOut == 5'))).toEqual({ ok: true, seen: 5 });
    expect(evaluate(s, cond('timedOut == 2'), { t: 0, counters: { ...s.counters, timedOut: 3 } })).toEqual({ ok: true, seen: 2 });
    expect(evaluate(s, cond('comparison.ratio > 0'))).toEqual({ ok: false, seen: null });
    expect(evaluate(s, cond('waiting == 0'))).toEqual({ ok: false, seen: null });
  });

  it('pool gauges are the active pool’s', () => {
    const target = { engine: 'postgres', host: 'h', port: 1, database: 'd', user: 'u', tls: { mode: 'disable', use: 'off', ca: null, cert: null, key: null }, ssh: null, display: 'postgres://u@h:1/d', embedded: false } as const;
    const settings = { max: 2, acquireTimeoutMs: 0, acquireTimeoutByEngine: false, idleTimeoutMs: 0, queryTimeoutMs: 0, min: null, maxUses: null, maxLifetimeSeconds: null, maxIdle: null, queueLimit: null, waitForConnections: null };
    let seq = 0;
    const at = <T extends object>(e: T) => ({ ...e, seq: ++seq, t: seq });
    const s = reduceAll(emptySnapshot(), [
      at({ type: 'pool.created' as const, poolId: 'p1', target, settings }),
      at({ type: 'pool.verified' as const, poolId: 'p1', serverVersion: '17', tls: null }),
      at({ type: 'borrower.enqueued' as const, poolId: 'p1', borrowerId: 'b1', label: 'x', site: 's', deadline: null }),
      at({ type: 'pool.created' as const, poolId: 'p2', target, settings }),
      at({ type: 'pool.verified' as const, poolId: 'p2', serverVersion: '17', tls: null }),
    ]);
    expect(evaluate(s, cond('waiting == 0'))).toEqual({ ok: true, seen: 0 });
    expect(evaluate(s, cond('max == 2'))).toEqual({ ok: true, seen: 2 });
  });
});
