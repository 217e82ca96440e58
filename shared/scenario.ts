import { z } from 'zod';
import type { PoolEvent } from './events';
import { type Agree, type Holds, poolEventSchema, snapshotSchema } from './event-schema';
import type { Snapshot } from './snapshot';
import type { Spotlight } from './spotlight';

// Scenarios: a script of steps over the typed API, for workshops (played in the app, one
// step at a time, each explained) and for CI (run headless, exits non-zero when an
// expectation fails). One schema, here, for files, built-ins and both runners.
//
// A step is an object with exactly one key:
//   { "note": "text shown to the audience" }  the player stops there until Next;
//   { "note": "…", "advance": "after-reading" } goes on by itself after readingMs(text)
//   { "note": "…", "spotlight": "waiting-line" }  a note may name what to show (shared/spotlight.ts)
//   { "wait": { "ms": 2000 } }  or  { "wait": { "until": "waiting >= 40", "timeoutMs": 10000 } }
//   { "expect": "waiting >= 40" }  or  { "expect": ["timedOut >= 1", "lastTimeout.cause == leak"] }
//   { "<command>": <request> }  any command of shared/api.ts but snapshot.get, targets.* and
//                               scenario.* / record.*, e.g. { "leak.inject": { "count": 3 } };
//                               a command without a request takes {} ({ "load.stop": {} })
// A borrowerId (tx.run, tx.commit, tx.rollback, lease.*) names a transaction the scenario
// began: "$<label>" of an earlier { "tx.begin": { "label": "<label>" } }.
// A condition is `<metric> <op> <value>`, op one of == != >= <= > <, the metrics below
// (each defined in shared/conditions.ts).

/** What a condition can read from the snapshot (and the server view), by name. */
export const METRICS = [
  'total',
  'idle',
  'borrowed',
  'connecting',
  'waiting',
  'max',
  'acquired',
  'timedOut',
  'failed',
  'released',
  'leaksFlagged',
  'flagged',
  'inTransaction',
  'txBegan',
  'txCommitted',
  'txRolledBack',
  'opened',
  'closed',
  'statements',
  'statementErrors',
  'serverSessions',
  'maxConnections',
  'refusals',
  'recoveries',
  'lastRecoveryMs',
  'socketsLeftOpen',
  'comparison.ratio',
  'comparison.taxMs',
  'patterns.holdingRatio',
  'load.p99Ms',
  'sweep.points',
  'sweep.bestSize',
  'sweep.scaling',
  'lastTimeout.cause',
] as const;
export type Metric = (typeof METRICS)[number];

export const OPERATORS = ['==', '!=', '>=', '<=', '>', '<'] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Condition {
  metric: Metric;
  op: Operator;
  /** A number, or a word for `lastTimeout.cause` (injected fault, leak, slow queries, database unreachable, pool too small). */
  value: number | string;
  /** As written, for messages. */
  text: string;
}

export const SCENARIO_VERSION = 1;

/**
 * How Play goes on from a note: 'next' waits for the person (Next, Space, Right, PageDown);
 * 'after-reading' waits readingMs(text) and goes on by itself. Step and Next always stop at
 * the next note; the headless runner never waits at a note.
 */
export const NOTE_ADVANCES = ['next', 'after-reading'] as const;
export type NoteAdvance = (typeof NOTE_ADVANCES)[number];

/** Reading time of a note read aloud or silently by an audience: 4 s at least, 2 s plus 300 ms a word. */
export function readingMs(text: string): number {
  const words = text.split(/\s+/).filter((w) => w !== '').length;
  return Math.max(4_000, 2_000 + words * 300);
}

/** A scenario file as written (JSON), before its steps are checked one by one. */
export interface ScenarioFile {
  version?: number;
  title: string;
  description?: string;
  /** "embedded" (default) or a database URL; `--target` overrides it. */
  target?: string;
  /** Pool settings to start from, as pool.configure takes them. */
  settings?: Record<string, unknown>;
  /** Engines it applies to (default both); a run on another engine is refused. */
  engines?: ('postgres' | 'mysql')[];
  steps: Record<string, unknown>[];
}

/** One step, checked: what the runners execute. */
export type Step =
  | { kind: 'note'; text: string; advance: NoteAdvance; spotlight?: Spotlight }
  | { kind: 'wait'; ms: number }
  | { kind: 'wait'; until: Condition; timeoutMs: number }
  | { kind: 'expect'; conditions: Condition[] }
  | { kind: 'command'; cmd: string; req: unknown };

export interface Scenario {
  name: string;
  title: string;
  description: string;
  target: string;
  settings: Record<string, unknown>;
  engines: ('postgres' | 'mysql')[];
  steps: Step[];
}

