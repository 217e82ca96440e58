import { TIMEOUT_CAUSES, type TimeoutCause } from './diagnosis';
import { recoveryMs } from './faults';
import { type Condition, METRICS, type Metric, OPERATORS, type Operator } from './scenario';
import { type Counters, type Snapshot, isBorrowedState, poolCounts } from './snapshot';

// Conditions of `wait until` and `expect` steps: `<metric> <op> <value>`, read from a
// snapshot. Pure, so the runner evaluates them on the live snapshot and a replay or a
// test on any rebuilt one.

/** Where a run started: counters count from here, and timeouts, recoveries and stats older than `t` are not its own. */
export interface RunBase {
  t: number;
  counters: Counters;
}

/** The one metric whose value is a word; the others are numbers. */
const WORD_METRICS: ReadonlySet<Metric> = new Set(['lastTimeout.cause']);

const CONDITION = /^\s*([A-Za-z][\w.]*)\s*(==|!=|>=|<=|>|<)\s*(.*?)\s*$/;

/** Reads `<metric> <op> <value>`; an error names what is wrong and lists what is allowed. */
export function parseCondition(text: string): { ok: true; condition: Condition } | { ok: false; error: string } {
  const m = CONDITION.exec(text);
  if (!m) return { ok: false, error: `"${text}" is not a condition: write <metric> <op> <value>, e.g. "waiting >= 40", with op one of ${OPERATORS.join(' ')}` };
  const [, name = '', op = '', raw = ''] = m;
  if (!(METRICS as readonly string[]).includes(name)) return { ok: false, error: `unknown metric "${name}" in "${text}"; metrics: ${METRICS.join(', ')}` };
  const metric = name as Metric;
  const shown = text.trim();
  if (WORD_METRICS.has(metric)) {
    if (op !== '==' && op !== '!=') return { ok: false, error: `${metric} is a word: compare it with == or !=, not ${op}` };
    const word = raw.replace(/^(["'])(.*)\1$/, '$2');
    if (!TIMEOUT_CAUSES.includes(word as TimeoutCause)) return { ok: false, error: `${metric} is one of ${TIMEOUT_CAUSES.join(', ')}, not "${word}"` };
    return { ok: true, condition: { metric, op: op as Operator, value: word, text: shown } };
  }
  const value = Number(raw);
  if (raw === '' || !Number.isFinite(value)) return { ok: false, error: `${metric} is a number: "${raw}" in "${text}" is not one` };
  return { ok: true, condition: { metric, op: op as Operator, value, text: shown } };
}

const counter = (k: keyof Omit<Counters, 'closedBy'>) => (s: Snapshot, base: RunBase | null) => s.counters[k] - (base?.counters[k] ?? 0);
const since = (t: number, base: RunBase | null) => base === null || t >= base.t;

/** The run's recoveries: outages that began after it started. */
function recoveries(s: Snapshot, base: RunBase | null) {
  return s.faults.recoveries.filter((r) => since(r.startedAt, base));
}

function sweepThroughput(s: Snapshot, pick: 'first' | 'last'): number | null {
  const points = [...(s.sweep?.points ?? [])].sort((a, b) => a.size - b.size);
  return (pick === 'first' ? points[0] : points.at(-1))?.throughput ?? null;
}

/**
 * Every metric, defined. Pool gauges (total … max) are the active pool's, now. Counters
 * (acquired … statementErrors) count from the run's start. Stats (comparison, patterns,
 * load) are their latest interval, if it ended after the run's start. null: nothing to
 * read yet (the condition then fails and says so).
 */
const READ: Record<Metric, (s: Snapshot, base: RunBase | null) => number | string | null> = {
  total: (s) => active(s)?.total ?? null,
  idle: (s) => active(s)?.idle ?? null,
  borrowed: (s) => active(s)?.borrowed ?? null,
  connecting: (s) => active(s)?.connecting ?? null,
  waiting: (s) => active(s)?.waiting ?? null,
  max: (s) => active(s)?.max ?? null,
  acquired: counter('acquired'),
  timedOut: counter('timedOut'),
  failed: counter('failed'),
  released: counter('released'),
  leaksFlagged: counter('leaksFlagged'),
  /** Borrowers flagged as leaks that still hold their connection, in any pool. */
  flagged: (s) => Object.values(s.borrowers).filter((b) => b.flagged).length,
  /** Connections inside a transaction now (active or failed), in any pool. */
  inTransaction: (s) => Object.values(s.connections).filter((c) => isBorrowedState(c.state) && c.tx !== 'idle').length,
  txBegan: counter('txBegan'),
  txCommitted: counter('txCommitted'),
  txRolledBack: counter('txRolledBack'),
  opened: counter('opened'),
  closed: counter('closed'),
  statements: counter('statements'),
  statementErrors: counter('statementErrors'),
  /** Sessions the server lists (every client's, as the monitor last read them). */
  serverSessions: (s) => s.server?.sessions.length ?? null,
  maxConnections: (s) => s.server?.maxConnections ?? null,
  /** Connections the server refused to the simulated instances (out of slots), summed. */
  refusals: (s) => (s.instances ? Object.values(s.instances.refusals).reduce((a, b) => a + b, 0) : null),
  recoveries: (s, base) => recoveries(s, base).length,
  /** From the fault to the pool serving again, of the run's last recovery. */
  lastRecoveryMs: (s, base) => {
    const r = recoveries(s, base).at(-1);
    return r ? recoveryMs(r) : null;
  },
  socketsLeftOpen: (s, base) => recoveries(s, base).at(-1)?.socketsLeftOpen ?? null,
  /** Requests the pool served per request served with a connection of its own, latest interval. */
  'comparison.ratio': (s, base) => {
    const l = s.comparison?.recent.at(-1);
    if (!l || !since(l.t, base) || l.perRequest.ok === 0) return null;
    return l.pooled.ok / l.perRequest.ok;
  },
  /** The connection tax: per-request p50 minus pooled p50 (ms), latest interval. */
  'comparison.taxMs': (s, base) => {
    const l = s.comparison?.recent.at(-1);
    if (!l || !since(l.t, base) || l.perRequest.p50Ms === null || l.pooled.p50Ms === null) return null;
    return l.perRequest.p50Ms - l.pooled.p50Ms;
  },
  /** Connections held by the in-transaction pattern per connection held by the commit-first one (counted as at least 1), latest interval. */
  'patterns.holdingRatio': (s, base) => {
    const l = s.patterns?.recent.at(-1);
    if (!l || !since(l.t, base)) return null;
    return l.inTransaction.holding / Math.max(1, l.afterCommit.holding);
  },
  'load.p99Ms': (s, base) => (s.loadStats && since(s.loadStats.t, base) ? s.loadStats.p99Ms : null),
  'sweep.points': (s) => s.sweep?.points.length ?? null,
  /** The pool size that served the most requests per second. */
  'sweep.bestSize': (s) => {
    const points = s.sweep?.points ?? [];
    if (points.length === 0) return null;
    return points.reduce((best, p) => (p.throughput > best.throughput ? p : best)).size;
  },
  /** Throughput at the largest size measured over throughput at the smallest. */
  'sweep.scaling': (s) => {
    const first = sweepThroughput(s, 'first');
    const last = sweepThroughput(s, 'last');
    return first === null || last === null || first === 0 || (s.sweep?.points.length ?? 0) < 2 ? null : last / first;
  },
  'lastTimeout.cause': (s, base) => (s.lastTimeout && since(s.lastTimeout.t, base) ? s.lastTimeout.diagnosis.cause : null),
};

function active(s: Snapshot) {
  return s.activePoolId === null ? null : poolCounts(s, s.activePoolId);
}

export function metricValue(s: Snapshot, metric: Metric, base: RunBase | null = null): number | string | null {
  return READ[metric](s, base);
}

function compare(seen: number | string, op: Operator, value: number | string): boolean {
  switch (op) {
    case '==':
      return seen === value;
    case '!=':
      return seen !== value;
    case '>=':
      return seen >= value;
    case '<=':
      return seen <= value;
    case '>':
      return seen > value;
    case '<':
      return seen < value;
  }
}

/** Whether the condition holds now, and the value seen (null: nothing to read yet, which fails). */
export function evaluate(s: Snapshot, c: Condition, base: RunBase | null = null): { ok: boolean; seen: number | string | null } {
  const seen = metricValue(s, c.metric, base);
  return { ok: seen !== null && compare(seen, c.op, c.value), seen };
}

/** `waiting >= 40 (seen 37)`: a condition with what was read, for outcomes and the CLI. */
export function describeSeen(c: Condition, seen: number | string | null): string {
  const shown = seen === null ? 'nothing to read yet' : typeof seen === 'number' ? String(Math.round(seen * 100) / 100) : `"${seen}"`;
  return `${c.text} (seen ${shown})`;
}
