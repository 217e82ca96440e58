import { z } from 'zod';
import type { PoolEvent, TargetInfo } from './events';
import type { Toxics } from './faults';
import type { ScenarioInfo } from './scenario';
import type { Snapshot } from './snapshot';
import { toxicsInputSchema } from './faults';
import { FINGERPRINT, type TargetFields, targetFieldsSchema } from './target-schema';

// The one API between the engine and any UI, declared once. The Electron preload and the
// browser host's WebSocket implement the same Transport over it; both hosts validate
// every incoming request against `commandSchemas` before it reaches the engine.

const int = (min: number, max: number, what: string) =>
  z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).min(min, `${what} must be at least ${min}`).max(max, `${what} must be at most ${max}`);

export const poolSettingsInputSchema = z
  .object({
    max: int(1, 1_000, 'pool size (max)'),
    acquireTimeoutMs: int(0, 600_000, 'acquire timeout (ms)'),
    idleTimeoutMs: int(0, 3_600_000, 'idle timeout (ms)'),
    queryTimeoutMs: int(0, 3_600_000, 'query timeout (ms)'),
    min: int(0, 1_000, 'min'),
    maxUses: int(1, 10_000_000, 'maxUses'),
    maxLifetimeSeconds: int(1, 86_400, 'maxLifetimeSeconds'),
    maxIdle: int(0, 1_000, 'maxIdle'),
    queueLimit: int(0, 1_000_000, 'queueLimit'),
    waitForConnections: z.boolean(),
  })
  .partial()
  .strict();
export type PoolSettingsInput = z.infer<typeof poolSettingsInputSchema>;

/** Secrets a saved target may not keep (the browser host keeps none): given at connect time. */
export const targetSecretsSchema = z
  .object({
    password: z.string().max(1_024).optional(),
    /** The SSH key's passphrase. */
    passphrase: z.string().max(1_024).optional(),
    sshPassword: z.string().max(1_024).optional(),
  })
  .strict();
export type TargetSecrets = z.infer<typeof targetSecretsSchema>;

export const targetRequestSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('saved'),
      id: z.string().min(1).max(64),
      ...targetSecretsSchema.shape,
      /** An SSH host key the user accepted just now (the fingerprint shown by ssh-host-key-unknown). */
      hostKey: z.string().regex(FINGERPRINT, 'the host key must be a SHA256:… fingerprint').optional(),
      settings: poolSettingsInputSchema.optional(),
    })
    .strict(),
  z.object({ kind: z.literal('embedded'), settings: poolSettingsInputSchema.optional() }).strict(),
  z.object({ kind: z.literal('url'), url: z.string().min(1, 'URL is empty').max(2_048), settings: poolSettingsInputSchema.optional() }).strict(),
  z.object({ kind: z.literal('fields'), fields: targetFieldsSchema, settings: poolSettingsInputSchema.optional() }).strict(),
]);
export type TargetRequest = z.infer<typeof targetRequestSchema>;

export const LOAD_QUERIES = ['select1', 'point', 'sleep', 'cpu', 'order', 'custom'] as const;
export const loadSpecSchema = z
  .object({
    /** Closed loop: this many virtual clients. Open loop (rate set): the most requests in flight. */
    concurrency: int(1, 1_000, 'concurrency'),
    /** Requests per second arriving whatever the pool does (open loop); absent or 0: closed loop. */
    rate: int(0, 100_000, 'rate (requests/s)').optional(),
    query: z.enum(LOAD_QUERIES),
    /** For 'sleep': how long each request holds its connection on the server. */
    sleepMs: int(0, 60_000, 'sleep (ms)').optional(),
    /** For 'custom': one SQL statement. */
    sql: z.string().trim().max(10_000).optional(),
    /** 1 request in N forgets to release its connection (the missing finally); 0 or absent: none. */
    leakOneIn: int(0, 1_000_000, 'leak 1 in N').optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.query !== 'custom') return;
    if (!spec.sql) ctx.addIssue({ code: 'custom', path: ['sql'], message: 'a custom query needs its SQL' });
    else if (/;\s*\S/.test(spec.sql)) ctx.addIssue({ code: 'custom', path: ['sql'], message: 'one statement only (no ; between statements)' });
  });
export type LoadSpec = z.infer<typeof loadSpecSchema>;

const none = z.undefined().or(z.null()).optional();

/** The largest scenario file the app and `poolscope run` read: 1 MB (of characters here, of bytes in the CLI). */
export const SCENARIO_FILE_MAX = 1_000_000;

