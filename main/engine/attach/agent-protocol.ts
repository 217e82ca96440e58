import { z } from 'zod';

// What an agent (main/agent/) sends, one JSON value per line, checked here before the engine
// acts on it: the agent runs in someone else's process and a line is only data.

/** Row kinds, as main/agent/recorder.cjs writes them. */
export const ROW = {
  OPEN: 1,
  CLOSE: 2,
  ENQUEUE: 3,
  ACQUIRE: 4,
  FAIL: 5,
  RELEASE: 6,
  STATEMENT: 7,
  FINISHED: 8,
  TX: 9,
  POOL_ENDING: 10,
  POOL_ENDED: 11,
  POOL: 12,
  NOTE: 13,
  /** Where the app created a pool (main/agent/check-mode.cjs), for `poolscope check`. */
  POOL_SITE: 14,
  /**
   * Borrowers served clean on one connection within one batch, their rows folded
   * (main/agent/recorder.cjs): b statements, c failed, ref [waits ms in order, last error].
   */
  SERVED: 15,
} as const;

const text = z.string().max(10_000);
const id = z.number().int().min(0).max(999_999_999);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const MAX_TIME = 1e13;
const time = z.number().finite().min(0).max(MAX_TIME);

export const helloSchema = z.object({
  type: z.literal('hello'),
  token: z.string().max(200),
  pid: z.number().int().min(1).max(2 ** 31),
  /** The worker thread (0: the main thread): each thread loads its own agent. */
  thread: z.number().int().min(0).max(2 ** 31).optional(),
  command: text,
  node: z.string().max(50),
  /** `poolscope attach --site-budget N`: call sites captured per second at most; null: every borrow's. */
  siteBudget: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
});
export type Hello = z.infer<typeof helloSchema>;

/** What the app configured for a pool; never a password (the agent does not read it). */
export const poolInfoSchema = z.strictObject({
  engine: z.enum(['postgres', 'mysql']),
  driver: z.string().max(100),
  tls: z.boolean(),
  host: z.string().max(500),
  port: z.number().int().min(0).max(65_535),
  database: z.string().max(500),
  user: z.string().max(500),
  max: count,
  min: count.nullable(),
  acquireTimeoutMs: count,
  idleTimeoutMs: count,
  queryTimeoutMs: count,
  maxUses: count.nullable(),
  maxLifetimeSeconds: count.nullable(),
  maxIdle: count.nullable().optional(),
  queueLimit: count.nullable().optional(),
  waitForConnections: z.boolean().nullable().optional(),
  /** A mysql2 PoolCluster member's id in its cluster. */
  member: z.string().max(500).nullable().optional(),
});
export type PoolInfo = z.infer<typeof poolInfoSchema>;

/** [kind, t (agent ms), a, b, c, ref]: see ROW and main/agent/recorder.cjs. */
export type Row = [kind: number, t: number, a: number, b: number, c: number, ref: unknown];

/**
 * Checked by hand rather than as a zod tuple: an app at 16,000 requests a second sends about
 * 100,000 rows a second, and the tuple's per-field checks cost the engine 6.6 µs of CPU per
 * request, this 1.3 µs (batches of 800 requests parsed in a loop; tests/bench/attach.ts
 * measures Poolscope's whole CPU per request).
 */
function isRow(v: unknown): v is Row {
  return (
    Array.isArray(v) &&
    v.length === 6 &&
    Number.isInteger(v[0]) && v[0] >= 1 && v[0] <= 15 &&
    typeof v[1] === 'number' && v[1] >= 0 && v[1] <= MAX_TIME &&
    Number.isInteger(v[2]) &&
    Number.isInteger(v[3]) &&
    Number.isInteger(v[4])
  );
}
export const rowSchema = z.custom<Row>(isRow, 'not a row: [kind 1-15, time, a, b, c, ref]');

const MAX_WAITS = 100_000;

/**
 * A SERVED row's waits, each a borrower's (null: not a SERVED ref). An agent of an earlier
 * release sends one borrower per row, its wait a number: the desktop app and a project's
 * `poolscope attach` need not be the same release.
 */
export function servedWaits(ref: unknown): number[] | null {
  if (!Array.isArray(ref) || ref.length !== 2) return null;
  const w: unknown = ref[0];
  const waits = typeof w === 'number' ? [w] : Array.isArray(w) && w.length > 0 && w.length <= MAX_WAITS ? (w as unknown[]) : null;
  if (waits === null) return null;
  // In place: the array is the parsed line's own, and this runs once per borrower served.
  for (let i = 0; i < waits.length; i++) {
    const x = waits[i];
    if (!(typeof x === 'number' && x > 0 && x <= MAX_TIME)) waits[i] = 0;
  }
  return waits as number[];
}

/** A borrower's site when the agent's site budget was spent (main/agent/call-site.cjs). */
export const NOT_SAMPLED = 'not sampled';

/** Borrowers beyond the site budget, counted by the agent: absent from agents without one. */
const notSampled = count.optional();

export const eventsSchema = z.object({ type: z.literal('events'), events: z.array(rowSchema).max(100_000), dropped: count, notSampled });

export const syncSchema = z.object({
  type: z.literal('sync'),
  t: time,
  dropped: count,
  notSampled,
  notes: z.array(text).max(100),
  pools: z.array(z.object({ id, info: poolInfoSchema, status: z.enum(['open', 'ending', 'ended']) })).max(10_000),
  conns: z.array(z.object({ id, pool: id, serverId: z.number().int().nullable(), tx: z.number().int().min(0).max(2) })).max(100_000),
  borrowers: z.array(z.object({ id, pool: id, site: text, t: time, conn: id.nullable(), acquiredAt: time.nullable() })).max(1_000_000),
});
export type Sync = z.infer<typeof syncSchema>;

export const agentMessageSchema = z.discriminatedUnion('type', [eventsSchema, syncSchema]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;
