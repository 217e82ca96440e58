import { z } from 'zod';
import { TIMEOUT_CAUSES, type TimeoutDiagnosis } from './diagnosis';
import type { PoolEvent } from './events';
import { HISTOGRAM_BUCKETS } from './histogram';
import type { StepOutcome } from './scenario';
import { SPOTLIGHTS } from './spotlight';
import { SMOOTH_INTERVALS, type Snapshot } from './snapshot';
import { SSH_AUTHS, TLS_MODES } from './target-schema';

// Every event and the snapshot as zod schemas, for what comes from outside the engine: a
// recording file is checked event by event with these before the reducer sees it. The
// TypeScript types stay in events.ts and snapshot.ts (the engine's hot paths are typed by
// them); the checks at the end of this file fail the build when the two disagree.
//
// Ids are only of the forms the engine makes (`p3`, `p3.c12`, `p3.b40`), so `__proto__`,
// `constructor` and the like never become keys; times are finite and bounded; step indexes
// fit a scenario.

const ID = '[1-9][0-9]{0,8}';
export const poolIdSchema = z.string().regex(new RegExp(`^p${ID}$`), 'not a pool id Poolscope makes (p<n>)');
export const connIdSchema = z.string().regex(new RegExp(`^p${ID}\\.c${ID}$`), 'not a connection id Poolscope makes (p<n>.c<n>)');
export const sourceIdSchema = z.string().regex(new RegExp(`^s${ID}$`), 'not a source id Poolscope makes (s<n>)');
export const borrowerIdSchema = z.string().regex(new RegExp(`^p${ID}\\.b${ID}$`), 'not a borrower id Poolscope makes (p<n>.b<n>)');

/** Clock readings (ms since the epoch, or a test clock's): the year 2286 at most, so adding a step to one still moves it. */
export const MAX_TIME = 1e13;
const time = z.number().finite('must be a finite number').min(0, 'must not be negative').max(MAX_TIME, `must be at most ${MAX_TIME}`);
const ms = z.number().finite('must be a finite number').min(0, 'must not be negative').max(MAX_TIME, `must be at most ${MAX_TIME}`);
const num = z.number().finite('must be a finite number');
const count = z.number().int('must be a whole number').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER);
const text = z.string().max(100_000, 'is longer than 100,000 characters');
/** A scenario has at most this many steps (scenario-parse.ts). */
const stepIndex = z.number().int('must be a whole number').min(0, 'must not be negative').max(999, 'must be below 1000 (the most steps a scenario has)');
const list = <T extends z.ZodType>(item: T, max = 100_000) => z.array(item).max(max, `has more than ${max} entries`);

const engineKind = z.enum(['postgres', 'mysql']);
const closeReason = z.enum(['idle timeout', 'max uses', 'max lifetime', 'error', 'pool ended', 'terminated by server', 'destroyed', 'connect failed']);
const txStatus = z.enum(['idle', 'active', 'failed']);
const embeddedPhase = z.enum(['initialising', 'starting', 'seeding', 'ready', 'recovering', 'stopping', 'stopped']);
const faultKind = z.enum(['latency', 'bandwidth', 'blackhole', 'refuse', 'reset', 'terminate', 'restart', 'tunnel']);
const runnerState = z.enum(['idle', 'playing', 'paused', 'finished', 'failed']);

