import type { z } from 'zod';
import { type CommandName, commandSchemas, poolSettingsInputSchema } from './api';
import { parseCondition } from './conditions';
import { type Condition, NOTE_ADVANCES, type NoteAdvance, SCENARIO_VERSION, type Scenario, type Step } from './scenario';
import { SPOTLIGHTS, type Spotlight } from './spotlight';

// A scenario file, checked field by field: every problem is reported with the path of the
// field at fault (the caller says which file) (`steps[3]["leak.inject"].count: count must be at least 1`), never thrown.
// Command steps are checked with the API's own schemas, so a scenario accepts exactly
// what the UI may send. JSON only: a YAML reader would be a second format to document
// and test for no gain over JSON with notes.

export type ParseResult = { ok: true; scenario: Scenario } | { ok: false; errors: string[] };

/**
 * Commands a scenario may not run: reads, the runner and recorder themselves, and targets: a
 * scenario runs where the person running it connected, never somewhere of its own choosing
 * (a saved target's kept password included).
 */
const NOT_IN_SCENARIOS = /^(snapshot\.get|target\.|targets\.|scenario\.|record\.)/;
export const STEP_COMMANDS = (Object.keys(commandSchemas) as CommandName[]).filter((c) => !NOT_IN_SCENARIOS.test(c));
const STEP_KINDS = ['note', 'wait', 'expect'] as const;
const TOP_LEVEL = ['version', 'title', 'description', 'target', 'settings', 'engines', 'steps'] as const;
const ENGINES = ['postgres', 'mysql'] as const;
/** Commands that take a borrower, which a scenario names as "$<label>" of its own tx.begin. */
const BORROWER_COMMANDS: ReadonlySet<string> = new Set(['tx.run', 'tx.commit', 'tx.rollback', 'lease.release', 'lease.destroy']);

export const WAIT_MAX_MS = 600_000;
export const DEFAULT_WAIT_TIMEOUT_MS = 30_000;
const MAX_STEPS = 1_000;
const MAX_ERRORS = 20;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const key = (k: string) => (/^[A-Za-z_]\w*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);
const at = (base: string, path: PropertyKey[]) => base + path.map((p) => (typeof p === 'number' ? `[${p}]` : key(String(p)))).join('');

function zodErrors(where: string, issues: z.ZodError['issues']): string[] {
  return issues.map((i) => `${at(where, i.path)}: ${i.message}`);
}

