// The forms of the controls, in plain TypeScript: what the user typed → a request the API
// accepts, or a readable message. The zod schemas of shared/api.ts are the one source of
// the ranges; nothing is sent while the form is invalid.

import { type Commands, type LoadSpec, type PoolSettingsInput, commandSchemas, loadSpecSchema, poolSettingsInputSchema } from '../../../../shared/api';
import type { EngineKind, PoolSettings } from '../../../../shared/events';
import { type Toxics, toxicsInputSchema } from '../../../../shared/faults';
import { SETTINGS_OF } from '../../../../shared/settings-help';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** What an `<input type="number">` bound value can be: a number, or '' / null when empty. */
export type NumberField = number | string | null | undefined;

function isEmpty(v: NumberField): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '') || (typeof v === 'number' && Number.isNaN(v));
}

function toNumber(v: NumberField): number {
  return typeof v === 'number' ? v : Number(String(v).trim());
}

function firstIssue(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  // The schemas name their field in the message, except the custom SQL checks.
  return issue.path[0] === 'sql' ? `custom SQL: ${issue.message}` : issue.message;
}

export interface LoadForm {
  concurrency: NumberField;
  /** Requests per second; empty or 0: closed loop. */
  rate: NumberField;
  query: LoadSpec['query'];
  sleepMs: NumberField;
  sql: string;
  /** 1 in N requests leaks; empty or 0: none. */
  leakOneIn: NumberField;
}

/** A load.start request from the form, checked against loadSpecSchema. */
export function loadSpecFrom(form: LoadForm): Checked<LoadSpec> {
  if (isEmpty(form.concurrency)) return { ok: false, error: 'concurrency is empty' };
  const spec: Record<string, unknown> = { concurrency: toNumber(form.concurrency), query: form.query };
  if (!isEmpty(form.rate) && toNumber(form.rate) !== 0) spec.rate = toNumber(form.rate);
  if (form.query === 'sleep') {
    if (isEmpty(form.sleepMs)) return { ok: false, error: 'sleep (ms) is empty' };
    spec.sleepMs = toNumber(form.sleepMs);
  }
  if (form.query === 'custom') spec.sql = form.sql;
  if (!isEmpty(form.leakOneIn) && toNumber(form.leakOneIn) !== 0) spec.leakOneIn = toNumber(form.leakOneIn);
  const r = loadSpecSchema.safeParse(spec);
  if (!r.success) return { ok: false, error: firstIssue(r.error) };
  return { ok: true, value: r.data };
}

/** A whole number in [min, max] from a number field, or a message naming `what`. */
export function wholeNumber(v: NumberField, min: number, max: number, what: string): Checked<number> {
  if (isEmpty(v)) return { ok: false, error: `${what} is empty` };
  const n = toNumber(v);
  if (!Number.isFinite(n)) return { ok: false, error: `${what} must be a number` };
  if (!Number.isInteger(n)) return { ok: false, error: `${what} must be a whole number` };
  if (n < min) return { ok: false, error: `${what} must be at least ${min}` };
  if (n > max) return { ok: false, error: `${what} must be at most ${max}` };
  return { ok: true, value: n };
}

export type SettingKey = (typeof SETTINGS_OF)[EngineKind][number];
/** The form's values: numbers (or empty) for numeric settings, a boolean for waitForConnections. */
export type SettingsForm = Partial<Record<SettingKey, NumberField | boolean>>;

/** The form's starting values: the pool's settings as applied. */
export function settingsFormOf(settings: PoolSettings, engine: EngineKind): SettingsForm {
  const form: SettingsForm = {};
  for (const key of SETTINGS_OF[engine]) {
    const v = settings[key];
    form[key] = v === null ? '' : v;
  }
  return form;
}

/**
 * Only the settings that differ from the pool's, checked against poolSettingsInputSchema:
 * a pool.configure request, or the first problem. An empty setting the pool has no value
 * for is left alone; an empty one it has a value for is an error (settings are not unset).
 */