const handshake = z.strictObject({ socketMs: ms, sshMs: ms.nullable(), tlsMs: ms.nullable(), authMs: ms, readyMs: ms, totalMs: ms });
const tlsInfo = z.strictObject({ mode: z.enum(TLS_MODES), use: z.enum(['off', 'encrypt', 'verify-ca', 'verify-full']), ca: text.nullable(), cert: text.nullable(), key: text.nullable() });
const sshInfo = z.strictObject({ host: text, port: count, user: text, auth: z.enum(SSH_AUTHS), keyFile: text.nullable(), fingerprint: text.nullable() });
const tlsSession = z.strictObject({ protocol: text.nullable(), subject: text, issuer: text, altNames: text.nullable(), validFrom: time, validTo: time });
const targetInfo = z.strictObject({ engine: engineKind, host: text, port: count, database: text, user: text, tls: tlsInfo, ssh: sshInfo.nullable(), display: text, embedded: z.boolean() });
const poolSettings = z.strictObject({
  max: count,
  acquireTimeoutMs: ms,
  acquireTimeoutByEngine: z.boolean(),
  idleTimeoutMs: ms,
  queryTimeoutMs: ms,
  min: count.nullable(),
  maxUses: count.nullable(),
  maxLifetimeSeconds: count.nullable(),
  maxIdle: count.nullable(),
  queueLimit: count.nullable(),
  waitForConnections: z.boolean().nullable(),
});
const serverSession = z.strictObject({
  id: count,
  user: text.nullable(),
  application: text.nullable(),
  state: text.nullable(),
  inTransaction: z.boolean(),
  transactionSince: time.nullable(),
  waitEvent: text.nullable(),
  query: text.nullable(),
});
const sideStats = { requests: count, ok: count, failed: count, p50Ms: ms.nullable(), p99Ms: ms.nullable() };
const patternSide = z.strictObject({ ...sideStats, holding: count, waiting: count });
const toxics = z.strictObject({ latencyMs: ms, jitterMs: ms, bandwidthKbps: num, blackhole: z.boolean(), refuse: z.boolean() });
const proxy = z.strictObject({ listen: text, upstream: text }).nullable();
const recovery = {
  faultId: count,
  kind: faultKind,
  detail: text,
  startedAt: time,
  clearedAt: time.nullable(),
  servedAt: time.nullable(),
  failures: list(z.strictObject({ message: text, count })),
  lost: count,
  opened: count,
  socketsLeftOpen: count.nullable(),
};
const diagnosis = z.strictObject({
  total: count,
  borrowed: count,
  idle: count,
  connecting: count,
  waiting: count,
  max: count,
  holders: list(z.strictObject({ borrowerId: borrowerIdSchema, label: text, site: text, heldMs: ms, statement: text.nullable(), idleMs: ms, inTransaction: z.boolean() })),
  cause: z.enum(TIMEOUT_CAUSES),
  explanation: text,
});
const spotlight = z.enum(SPOTLIGHTS);
const scenarioReview = z.strictObject({ id: text, sql: list(z.strictObject({ index: stepIndex, cmd: text, sql: text }), 1_000) });
const stepOutcome = z.strictObject({
  index: stepIndex,
  summary: text,
  status: z.enum(['pending', 'running', 'passed', 'failed', 'skipped']),
  message: text.nullable(),
  startedAt: time.nullable(),
  endedAt: time.nullable(),
});
// `cancelled` is newer than the first recordings: theirs had none (0).
const loadStats = { intervalMs: ms, requests: count, ok: count, failed: count, timedOut: count, cancelled: count.default(0), leaked: count, shed: count, inFlight: count, p50Ms: ms.nullable(), p99Ms: ms.nullable() };
const compareStats = { intervalMs: ms, pooled: z.strictObject(sideStats), perRequest: z.strictObject(sideStats), handshake: handshake.nullable() };
const patternStats = { intervalMs: ms, inTransaction: patternSide, afterCommit: patternSide };
const sweepPoint = { size: count, throughput: num, p50Ms: ms.nullable(), p99Ms: ms.nullable(), failed: count };

/**
 * A record keyed by ids. zod's record skips a `__proto__` key without a word (it parses JSON
 * as an own key); refused here like any other key the engine never makes.
 */
const byId = <S extends z.ZodType>(record: S) =>
  z.preprocess((input, ctx) => {
    if (typeof input === 'object' && input !== null && Object.hasOwn(input, '__proto__')) {
      ctx.issues.push({ code: 'custom', message: 'not an id Poolscope makes', input, path: ['__proto__'] });
    }
    return input;
  }, record);

const ev = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) => z.strictObject({ type: z.literal(type), ...shape, seq: count, t: time });