/** Line and column of a JSON syntax error, from the position V8 reports. */
function jsonError(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const pos = /at position (\d+)/.exec(message);
  if (!pos) return `not valid JSON: ${message}`;
  const before = text.slice(0, Number(pos[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `not valid JSON at line ${line}, column ${column}: ${message.replace(/\s*in JSON at position \d+.*$/, '')}`;
}

/** A scenario file's text (JSON) → the checked scenario (named `name`), or every problem found. */
export function parseScenario(text: string, name: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, errors: [jsonError(text, err)] };
  }
  return checkScenario(value, name);
}

/** An already-parsed scenario file (a built-in's JSON) → the checked scenario (named `name`), or every problem found. */
export function checkScenario(value: unknown, name: string): ParseResult {
  const errors: string[] = [];
  if (!isObject(value)) return { ok: false, errors: ['a scenario is a JSON object with a title and steps'] };
  for (const k of Object.keys(value)) {
    if (!(TOP_LEVEL as readonly string[]).includes(k)) errors.push(`${k}: unknown field; a scenario has ${TOP_LEVEL.join(', ')}`);
  }
  if (value.version !== undefined && value.version !== SCENARIO_VERSION) errors.push(`version: this Poolscope reads scenario version ${SCENARIO_VERSION}`);
  const title = value.title;
  if (typeof title !== 'string' || title.trim() === '') errors.push('title: a scenario needs a title (text)');
  const description = value.description ?? '';
  if (typeof description !== 'string') errors.push('description: must be text');
  const target = value.target ?? 'embedded';
  if (typeof target !== 'string' || !(target === 'embedded' || /^(postgres|postgresql|mysql|mariadb):\/\//.test(target))) {
    errors.push('target: "embedded" or a database URL (postgres://… or mysql://…)');
  }
  const settings = poolSettingsInputSchema.safeParse(value.settings ?? {});
  if (!settings.success) errors.push(...zodErrors('settings', settings.error.issues));
  const engines = value.engines ?? [...ENGINES];
  if (!Array.isArray(engines) || engines.length === 0 || engines.some((e) => !(ENGINES as readonly unknown[]).includes(e))) {
    errors.push(`engines: a non-empty list of ${ENGINES.map((e) => `"${e}"`).join(', ')}`);
  }
  const steps: Step[] = [];
  if (!Array.isArray(value.steps) || value.steps.length === 0) errors.push('steps: a non-empty list of steps');
  else if (value.steps.length > MAX_STEPS) errors.push(`steps: at most ${MAX_STEPS} steps`);
  else {
    const labels = new Set<string>();
    value.steps.forEach((raw, i) => {
      const step = checkStep(raw, `steps[${i}]`, labels, errors);
      if (step) steps.push(step);
    });
  }
  if (errors.length > 0) return { ok: false, errors: errors.length > MAX_ERRORS ? [...errors.slice(0, MAX_ERRORS), `… and ${errors.length - MAX_ERRORS} more`] : errors };
  return {
    ok: true,
    scenario: {
      name,
      title: (title as string).trim(),
      description: description as string,
      target: target as string,
      settings: settings.data ?? {},
      engines: engines as Scenario['engines'],
      steps,
    },
  };
}

function checkStep(raw: unknown, where: string, labels: Set<string>, errors: string[]): Step | null {
  const allowed = `a step is one of ${STEP_KINDS.join(', ')}, or a command: ${STEP_COMMANDS.join(', ')}`;
  if (!isObject(raw)) {
    errors.push(`${where}: a step is an object with one key, e.g. {"note": "…"}; ${allowed}`);
    return null;
  }
  if (Object.hasOwn(raw, 'note')) return checkNote(raw, where, errors);
  const keys = Object.keys(raw);
  if (keys.includes('spotlight')) {
    errors.push(`${where}.spotlight: only a note names a spotlight, as {"note": "…", "spotlight": "waiting-line"}`);
    return null;
  }
  if (keys.length !== 1) {
    errors.push(`${where}: a step has exactly one key, found ${keys.length === 0 ? 'none' : keys.map((k) => `"${k}"`).join(', ')}; ${allowed}`);
    return null;
  }
  const kind = keys[0] as string;
  const body = raw[kind];
  const here = where + key(kind);
  const fail = (message: string) => {
    errors.push(`${here}: ${message}`);
    return null;
  };
  switch (kind) {
    case 'wait':
      return checkWait(body, here, errors);
    case 'expect': {
      const texts = typeof body === 'string' ? [body] : body;
      if (!Array.isArray(texts) || texts.length === 0) return fail('a condition such as "waiting >= 40", or a non-empty list of them');
      const conditions: Condition[] = [];
      texts.forEach((t, j) => {
        const w = typeof body === 'string' ? here : `${here}[${j}]`;
        if (typeof t !== 'string') return void errors.push(`${w}: a condition is text such as "waiting >= 40"`);
        const c = parseCondition(t);
        if (c.ok) conditions.push(c.condition);
        else errors.push(`${w}: ${c.error}`);
      });
      return conditions.length === texts.length ? { kind: 'expect', conditions } : null;
    }
  }
  if (!(STEP_COMMANDS as string[]).includes(kind)) {
    const reserved = Object.hasOwn(commandSchemas, kind)
      ? `"${kind}" cannot be a step (a scenario runs on the connected target, and does not read snapshots or drive the runner or recorder)`
      : `unknown step "${kind}"`;
    errors.push(`${where}: ${reserved}; ${allowed}`);
    return null;
  }
  const cmd = kind as CommandName;
  const schema = commandSchemas[cmd];
  // A command without a request is written {} (or null) in a file.
  const noRequest = schema.safeParse(undefined).success;
  if (noRequest) {
    if (body === null || (isObject(body) && Object.keys(body).length === 0)) return { kind: 'command', cmd, req: undefined };
    return fail('takes no request: write {}');
  }
  let req = body;
  if (BORROWER_COMMANDS.has(cmd) && isObject(body) && typeof body.borrowerId === 'string') {
    const ref = /^\$(.+)$/.exec(body.borrowerId);
    if (!ref) return fail(`borrowerId: name a transaction begun earlier in the scenario as "$<its label>" (a borrower's id is known only when it runs)`);
    if (!labels.has(ref[1] as string)) return fail(`borrowerId: "${body.borrowerId}" names no earlier tx.begin; add {"tx.begin": {"label": "${ref[1]}"}} before this step`);
    // Checked with a stand-in id; the runner puts the real one in.
    req = { ...body, borrowerId: 'b0' };
  }
  const r = schema.safeParse(req);
  if (!r.success) {
    errors.push(...zodErrors(here, r.error.issues));
    return null;
  }
  if (cmd === 'tx.begin') labels.add((body as { label?: string }).label ?? 'transaction');
  return { kind: 'command', cmd, req: body };
}

/** `{"note": "…"}` with its optional fields, each checked on its own. */
function checkNote(raw: Record<string, unknown>, where: string, errors: string[]): Step | null {
  const before = errors.length;
  const extra = Object.keys(raw).filter((k) => k !== 'note' && k !== 'advance' && k !== 'spotlight');
  if (extra.length > 0) errors.push(`${where}: unknown field ${extra.map((k) => `"${k}"`).join(', ')} of a note; a note has "note" (its text) and optionally "advance" and "spotlight"`);
  const text = raw.note;
  if (typeof text !== 'string' || text.trim() === '') errors.push(`${where}.note: a note is text to show`);
  const advance = raw.advance ?? 'next';
  if (!(NOTE_ADVANCES as readonly unknown[]).includes(advance)) {
    errors.push(`${where}.advance: ${NOTE_ADVANCES.map((a) => `"${a}"`).join(' or ')} (Play waits for Next, or goes on after a reading time)`);
  }
  const spotlight = raw.spotlight;
  if (spotlight !== undefined && !(SPOTLIGHTS as readonly unknown[]).includes(spotlight)) errors.push(`${where}.spotlight: one of ${SPOTLIGHTS.map((x) => `"${x}"`).join(', ')}`);
  if (errors.length > before) return null;
  const step: Step = { kind: 'note', text: (text as string).trim(), advance: advance as NoteAdvance };
  return spotlight === undefined ? step : { ...step, spotlight: spotlight as Spotlight };
}

function checkWait(body: unknown, here: string, errors: string[]): Step | null {
  const ms = (v: unknown, field: string, min: number): number | null => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= WAIT_MAX_MS) return v;
    errors.push(`${here}.${field}: a whole number of milliseconds from ${min} to ${WAIT_MAX_MS}`);
    return null;
  };
  const form = 'write {"ms": 2000} or {"until": "waiting >= 40", "timeoutMs": 10000}';
  if (!isObject(body)) {
    errors.push(`${here}: ${form}`);
    return null;
  }
  const extra = Object.keys(body).filter((k) => !['ms', 'until', 'timeoutMs'].includes(k));
  if (extra.length > 0 || (body.ms === undefined) === (body.until === undefined) || (body.ms !== undefined && body.timeoutMs !== undefined)) {
    errors.push(`${here}: ${extra.length > 0 ? `unknown field ${extra.map((k) => `"${k}"`).join(', ')}; ` : ''}${form}`);
    return null;
  }
  if (body.ms !== undefined) {
    const n = ms(body.ms, 'ms', 0);
    return n === null ? null : { kind: 'wait', ms: n };
  }
  const timeoutMs = body.timeoutMs === undefined ? DEFAULT_WAIT_TIMEOUT_MS : ms(body.timeoutMs, 'timeoutMs', 1);
  if (typeof body.until !== 'string') {
    errors.push(`${here}.until: a condition such as "waiting >= 40"`);
    return null;
  }
  const c = parseCondition(body.until);
  if (!c.ok) {
    errors.push(`${here}.until: ${c.error}`);
    return null;
  }
  return timeoutMs === null ? null : { kind: 'wait', until: c.condition, timeoutMs };
}

/** One line per step: what it does, as the runners show it. */
export function stepSummary(step: Step): string {
  switch (step.kind) {
    case 'note':
      return `note: ${step.text.length > 80 ? `${step.text.slice(0, 79)}…` : step.text}`;
    case 'wait':
      return 'ms' in step ? `wait ${step.ms} ms` : `wait until ${step.until.text} (at most ${step.timeoutMs} ms)`;
    case 'expect':
      return `expect ${step.conditions.map((c) => c.text).join(', ')}`;
    case 'command':
      return step.req === undefined ? step.cmd : `${step.cmd} ${JSON.stringify(step.req)}`;
  }
}
