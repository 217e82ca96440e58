import { z } from 'zod';

// Network faults (a TCP proxy between the pool and the database, in the spirit of
// Toxiproxy's toxics) and the outages the user triggers by hand. Each outage opens a
// recovery window that the engine closes with what it measured.

/** Conditions on the proxied link, live in both directions. */
export interface Toxics {
  /** Added one-way delay per direction (ms). */
  latencyMs: number;
  /** Uniform +- jitter around the latency (ms). */
  jitterMs: number;
  /** Per connection and direction, kilobytes per second; 0 = unlimited. */
  bandwidthKbps: number;
  /** Accept and never forward: the hang that keepalive and timeouts must catch. */
  blackhole: boolean;
  /** New connections are refused (ECONNREFUSED); open ones keep working. */
  refuse: boolean;
}

export const NO_TOXICS: Readonly<Toxics> = Object.freeze({ latencyMs: 0, jitterMs: 0, bandwidthKbps: 0, blackhole: false, refuse: false });

const ms = (max: number, what: string) =>
  z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).min(0, `${what} must be at least 0`).max(max, `${what} must be at most ${max}`);

export const toxicsInputSchema = z
  .object({
    latencyMs: ms(10_000, 'latency (ms)'),
    jitterMs: ms(10_000, 'jitter (ms)'),
    bandwidthKbps: ms(10_000_000, 'bandwidth (KB/s)'),
    blackhole: z.boolean(),
    refuse: z.boolean(),
  })
  .partial()
  .strict();

/** What a user did to the link or the server; each but latency and bandwidth is an outage. */
export type FaultKind = 'latency' | 'bandwidth' | 'blackhole' | 'refuse' | 'reset' | 'terminate' | 'restart' | 'tunnel';

/** One outage from start to the pool serving again, as the engine measured it. */
export interface Recovery {
  faultId: number;
  kind: FaultKind;
  detail: string;
  startedAt: number;
  /** When the fault was lifted (a reset or terminate: at once; a restart: the server is up again). */
  clearedAt: number | null;
  /** When a borrow and `SELECT 1` through the pool first succeeded after the fault was lifted. */
  servedAt: number | null;
  /** Borrowers and statements that failed during the window, by message. */
  failures: { message: string; count: number }[];
  /** Connections lost to the fault (closed by error or by the server). */
  lost: number;
  /** New connections opened during the window (the replacements). */
  opened: number;
  /** Sockets still open for connections the pools had already dropped; must be 0. */
  socketsLeftOpen: number | null;
}

/**
 * The faults Poolscope has set and not lifted, in words: the proxy's conditions, then any
 * outage it caused that is still on (a restart's server down, a blackhole, a refusal).
 * Empty when none: the header's fault marker and the timeout diagnosis read this.
 */
export function activeFaults(faults: { toxics: Toxics; open: { kind: FaultKind; detail: string; liftedAt: number | null }[] }): string[] {
  const t = faults.toxics;
  const set: string[] = [];
  if (t.latencyMs > 0 || t.jitterMs > 0) set.push(`latency ${t.latencyMs} ms${t.jitterMs > 0 ? ` ± ${t.jitterMs} ms` : ''}`);
  if (t.bandwidthKbps > 0) set.push(`bandwidth ${t.bandwidthKbps} KB/s`);
  // A tunnel going down is observed, not injected.
  for (const f of faults.open) if (f.liftedAt === null && f.kind !== 'tunnel') set.push(f.detail);
  return set;
}

/**
 * The group a failure's message is counted in: its first line (a timeout's message goes on
 * with its holders), numbers as N. A blackhole's 40 timeouts, each waited a different number
 * of ms with different counts, were 40 lines cut off; they are one line with a count.
 */
export function failureGroup(message: string): string {
  const first = message.split('\n', 1)[0] ?? '';
  return first.replace(/\d+(\.\d+)?/g, 'N').trim();
}

/** Recovery time: from the fault to the pool serving again. */
export function recoveryMs(r: Recovery): number | null {
  return r.servedAt === null ? null : r.servedAt - r.startedAt;
}

/** The server's own words when it is out of connection slots (pg 53300, MySQL 1040). */
export const REFUSED_BY_SERVER = /too many clients|too many connections|53300|ER_CON_COUNT_ERROR|remaining connection slots are reserved/i;