/** Every event, by type: the one list of what an event may hold. */
export const poolEventSchema = z.discriminatedUnion(
  'type',
  [
    ev('embedded.progressed', { phase: embeddedPhase, message: text }),
    ev('target.failed', { display: text, message: text }),
    ev('pool.created', { poolId: poolIdSchema, target: targetInfo, settings: poolSettings }),
    ev('pool.verified', { poolId: poolIdSchema, serverVersion: text, tls: tlsSession.nullable() }),
    ev('tunnel.changed', { up: z.boolean(), message: text }),
    ev('source.attached', { sourceId: sourceIdSchema, pid: count, command: text, runtime: text, thread: count.nullish(), siteBudget: count.nullish() }),
    ev('source.pooled', { sourceId: sourceIdSchema, poolId: poolIdSchema, driver: text }),
    ev('source.noted', { sourceId: sourceIdSchema, message: text }),
    ev('source.dropped', { sourceId: sourceIdSchema, dropped: count }),
    ev('source.unsampled', { sourceId: sourceIdSchema, notSampled: count }),
    ev('source.detached', { sourceId: sourceIdSchema }),
    ev('pool.draining', { poolId: poolIdSchema, waiting: count, holding: count }),
    ev('pool.ending', { poolId: poolIdSchema }),
    ev('pool.ended', { poolId: poolIdSchema }),
    ev('connection.connecting', { poolId: poolIdSchema, connId: connIdSchema }),
    ev('connection.opened', { connId: connIdSchema, serverId: count.nullable(), handshake }),
    ev('connection.broken', { connId: connIdSchema, error: text }),
    ev('connection.closing', { connId: connIdSchema, reason: closeReason }),
    ev('connection.closed', { connId: connIdSchema, reason: closeReason, error: text.nullable() }),
    ev('borrower.enqueued', { poolId: poolIdSchema, borrowerId: borrowerIdSchema, label: text, site: text, deadline: time.nullable() }),
    ev('borrower.acquired', { borrowerId: borrowerIdSchema, connId: connIdSchema, waitedMs: ms }),
    ev('borrower.timedout', { borrowerId: borrowerIdSchema, waitedMs: ms, message: text, diagnosis }),
    ev('borrower.failed', { borrowerId: borrowerIdSchema, waitedMs: ms, message: text }),
    ev('borrower.cancelled', { borrowerId: borrowerIdSchema, waitedMs: ms, reason: text }),
    ev('borrower.flagged', { borrowerId: borrowerIdSchema, connId: connIdSchema, heldMs: ms, thresholdMs: ms }),
    ev('leak.thresholdset', { thresholdMs: ms }),
    ev('borrower.released', { borrowerId: borrowerIdSchema, connId: connIdSchema, heldMs: ms, dirty: z.boolean(), destroyed: z.boolean() }),
    ev('statement.started', { connId: connIdSchema, sql: text }),
    ev('statement.finished', { connId: connIdSchema, ms, error: text.nullable() }),
    ev('statement.summary', { connId: connIdSchema, started: count, errors: count, sql: text.nullable(), since: time.nullable(), finishedAt: time.nullable(), lastError: text.nullable() }),
    ev('borrower.summary', { connId: connIdSchema, served: count, waits: list(ms), started: count, errors: count, lastError: text.nullable(), finishedAt: time.nullable(), releasedAt: time }),
    ev('load.changed', { running: z.boolean(), concurrency: count, rate: num.nullable(), query: text, sleepMs: ms.nullable(), leakOneIn: count.nullable() }),
    ev('load.stats', loadStats),
    ev('compare.changed', { running: z.boolean(), concurrency: count, query: text, perRequestPoolId: poolIdSchema.nullable() }),
    ev('compare.stats', compareStats),
    ev('pattern.changed', { running: z.boolean(), concurrency: count, paymentMs: ms, emailMs: ms }),
    ev('pattern.stats', patternStats),
    ev('server.observed', { sessions: list(serverSession), maxConnections: count.nullable(), reserved: count.nullable(), monitorId: count.nullable(), note: text.nullable() }),
    ev('fault.changed', { toxics, proxy }),
    ev('fault.injected', { faultId: count, kind: faultKind, detail: text }),
    ev('fault.lifted', { faultId: count }),
    ev('fault.recovered', recovery),
    ev('instances.changed', { running: z.boolean(), count, poolSize: count, query: text, poolIds: list(poolIdSchema, 1_000) }),
    ev('sweep.changed', { running: z.boolean(), sizes: list(count, 1_000), secondsEach: ms, clients: count, query: text }),
    ev('sweep.measured', sweepPoint),
    ev('scenario.opened', { name: text, title: text, description: text, steps: list(stepOutcome, 1_000), target: text.optional(), review: scenarioReview.nullable().optional() }),
    ev('scenario.confirmed', { id: text }),
    ev('scenario.changed', { state: runnerState, current: stepIndex, goal: stepIndex.nullable().optional() }),
    ev('scenario.stepped', { outcome: stepOutcome }),
    ev('scenario.noted', { index: stepIndex, text, readMs: ms.nullable().optional(), spotlight: spotlight.optional() }),
    ev('scenario.closed', { name: text }),
    ev('record.changed', { recording: z.boolean(), fromSeq: count.nullable() }),
    ev('tx.began', { connId: connIdSchema }),
    ev('tx.failed', { connId: connIdSchema }),
    ev('tx.ended', { connId: connIdSchema, outcome: z.enum(['committed', 'rolled back']) }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? 'not an event type Poolscope knows' : undefined) },
);