/** What each simulated app instance runs: `sleep` holds every connection so the pools fill. */
export const INSTANCE_QUERIES = ['select1', 'point', 'sleep'] as const;
/** `cpu` makes the server work per request, so the sweep finds where more connections stop paying. */
export const SWEEP_QUERIES = ['select1', 'point', 'cpu'] as const;

/** A connection profile to save: from a URL (an import) or the target form, with pool settings if given. */
export const saveTargetSchema = z
  .object({
    name: z.string().trim().min(1, 'name is empty').max(100),
    target: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('url'), url: z.string().min(1, 'URL is empty').max(2_048) }).strict(),
      z.object({ kind: z.literal('fields'), fields: targetFieldsSchema }).strict(),
    ]),
    settings: poolSettingsInputSchema.optional(),
  })
  .strict();

/**
 * A saved target as the UI lists it: the profile without any secret (what an export holds),
 * and which secrets the host keeps for it.
 */
export interface SavedTarget {
  id: string;
  name: string;
  display: string;
  /** Engine, host, database, user, TLS mode and files, SSH settings: never a secret. */
  target: TargetFields;
  settings: PoolSettingsInput | null;
  hasPassword: boolean;
  kept: (keyof TargetSecrets)[];
}

const borrowerRef = z.object({ borrowerId: z.string().min(1).max(64) }).strict();

export const commandSchemas = {
  'snapshot.get': none,
  'target.connect': targetRequestSchema,
  'load.start': loadSpecSchema,
  'load.stop': none,
  'load.spike': z.object({ count: int(1, 10_000, 'spike size'), query: z.enum(LOAD_QUERIES).optional(), sleepMs: int(0, 60_000, 'sleep (ms)').optional() }).strict(),
  'pool.configure': poolSettingsInputSchema,
  'pool.end': z.object({ poolId: z.string().regex(/^p\d{1,9}$/, 'not a pool id (p<n>)') }).strict(),
  'leak.inject': z.object({ count: int(1, 1_000, 'count') }).strict(),
  'leak.threshold': z.object({ ms: int(0, 3_600_000, 'leak threshold (ms)') }).strict(),
  'lease.release': borrowerRef,
  'lease.destroy': borrowerRef,
  'tx.begin': z.object({ label: z.string().max(100).optional() }).strict(),
  'tx.run': z.object({ borrowerId: z.string().min(1).max(64), sql: z.string().trim().min(1, 'SQL is empty').max(10_000) }).strict(),
  'tx.commit': borrowerRef,
  'tx.rollback': borrowerRef,
  'compare.start': z.object({ concurrency: int(1, 200, 'concurrency'), query: z.enum(['select1', 'point']) }).strict(),
  'compare.stop': none,
  'demo.install': none,
  'pattern.start': z.object({ concurrency: int(1, 200, 'concurrency'), paymentMs: int(0, 60_000, 'payment (ms)'), emailMs: int(0, 60_000, 'email (ms)') }).strict(),
  'pattern.stop': none,
  'targets.list': none,
  'targets.save': saveTargetSchema,
  'targets.remove': z.object({ id: z.string().min(1).max(64) }).strict(),
  'targets.parse': z.object({ url: z.string().min(1, 'URL is empty').max(2_048) }).strict(),
  'fault.set': toxicsInputSchema,
  'fault.clear': none,
  'fault.reset': none,
  'server.terminate': z.object({ serverId: int(1, 2_147_483_647, 'server session id') }).strict(),
  'db.restart': z.object({ downMs: int(0, 60_000, 'down for (ms)').optional() }).strict(),
  'instances.start': z
    .object({ count: int(1, 64, 'instances'), poolSize: int(1, 500, 'pool size per instance'), query: z.enum(INSTANCE_QUERIES), sleepMs: int(0, 60_000, 'sleep (ms)').optional() })
    .strict(),
  'instances.stop': none,
  'sweep.start': z
    .object({
      sizes: z.array(int(1, 500, 'pool size'), { error: 'sizes must be a list of pool sizes' }).min(2, 'a sweep needs at least 2 pool sizes').max(16, 'at most 16 pool sizes'),
      secondsEach: int(1, 60, 'seconds per size'),
      clients: int(1, 1_000, 'clients'),
      query: z.enum(SWEEP_QUERIES),
    })
    .strict(),
  'sweep.stop': none,
  'scenario.list': none,
  'scenario.open': z.union([
    z.object({ builtIn: z.string().min(1).max(100) }).strict(),
    z.object({ source: z.string().min(1, 'the scenario file is empty').max(SCENARIO_FILE_MAX, 'a scenario file must be under 1 MB'), fileName: z.string().max(255).optional() }).strict(),
  ]),
  'scenario.confirm': z.object({ id: z.string().min(1).max(64) }).strict(),
  'scenario.play': none,
  'scenario.pause': none,
  'scenario.step': none,
  'scenario.restart': none,
  'scenario.next': none,
  'scenario.back': none,
  'scenario.close': none,
  'record.start': none,
  'record.stop': none,
} as const;