/** One statement of a scenario's own SQL, by step: what a person reads before a file runs. */
export interface ScenarioSql {
  index: number;
  /** The command that sends it: tx.run, or load.start with a custom query. */
  cmd: string;
  sql: string;
}

/**
 * A file's SQL awaiting confirmation: the engine plays the file only once it was confirmed
 * (scenario.confirm with this id), so a shared file cannot run its SQL on a Play alone.
 */
export interface ScenarioReview {
  id: string;
  sql: ScenarioSql[];
}

/** A built-in scenario as listed. */
export interface ScenarioInfo {
  name: string;
  title: string;
  description: string;
  steps: number;
  /** Engines it applies to. */
  engines: ('postgres' | 'mysql')[];
}

export type StepStatus = 'pending' | 'running' | 'passed' | 'failed' | 'skipped';
export type RunnerState = 'idle' | 'playing' | 'paused' | 'finished' | 'failed';

/** The outcome of one step, as the runner reports it and `--json` prints it. */
export interface StepOutcome {
  index: number;
  /** One line: "note: …", "wait until waiting >= 40", "leak.inject {count: 3}"… */
  summary: string;
  status: StepStatus;
  /** For an expect: each condition with the value seen. For a failure: what failed and what to check. */
  message: string | null;
  startedAt: number | null;
  endedAt: number | null;
}

/** A recording of a session: enough to rebuild every snapshot with the shared reducer, with no database. */
export interface Recording {
  format: 'poolscope-recording';
  version: 1;
  recordedAt: string;
  /** Where the events came from, as shown (never a password). */
  target: string | null;
  /** The snapshot before the first event (its seq is the first event's seq - 1). */
  initial: Snapshot;
  /** Every event from then on, in order, raw (never coalesced). */
  events: PoolEvent[];
  /** Scenario notes and marks, by seq. */
  notes: { seq: number; text: string }[];
}

export const recordingSchema = z
  .object({
    format: z.literal('poolscope-recording', { error: 'not a Poolscope recording (format must be "poolscope-recording")' }),
    version: z.literal(1, { error: 'unsupported recording version (this Poolscope reads version 1)' }),
    recordedAt: z.string().max(100),
    target: z.string().max(10_000).nullable(),
    initial: snapshotSchema,
    events: z.array(poolEventSchema),
    notes: z.array(z.strictObject({ seq: z.number().int().min(0), text: z.string().max(100_000) })).max(100_000),
  })
  .strict();

export type RecordingAgrees = Holds<Agree<z.infer<typeof recordingSchema>, Recording>>;

/** How far an event's time may stand before the first event's (an event stamped with a time read a moment earlier). */
const BEFORE_FIRST_MS = 60_000;
/** The longest recording read: a clock that would step through more is a broken file, not a session. */
export const RECORDING_SPAN_MAX_MS = 31 * 24 * 3_600_000;

/** `events[812] (connection.opened).connId`, `initial.connections["__proto__"]`: where in the file. */
function where(path: readonly PropertyKey[], json: unknown): string {
  let out = '';
  let at: unknown = json;
  for (const [i, key] of path.entries()) {
    at = typeof at === 'object' && at !== null ? (at as Record<PropertyKey, unknown>)[key as string] : undefined;
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_]\w*$/.test(key)) out += `${out ? '.' : ''}${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
    // An event names its type, so the reader knows which one is at fault.
    if (i === 1 && path[0] === 'events') {
      const type = typeof at === 'object' && at !== null ? (at as { type?: unknown }).type : undefined;
      out += typeof type === 'string' ? ` (${type.slice(0, 40)})` : '';
    }
  }
  return out;
}

/**
 * A recording read from a file (parsed JSON), checked before anything replays it: every
 * field of the snapshot and of every event against the schemas (the API's own), seqs
 * increasing, times within the recording's span. The refusal names the event index, its
 * type and the field: `events[812] (connection.opened).connId: not a connection id ...`.
 */
export function checkRecording(json: unknown): { ok: true; recording: Recording } | { ok: false; error: string } {
  const r = recordingSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue ? where(issue.path, json) : '';
    return { ok: false, error: `${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}` };
  }
  const { initial, events } = r.data;
  const first = events[0];
  let seq = initial.seq;
  for (const [i, e] of events.entries()) {
    if (e.seq <= seq) return { ok: false, error: `events[${i}] (${e.type}).seq: ${e.seq} does not follow ${seq}` };
    seq = e.seq;
    if (first && (e.t < first.t - BEFORE_FIRST_MS || e.t > first.t + RECORDING_SPAN_MAX_MS)) {
      return { ok: false, error: `events[${i}] (${e.type}).t: ${e.t} is not within 60 s before and 31 days after the first event (t ${first.t})` };
    }
  }
  return { ok: true, recording: r.data };
}