const connectionView = z.strictObject({
  id: connIdSchema,
  poolId: poolIdSchema,
  serverId: count.nullable(),
  state: z.enum(['connecting', 'idle', 'borrowed', 'in-transaction', 'in-failed-transaction', 'closing', 'broken', 'closed']),
  stateSince: time,
  openedAt: time,
  uses: count,
  borrowerId: borrowerIdSchema.nullable(),
  tx: txStatus,
  txSince: time.nullable(),
  txStatements: count,
  statement: text.nullable(),
  statementSince: time.nullable(),
  lastStatementAt: time.nullable(),
  lastError: text.nullable(),
  handshake: handshake.nullable(),
  closeReason: closeReason.nullable(),
});

const borrowerView = z.strictObject({
  id: borrowerIdSchema,
  poolId: poolIdSchema,
  label: text,
  site: text,
  state: z.enum(['waiting', 'holding']),
  enqueuedAt: time,
  deadline: time.nullable(),
  acquiredAt: time.nullable(),
  connId: connIdSchema.nullable(),
  statements: count,
  flagged: z.boolean(),
  receivedDirty: z.boolean(),
});

const counters = z.strictObject({
  enqueued: count,
  acquired: count,
  timedOut: count,
  failed: count,
  released: count,
  destroyed: count,
  dirtyReturns: count,
  opened: count,
  closed: count,
  closedBy: byId(z.partialRecord(closeReason, count)),
  statements: count,
  statementErrors: count,
  txBegan: count,
  txCommitted: count,
  txRolledBack: count,
  txFailed: count,
  leaksFlagged: count,
});

/** Recordings made before the window moved into the reducer kept only the latest interval: it is their window. */
function latestAsRecent(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || !Object.hasOwn(input, 'latest') || Object.hasOwn(input, 'recent')) return input;
  const { latest, ...rest } = input as { latest: unknown };
  return { ...rest, recent: latest === null ? [] : [latest] };
}