export type CommandName = keyof typeof commandSchemas;

export interface Commands {
  'snapshot.get': { req: void; res: { seq: number; snapshot: Snapshot } };
  'target.connect': { req: TargetRequest; res: TargetInfo };
  'load.start': { req: LoadSpec; res: void };
  'load.stop': { req: void; res: void };
  /** `count` requests arrive at once: of `query`, else of the running load's, else point lookups. */
  'load.spike': { req: { count: number; query?: LoadSpec['query']; sleepMs?: number }; res: void };
  /** Swaps in a pool with these settings on the same target; the old one drains (no borrower lost). */
  'pool.configure': { req: PoolSettingsInput; res: void };
  /** Ends a pool replaced by a new target or settings now, its held connections destroyed (a leak keeps a draining pool open otherwise). */
  'pool.end': { req: { poolId: string }; res: void };
  /** Borrows `count` connections and never releases them (a handler without `finally`). */
  'leak.inject': { req: { count: number }; res: { borrowerIds: string[] } };
  /** Flags holders past `ms` (HikariCP's leakDetectionThreshold); 0 turns it off. */
  'leak.threshold': { req: { ms: number }; res: void };
  'lease.release': { req: { borrowerId: string }; res: void };
  'lease.destroy': { req: { borrowerId: string }; res: void };
  /** Borrows a connection and runs BEGIN on it; the transaction stays pinned until commit or rollback. */
  'tx.begin': { req: { label?: string }; res: { borrowerId: string; connId: string } };
  'tx.run': { req: { borrowerId: string; sql: string }; res: { rows: unknown[]; affected: number | null } };
  'tx.commit': { req: { borrowerId: string }; res: void };
  'tx.rollback': { req: { borrowerId: string }; res: void };
  /**
   * The same request stream served two ways side by side: `concurrency` clients borrow from
   * the pool, as many open, query and close a new connection per request.
   */
  'compare.start': { req: { concurrency: number; query: 'select1' | 'point' }; res: void };
  'compare.stop': { req: void; res: void };
  /** Creates the demo bookshop in the target's database unless `books` exists there. */
  'demo.install': { req: void; res: { created: boolean } };
  /**
   * The long-transaction antipattern next to its fix, on the same pool: half the clients
   * keep the transaction open across a simulated payment and email call, half commit,
   * release, then call.
   */
  'pattern.start': { req: { concurrency: number; paymentMs: number; emailMs: number }; res: void };
  'pattern.stop': { req: void; res: void };
  'targets.list': { req: void; res: SavedTarget[] };
  /** `note` says which secrets were not kept (no safe keychain, or the browser host). */
  'targets.save': { req: z.infer<typeof saveTargetSchema>; res: { saved: SavedTarget; note: string | null } };
  /** A URL as target fields (TLS parameters read or refused): the form imports it. */
  'targets.parse': { req: { url: string }; res: TargetFields };
  'targets.remove': { req: { id: string }; res: void };
  /**
   * Sets conditions on the link between the pools and the database. The first call routes
   * the pool through the engine's fault proxy (a new pool; the direct one drains).
   */
  'fault.set': { req: Partial<Toxics>; res: Toxics };
  /** Lifts every condition; the pool stays routed through the proxy. */
  'fault.clear': { req: void; res: void };
  /** Resets every connection through the proxy (TCP RST on both sides). */
  'fault.reset': { req: void; res: { connections: number } };
  /** pg_terminate_backend / KILL of one of Poolscope's own sessions. */
  'server.terminate': { req: { serverId: number }; res: void };
  /** Stops the embedded PostgreSQL, waits `downMs` (default 2 s), starts it again; resolves when it is up. */
  'db.restart': { req: { downMs?: number }; res: void };
  /** `count` simulated app instances, each its own real pool of `poolSize`, all busy. */
  'instances.start': { req: { count: number; poolSize: number; query: (typeof INSTANCE_QUERIES)[number]; sleepMs?: number }; res: void };
  'instances.stop': { req: void; res: void };
  /** Throughput at each pool size, `clients` requests in flight, `secondsEach` per size. */
  'sweep.start': { req: { sizes: number[]; secondsEach: number; clients: number; query: (typeof SWEEP_QUERIES)[number] }; res: void };
  'sweep.stop': { req: void; res: void };
  'scenario.list': { req: void; res: ScenarioInfo[] };
  /**
   * Loads a built-in or a file's text (JSON), checked field by field; paused before its first
   * step. A file that sends SQL of its own opens with a review (snapshot's scenario.review).
   */
  'scenario.open': { req: { builtIn: string } | { source: string; fileName?: string }; res: ScenarioInfo };
  /** Lets the open file's SQL run: play and step refuse (needs-confirmation) until then. `id`: the review's. */
  'scenario.confirm': { req: { id: string }; res: void };
  /**
   * Runs the steps from the current one, stopping at each note until scenario.next (or, for a
   * note with "advance": "after-reading", for its reading time), to the end or a failed expect.
   */
  'scenario.play': { req: void; res: void };
  /** Stops after the step running now. */
  'scenario.pause': { req: void; res: void };
  /** Runs the steps up to and including the next note, then pauses. */
  'scenario.step': { req: void; res: void };
  /** Goes on from the note on screen (plays on to the next note; cuts a reading time short). */
  'scenario.next': { req: void; res: void };
  /** Back to the previous note: starts over and replays the steps up to it (a restart when there is none). */
  'scenario.back': { req: void; res: void };
  /** Stops what the scenario started, reapplies its settings, and goes back to its first step. */
  'scenario.restart': { req: void; res: void };
  /** Stops the run and what it started, and closes the scenario (its note leaves the screen). */
  'scenario.close': { req: void; res: void };
  /** Keeps every event from now on, with the snapshot before the first. */
  'record.start': { req: void; res: void };
  /** The recording's file text (JSON of a Recording), made by the engine in chunks: at the cap, hundreds of MB. */
  'record.stop': { req: void; res: string };
}