export function settingsChanges(form: SettingsForm, current: PoolSettings, engine: EngineKind): Checked<PoolSettingsInput> {
  const changes: Record<string, unknown> = {};
  for (const key of SETTINGS_OF[engine]) {
    const v = form[key];
    const cur = current[key];
    if (typeof v === 'boolean' || typeof cur === 'boolean') {
      const b = Boolean(v);
      if (b !== (cur ?? true)) changes[key] = b;
      continue;
    }
    if (isEmpty(v as NumberField)) {
      if (cur === null) continue;
      return { ok: false, error: `${key} is empty` };
    }
    const n = toNumber(v as NumberField);
    if (n !== cur) changes[key] = n;
  }
  const r = poolSettingsInputSchema.safeParse(changes);
  if (!r.success) return { ok: false, error: firstIssue(r.error) };
  return { ok: true, value: r.data };
}

type NumericToxic = 'latencyMs' | 'jitterMs' | 'bandwidthKbps';

/** A fault.set request changing one numeric condition of the link, checked against toxicsInputSchema. */
export function toxicFrom(key: NumericToxic, v: NumberField): Checked<Partial<Toxics>> {
  const what = { latencyMs: 'latency (ms)', jitterMs: 'jitter (ms)', bandwidthKbps: 'bandwidth (KB/s)' }[key];
  if (isEmpty(v)) return { ok: false, error: `${what} is empty` };
  const r = toxicsInputSchema.safeParse({ [key]: toNumber(v) });
  if (!r.success) return { ok: false, error: firstIssue(r.error) };
  return { ok: true, value: r.data };
}

export interface InstancesForm {
  count: NumberField;
  poolSize: NumberField;
  query: Commands['instances.start']['req']['query'];
  sleepMs: NumberField;
}

/** An instances.start request from the form, checked against its schema. */
export function instancesRequestFrom(form: InstancesForm): Checked<Commands['instances.start']['req']> {
  if (isEmpty(form.count)) return { ok: false, error: 'instances is empty' };
  if (isEmpty(form.poolSize)) return { ok: false, error: 'pool size per instance is empty' };
  const req: Record<string, unknown> = { count: toNumber(form.count), poolSize: toNumber(form.poolSize), query: form.query };
  if (form.query === 'sleep') {
    if (isEmpty(form.sleepMs)) return { ok: false, error: 'sleep (ms) is empty' };
    req.sleepMs = toNumber(form.sleepMs);
  }
  const r = commandSchemas['instances.start'].safeParse(req);
  if (!r.success) return { ok: false, error: firstIssue(r.error) };
  return { ok: true, value: r.data };
}

/** "1, 2, 4,8 16" → [1, 2, 4, 8, 16]: commas or spaces between whole numbers, duplicates dropped, ascending. */
export function parseSizes(text: string): Checked<number[]> {
  const parts = text.split(/[\s,]+/).filter((p) => p !== '');
  if (parts.length === 0) return { ok: false, error: 'pool sizes are empty' };
  const sizes = new Set<number>();
  for (const p of parts) {
    if (!/^\d+$/.test(p)) return { ok: false, error: `pool sizes: "${p}" is not a whole number` };
    sizes.add(Number(p));
  }
  return { ok: true, value: [...sizes].sort((a, b) => a - b) };
}

export interface SweepForm {
  sizes: string;
  secondsEach: NumberField;
  clients: NumberField;
  query: Commands['sweep.start']['req']['query'];
}

/** A sweep.start request from the form, checked against its schema. */
export function sweepRequestFrom(form: SweepForm): Checked<Commands['sweep.start']['req']> {
  const sizes = parseSizes(form.sizes);
  if (!sizes.ok) return sizes;
  if (isEmpty(form.secondsEach)) return { ok: false, error: 'seconds per size is empty' };
  if (isEmpty(form.clients)) return { ok: false, error: 'clients is empty' };
  const r = commandSchemas['sweep.start'].safeParse({ sizes: sizes.value, secondsEach: toNumber(form.secondsEach), clients: toNumber(form.clients), query: form.query });
  if (!r.success) return { ok: false, error: firstIssue(r.error) };
  return { ok: true, value: r.data };
}