/** A snapshot as the engine sends and records it. */
export const snapshotSchema = z.strictObject({
  seq: count,
  t: time,
  pools: byId(z.record(poolIdSchema, z.strictObject({ id: poolIdSchema, target: targetInfo, settings: poolSettings, status: z.enum(['open', 'draining', 'ending', 'ended']), serverVersion: text.nullable(), tlsSession: tlsSession.nullable() }))),
  activePoolId: poolIdSchema.nullable(),
  targetError: text.nullable(),
  load: z.strictObject({ running: z.boolean(), concurrency: count, rate: num.nullable(), query: text, sleepMs: ms.nullable(), leakOneIn: count.nullable() }).nullable(),
  comparison: z
    .preprocess(latestAsRecent, z.strictObject({ running: z.boolean(), concurrency: count, query: text, perRequestPoolId: poolIdSchema.nullable(), recent: list(z.strictObject({ ...compareStats, t: time }), SMOOTH_INTERVALS) }))
    .nullable(),
  server: z.strictObject({ t: time, sessions: list(serverSession), maxConnections: count.nullable(), reserved: count.nullable(), monitorId: count.nullable(), note: text.nullable() }).nullable(),
  patterns: z
    .preprocess(latestAsRecent, z.strictObject({ running: z.boolean(), concurrency: count, paymentMs: ms, emailMs: ms, recent: list(z.strictObject({ ...patternStats, t: time }), SMOOTH_INTERVALS) }))
    .nullable(),
  loadStats: z.strictObject({ ...loadStats, t: time }).nullable(),
  connections: byId(z.record(connIdSchema, connectionView)),
  closed: list(connectionView, 1_000),
  borrowers: byId(z.record(borrowerIdSchema, borrowerView)),
  waiting: list(borrowerIdSchema, 1_000_000),
  counters,
  leakThresholdMs: ms,
  lastTimeout: z.strictObject({ borrowerId: borrowerIdSchema, poolId: poolIdSchema, target: text, label: text, site: text, t: time, message: text, diagnosis }).nullable(),
  acquireWait: z.strictObject({ counts: z.array(count).length(HISTOGRAM_BUCKETS, `must have ${HISTOGRAM_BUCKETS} buckets`), total: count, maxMs: ms }),
  embedded: z.strictObject({ phase: embeddedPhase, message: text }).nullable(),
  faults: z.strictObject({
    toxics,
    proxy,
    open: list(z.strictObject({ faultId: count, kind: faultKind, detail: text, startedAt: time, liftedAt: time.nullable() }), 1_000),
    recoveries: list(z.strictObject(recovery), 1_000),
  }),
  instances: z
    .strictObject({
      running: z.boolean(),
      count,
      poolSize: count,
      query: text,
      poolIds: list(poolIdSchema, 1_000),
      refusals: byId(z.record(poolIdSchema, count)),
      lastRefusal: z.strictObject({ poolId: poolIdSchema, message: text, t: time }).nullable(),
    })
    .nullable(),
  sweep: z.strictObject({ running: z.boolean(), sizes: list(count, 1_000), secondsEach: ms, clients: count, query: text, points: list(z.strictObject(sweepPoint), 1_000) }).nullable(),
  scenario: z
    .strictObject({ name: text, title: text, description: text, state: runnerState, current: stepIndex, steps: list(stepOutcome, 1_000),
      note: text.nullable(),
      // Absent in recordings made before notes kept their step: read as none.
      noteStep: stepIndex.nullable().default(null),
      readMs: ms.nullable().default(null),
      goal: stepIndex.nullable().default(null),
      spotlight: spotlight.nullable().default(null),
      target: text.nullable(),
      review: scenarioReview.nullable(),
    })
    .nullable(),
  recording: z.strictObject({ active: z.boolean(), fromSeq: count.nullable() }),
  tunnel: z.strictObject({ up: z.boolean(), message: text, since: time }).nullable(),
  sources: byId(
    z.record(
      sourceIdSchema,
      z.strictObject({
        id: sourceIdSchema,
        pid: count,
        command: text,
        runtime: text,
        // Absent in recordings made before worker threads were told apart: the main thread.
        thread: count.nullable().default(null),
        status: z.enum(['attached', 'detached']),
        since: time,
        poolIds: list(poolIdSchema, 1_000),
        drivers: list(text, 100),
        dropped: count,
        // Absent in recordings made before the site budget: every borrow's site was captured.
        siteBudget: count.nullable().default(null),
        notSampled: count.default(0),
        notes: list(text, 100),
      }),
    ),
  ),
});

// The schemas and the TypeScript types describe the same values: a field added to one and
// not the other fails `npm run check` here.
export type Agree<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type Holds<T extends true> = T;
export type SchemasAgree = [
  Holds<Agree<z.infer<typeof poolEventSchema>, PoolEvent>>,
  Holds<Agree<z.infer<typeof snapshotSchema>, Snapshot>>,
  Holds<Agree<z.infer<typeof diagnosis>, TimeoutDiagnosis>>,
  Holds<Agree<z.infer<typeof stepOutcome>, StepOutcome>>,
];