/**
 * Events from `from` to `to` (sequence numbers, inclusive), in order. Statement events
 * and borrowers served clean may arrive summarized (`statement.summary`,
 * `borrower.summary`), so `events` can hold fewer entries than `to - from + 1`; a batch whose `from` is not the previous `to` + 1 means events were
 * lost on the way and the receiver rebases on `snapshot.get`.
 */
export interface Batch {
  from: number;
  to: number;
  events: PoolEvent[];
}

export interface ApiError {
  code: string;
  message: string;
  /** With ssh-host-key-unknown and ssh-host-key-changed: the key the SSH host presented. */
  hostKey?: { host: string; port: number; keyType: string; fingerprint: string };
}

export type Reply<T> = { ok: true; res: T } | { ok: false; error: ApiError };

export interface Transport {
  invoke<K extends CommandName>(cmd: K, req: Commands[K]['req']): Promise<Commands[K]['res']>;
  subscribe(onBatch: (batch: Batch) => void): () => void;
}

/** Checks an incoming request: the parsed request, or a message naming the field at fault. */
export function validateCommand(cmd: unknown, req: unknown): { ok: true; cmd: CommandName; req: unknown } | { ok: false; error: ApiError } {
  if (typeof cmd !== 'string' || !Object.hasOwn(commandSchemas, cmd)) {
    return { ok: false, error: { code: 'bad-request', message: `Unknown command ${JSON.stringify(cmd)}.` } };
  }
  const r = commandSchemas[cmd as CommandName].safeParse(req);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return { ok: false, error: { code: 'bad-request', message: `${cmd}: ${where}${issue?.message ?? 'invalid request'}` } };
  }
  return { ok: true, cmd: cmd as CommandName, req: r.data };
}

/**
 * Wire messages of the WebSocket transport. A client's first message is its `ClientHello`
 * (the run's token); the host reads nothing else before it and answers `{ready: true}`, then
 * requests are answered and batches sent.
 */
export type ClientHello = { token: string };
export type ClientMessage = { id: number; cmd: string; req?: unknown };
export type ServerMessage = ({ id: number } & Reply<unknown>) | { batch: Batch } | { ready: true };

/** The host closes a socket with this code when its hello held no token or a wrong one: reconnecting will not help. */
export const CLOSE_TOKEN_REFUSED = 4401;
