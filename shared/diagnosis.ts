import { activeFaults } from './faults';
import { type Snapshot, connectionCounts } from './snapshot';

export const TIMEOUT_CAUSES = ['injected fault', 'leak', 'slow queries', 'database unreachable', 'pool too small'] as const;
export type TimeoutCause = (typeof TIMEOUT_CAUSES)[number];

export interface Holder {
  borrowerId: string;
  label: string;
  site: string;
  heldMs: number;
  /** The statement running now, or null when the holder sits idle on its connection. */
  statement: string | null;
  idleMs: number;
  inTransaction: boolean;
}

export interface TimeoutDiagnosis {
  total: number;
  borrowed: number;
  idle: number;
  connecting: number;
  /** Waiting borrowers besides the one that timed out. */
  waiting: number;
  max: number;
  /** Every holder of a borrowed connection, oldest first. */
  holders: Holder[];
  cause: TimeoutCause;
  explanation: string;
}

/** A holder that ran nothing for this long while others wait looks like a leak. */
export const LEAK_IDLE_MS = 1_000;

/**
 * Why a borrower of `poolId` ran out of time, read from the snapshot at that instant, in
 * the manner of HikariCP's timeout message: the pool's counts, its holders and the likely
 * cause. `waitingOthers` comes from the pool's own line: under a spike of thousands, every
 * timeout reads only the pool's connections, never the whole line (issue 14).
 */
export function diagnoseTimeout(s: Snapshot, poolId: string, waitingOthers: number, now: number): TimeoutDiagnosis {
  const c = connectionCounts(s, poolId);
  const holders: Holder[] = [];
  for (const conn of Object.values(s.connections)) {
    if (conn.poolId !== poolId || conn.borrowerId === null) continue;
    const b = s.borrowers[conn.borrowerId];
    if (b?.state !== 'holding' || b.connId !== conn.id) continue;
    const since = conn.lastStatementAt ?? b.acquiredAt ?? now;
    holders.push({
      borrowerId: b.id,
      label: b.label,
      site: b.site,
      heldMs: now - (b.acquiredAt ?? now),
      statement: conn.statement,
      idleMs: conn.statement ? 0 : now - Math.max(since, b.acquiredAt ?? since),
      inTransaction: conn.tx !== 'idle',
    });
  }
  holders.sort((a, b) => b.heldMs - a.heldMs);
  const idleHolders = holders.filter((h) => h.statement === null && h.idleMs >= LEAK_IDLE_MS);
  const running = holders.filter((h) => h.statement !== null);

  let cause: TimeoutCause;
  let explanation: string;
  // Most of the pool still in its handshake is the same story as a pool that cannot open
  // any: the database (or the network to it) is slower than borrowers wait.
  if ((c.total < c.max && c.borrowed + c.idle < c.max && (c.connecting > 0 || holders.length === 0)) || (c.connecting > 0 && c.connecting * 2 >= c.total)) {
    cause = 'database unreachable';
    explanation = `the pool could open ${c.max - c.borrowed - c.idle} more connection(s) but ${c.connecting > 0 ? `${c.connecting} are still connecting` : 'none opened'}: check that the database is up and reachable, and how slow the network to it is.`;
  } else if (holders.length > 0 && idleHolders.length * 2 >= holders.length) {
    cause = 'leak';
    const sites = [...new Set(idleHolders.map((h) => h.site))];
    explanation = `${idleHolders.length} of ${holders.length} holders have run nothing for over ${LEAK_IDLE_MS / 1000} s: a connection borrowed and not released (a missing finally?) at ${sites.join(', ')}.`;
  } else if (holders.length > 0 && running.length === holders.length) {
    cause = 'slow queries';
    explanation = `every holder is running a statement (the longest for ${Math.round(Math.max(...running.map((h) => h.heldMs)))} ms): the queries are slower than borrowers can wait.`;
  } else {
    cause = 'pool too small';
    explanation = `connections are busy and released normally, but requests arrive faster than ${c.max} connections serve them: a bigger pool, a lower arrival rate or faster queries.`;
  }
  // A fault Poolscope set itself explains the timeout before anything the counts suggest:
  // during a blackhole the holders run statements that never answer, which read as slow queries.
  const faults = activeFaults(s.faults);
  if (faults.length > 0) {
    explanation = `Poolscope injected ${faults.join('; ')}: borrowers wait on it, not on the pool or the application. Without it the counts would say ${cause}: ${explanation}`;
    cause = 'injected fault';
  }
  return { total: c.total, borrowed: c.borrowed, idle: c.idle, connecting: c.connecting, waiting: waitingOthers, max: c.max, holders, cause, explanation };
}

function ms(n: number): string {
  return n >= 1_000 ? `${(n / 1_000).toFixed(1)} s` : `${Math.round(n)} ms`;
}

/** The human message of a timeout, HikariCP style: counts, cause, then the holders. */
export function timeoutMessage(display: string, waitedMs: number, d: TimeoutDiagnosis, byEngine: boolean): string {
  const head =
    `Timed out after ${Math.round(waitedMs)} ms waiting for a connection from ${display} ` +
    `(total ${d.total}, borrowed ${d.borrowed}, idle ${d.idle}, connecting ${d.connecting}, waiting ${d.waiting} others; max ${d.max}).` +
    (byEngine ? ' mysql2 has no acquire timeout: Poolscope enforces this one.' : '');
  const shown = d.holders.slice(0, 10).map(
    (h) =>
      `  ${h.label} at ${h.site}: held ${ms(h.heldMs)}, ${h.statement ? `running "${h.statement}"` : `idle ${ms(h.idleMs)}`}${h.inTransaction ? ', in a transaction' : ''}`,
  );
  const more = d.holders.length > shown.length ? [`  … and ${d.holders.length - shown.length} more`] : [];
  return [head, `Likely cause: ${d.cause}: ${d.explanation}`, ...(shown.length ? ['Holders, oldest first:', ...shown, ...more] : [])].join('\n');
}
