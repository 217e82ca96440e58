// The event journal: the last N events in a ring (no allocation per event), filtered on
// read. Paused, it stops appending but keeps counting what it skipped.

import type { PoolEvent, PoolEventType } from '../../../../shared/events';
import { KIND_LABEL, describeToxics } from '../faults/faults';
import { formatDuration, formatMs, truncate } from '../format';

export const JOURNAL_CAPACITY = 1_000;

export interface JournalEntry {
  /** Unique and increasing for the life of the journal (a seq can repeat after a host restart). */
  key: number;
  event: PoolEvent;
}

export interface JournalFilter {
  /** Event type prefix: '' for all, 'borrower.' for one area, 'borrower.timedout' for one type. */
  type: string;
  /** Connection id, whole (`p1.c3`) or its last part (`c3`); '' for any. */
  conn: string;
  /** Borrower id, whole (`p1.b12`) or its last part (`b12`); '' for any. */
  borrower: string;
  /** Show the database monitor's server.observed events (about 4 a second): hidden unless asked for. */
  monitor: boolean;
}

export const NO_FILTER: JournalFilter = { type: '', conn: '', borrower: '', monitor: false };

/** The monitor's reading of the server's sessions: frequent, and shown in the Database panel. */
export const MONITOR_TYPE: PoolEventType = 'server.observed';

/** Choices for the type filter: areas, then the types people look for most. */
export const TYPE_FILTERS: readonly { value: string; label: string }[] = [
  { value: '', label: 'All events' },
  { value: 'connection.', label: 'connection.*' },
  { value: 'borrower.', label: 'borrower.*' },
  { value: 'statement.', label: 'statement.*' },
  { value: 'tx.', label: 'tx.*' },
  { value: 'pool.', label: 'pool.*' },
  { value: 'load.', label: 'load.*' },
  { value: 'target.', label: 'target.*' },
  { value: 'embedded.', label: 'embedded.*' },
  { value: 'borrower.timedout', label: 'borrower.timedout' },
  { value: 'borrower.failed', label: 'borrower.failed' },
  { value: 'borrower.cancelled', label: 'borrower.cancelled' },
  { value: 'borrower.flagged', label: 'borrower.flagged (leaks)' },
  { value: 'connection.closed', label: 'connection.closed' },
  { value: 'connection.broken', label: 'connection.broken' },
];

export function eventConn(e: PoolEvent): string | null {
  return 'connId' in e ? e.connId : null;
}

export function eventBorrower(e: PoolEvent): string | null {
  return 'borrowerId' in e ? e.borrowerId : null;
}

/** `p1.c3` matches "p1.c3", "c3" and "C3"; an empty query matches anything. */
export function idMatches(id: string | null, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (q === '') return true;
  if (id === null) return false;
  const lower = id.toLowerCase();
  return lower === q || lower.endsWith(`.${q}`);
}

export function matchesFilter(e: PoolEvent, f: JournalFilter): boolean {
  if (!f.monitor && e.type === MONITOR_TYPE) return false;
  if (f.type !== '' && !e.type.startsWith(f.type)) return false;
  if (f.conn.trim() !== '' && !idMatches(eventConn(e), f.conn)) return false;
  if (f.borrower.trim() !== '' && !idMatches(eventBorrower(e), f.borrower)) return false;
  return true;
}

export function isFiltering(f: JournalFilter): boolean {
  return !f.monitor || f.type !== '' || f.conn.trim() !== '' || f.borrower.trim() !== '';
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const side = (x: { requests: number; failed: number; p50Ms: number | null; p99Ms: number | null }) =>
  `${plural(x.requests, 'request')}${x.failed > 0 ? ` (${x.failed} failed)` : ''}, p50 ${formatMs(x.p50Ms)}, p99 ${formatMs(x.p99Ms)}`;

/**
 * One short line saying what happened. Exhaustive: a new event type fails the type check
 * here until it is described.
 */
export function describeEvent(e: PoolEvent): string {
  switch (e.type) {
    case 'embedded.progressed':
      return `${e.phase}: ${e.message}`;
    case 'target.failed':
      return `${e.display}: ${e.message}`;
    case 'pool.created':
      return `${e.target.display}, max ${e.settings.max}`;
    case 'pool.verified':
      return `server ${e.serverVersion}${e.tls?.protocol ? `, ${e.tls.protocol}` : ''}`;
    case 'tunnel.changed':
      return e.message;
    case 'pool.draining':
      return `replaced: serving its ${plural(e.waiting, 'waiting borrower')} and ${plural(e.holding, 'holder')}, then ending`;
    case 'source.attached':
      return `attached: pid ${e.pid}${e.thread ? ` (worker thread ${e.thread})` : ''}, ${e.command} (${e.runtime})`;
    case 'source.pooled':
      return `${e.sourceId}: pool ${e.poolId} (${e.driver})`;
    case 'source.noted':
      return `${e.sourceId}: ${e.message}`;
    case 'source.dropped':
      return `${e.sourceId}: ${e.dropped} events dropped by the agent`;
    case 'source.unsampled':
      return `${e.sourceId}: ${e.notSampled} borrowers' call sites not sampled (site budget)`;
    case 'source.detached':
      return `${e.sourceId}: detached`;
    case 'pool.ending':
      return 'ending: closing its connections';
    case 'pool.ended':
      return 'ended: every connection closed';
    case 'connection.connecting':
      return 'opening a new connection';
    case 'connection.opened':
      return `server id ${e.serverId ?? '?'}, handshake ${formatMs(e.handshake.totalMs)}`;
    case 'connection.broken':
      return e.error;
    case 'connection.closing':
      return e.reason;
    case 'connection.closed':
      return e.error === null ? e.reason : `${e.reason}: ${e.error}`;
    case 'borrower.enqueued':
      return `${e.label} at ${e.site}`;
    case 'borrower.acquired':
      return `waited ${formatMs(e.waitedMs)}`;
    case 'borrower.timedout':
      return `after ${formatMs(e.waitedMs)}: ${e.diagnosis.cause}: ${e.message}`;
    case 'borrower.failed':
      return `after ${formatMs(e.waitedMs)}: ${e.message}`;
    case 'borrower.cancelled':
      return `left the line after ${formatMs(e.waitedMs)}: ${e.reason}`;
    case 'borrower.flagged':
      return `held ${formatMs(e.heldMs)}, past the leak threshold of ${formatMs(e.thresholdMs)}`;
    case 'leak.thresholdset':
      return e.thresholdMs === 0 ? 'leak detection off' : `leak threshold ${formatMs(e.thresholdMs)}`;
    case 'borrower.summary': {
      const waited = e.waits.length > 0 ? `, waited up to ${formatMs(e.waits.reduce((m, w) => Math.max(m, w), 0))}` : '';
      const errors = e.errors > 0 ? `, ${e.errors} error${e.errors === 1 ? '' : 's'}${e.lastError === null ? '' : ` (${e.lastError})`}` : '';
      return `${e.served} borrower${e.served === 1 ? '' : 's'} served${waited}, ${e.started} statement${e.started === 1 ? '' : 's'}${errors}`;
    }
    case 'borrower.released':
      return `held ${formatMs(e.heldMs)}${e.dirty ? ', dirty' : ''}${e.destroyed ? ', destroyed' : ''}`;
    case 'statement.started':
      return truncate(e.sql, 80);
    case 'statement.finished':
      return e.error === null ? formatMs(e.ms) : `${formatMs(e.ms)}, error: ${e.error}`;
    case 'statement.summary': {
      const parts = [`${e.started} statement${e.started === 1 ? '' : 's'}`];
      if (e.errors > 0) parts.push(`${e.errors} error${e.errors === 1 ? '' : 's'}${e.lastError === null ? '' : ` (${e.lastError})`}`);
      if (e.sql !== null) parts.push(`running ${truncate(e.sql, 50)}`);
      return parts.join(', ');
    }
    case 'load.changed': {
      if (!e.running) return 'stopped';
      const parts = [e.rate ? `${e.rate}/s, at most ${e.concurrency} in flight` : `${e.concurrency} clients`, e.query];
      if (e.sleepMs !== null) parts.push(`${e.sleepMs} ms`);
      if (e.leakOneIn) parts.push(`leaks 1 in ${e.leakOneIn}`);
      return `running ${parts.join(', ')}`;
    }
    case 'load.stats':
      return `${e.requests} requests: ${e.ok} ok, ${e.failed} failed, ${e.timedOut} timed out${e.cancelled ? `, ${e.cancelled} cancelled` : ''}${e.leaked ? `, ${e.leaked} leaked` : ''}; p50 ${formatMs(e.p50Ms)}, p99 ${formatMs(e.p99Ms)}`;
    case 'compare.changed':
      return e.running ? `per-request vs pooled: ${e.concurrency} clients, ${e.query}` : 'per-request vs pooled stopped';
    case 'compare.stats':
      return `pooled: ${side(e.pooled)}; per request: ${side(e.perRequest)}`;
    case 'pattern.changed':
      return e.running ? `long transaction vs commit first: ${e.concurrency} clients, payment ${formatMs(e.paymentMs)}, email ${formatMs(e.emailMs)}` : 'transaction patterns stopped';
    case 'pattern.stats':
      return `in transaction: ${side(e.inTransaction)}; commit first: ${side(e.afterCommit)}`;
    case 'server.observed':
      return `${plural(e.sessions.length, 'server session')}${e.maxConnections === null ? '' : ` of max_connections ${e.maxConnections}`}${e.note === null ? '' : `: ${e.note}`}`;
    case 'fault.changed':
      return `link: ${describeToxics(e.toxics)}${e.proxy === null ? ', direct' : `, through the fault proxy ${e.proxy.listen}`}`;
    case 'fault.injected':
      return `fault ${e.faultId}: ${KIND_LABEL[e.kind]}${e.detail ? ` (${e.detail})` : ''}`;
    case 'fault.lifted':
      return `fault ${e.faultId} lifted: waiting for the pool to serve`;
    case 'fault.recovered':
      return e.servedAt === null
        ? `fault ${e.faultId} (${KIND_LABEL[e.kind]}): not served again yet`
        : `fault ${e.faultId} (${KIND_LABEL[e.kind]}): served again after ${formatDuration(e.servedAt - e.startedAt)}, ${plural(e.lost, 'connection')} lost, ${e.opened} opened`;
    case 'instances.changed':
      return e.running ? `${plural(e.count, 'instance')}, pools of ${e.poolSize}, ${e.query}` : 'instances stopped';
    case 'sweep.changed':
      return e.running ? `pool-size sweep: sizes ${e.sizes.join(', ')}, ${e.secondsEach} s each, ${e.clients} clients, ${e.query}` : 'pool-size sweep stopped';
    case 'sweep.measured':
      return `pool of ${e.size}: ${Math.round(e.throughput)} req/s, p50 ${formatMs(e.p50Ms)}, p99 ${formatMs(e.p99Ms)}${e.failed > 0 ? `, ${e.failed} failed` : ''}`;
    case 'scenario.opened':
      return `opened "${truncate(e.title, 60)}" (${plural(e.steps.length, 'step')})`;
    case 'scenario.confirmed':
      return "the file's SQL was read and allowed to run";
    case 'scenario.changed':
      return `${e.state}${e.state === 'finished' ? '' : ` at step ${e.current + 1}`}${e.goal == null ? '' : `, going back to step ${e.goal + 1}`}`;
    case 'scenario.stepped':
      return `step ${e.outcome.index + 1} ${e.outcome.status}: ${truncate(e.outcome.summary, 60)}${e.outcome.message ? ` (${truncate(e.outcome.message, 80)})` : ''}`;
    case 'scenario.noted':
      return `note: ${truncate(e.text, 100)}`;
    case 'scenario.closed':
      return `closed ${e.name}`;
    case 'record.changed':
      return e.recording ? `recording from event ${e.fromSeq ?? '?'}` : 'recording stopped';
    case 'tx.began':
      return 'BEGIN';
    case 'tx.failed':
      return 'statement failed inside the transaction';
    case 'tx.ended':
      return e.outcome;
    default: {
      // Never reached while every type has its case: adding a type to PoolEvent fails here.
      const undescribed: never = e;
      return (undescribed as PoolEvent).type;
    }
  }
}

/** Types whose rows stand out in the journal. */
export const ALERT_TYPES: ReadonlySet<PoolEventType> = new Set([
  'borrower.timedout',
  'borrower.failed',
  'borrower.flagged',
  'connection.broken',
  'target.failed',
  'tx.failed',
]);

export class EventJournal {
  readonly capacity: number;
  readonly #ring: (PoolEvent | undefined)[];
  #head = 0;
  #length = 0;
  /** Events ever offered (appended or skipped while paused). */
  #received = 0;
  #skipped = 0;
  #paused = false;
  /** Key of the newest entry + 1. */
  #keyBase = 0;
  /** Changes whenever what a query returns may have changed. */
  version = 0;

  constructor(capacity = JOURNAL_CAPACITY) {
    this.capacity = capacity;
    this.#ring = new Array<PoolEvent | undefined>(capacity);
  }

  get length(): number {
    return this.#length;
  }

  get received(): number {
    return this.#received;
  }

  /** Events not appended because the journal was paused (since the last pause). */
  get skipped(): number {
    return this.#skipped;
  }

  get paused(): boolean {
    return this.#paused;
  }

  setPaused(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    if (paused) this.#skipped = 0;
    this.version++;
  }

  push(events: readonly PoolEvent[]): void {
    if (events.length === 0) return;
    this.#received += events.length;
    if (this.#paused) {
      this.#skipped += events.length;
      return;
    }
    // Only the last `capacity` of a huge batch can survive anyway.
    const from = Math.max(0, events.length - this.capacity);
    for (let i = from; i < events.length; i++) {
      this.#ring[this.#head] = events[i];
      this.#head = (this.#head + 1) % this.capacity;
    }
    this.#length = Math.min(this.capacity, this.#length + events.length - from);
    this.#keyBase += events.length - from;
    this.version++;
  }

  clear(): void {
    this.#ring.fill(undefined);
    this.#head = 0;
    this.#length = 0;
    this.version++;
  }

  /** Newest first, at most `limit` entries matching the filter. */
  query(filter: JournalFilter = NO_FILTER, limit = this.capacity): JournalEntry[] {
    const out: JournalEntry[] = [];
    const all = !isFiltering(filter);
    for (let j = 0; j < this.#length && out.length < limit; j++) {
      const i = (this.#head - 1 - j + this.capacity * 2) % this.capacity;
      const event = this.#ring[i];
      if (event === undefined) continue;
      if (all || matchesFilter(event, filter)) out.push({ key: this.#keyBase - 1 - j, event });
    }
    return out;
  }

  /** How many stored entries match (for "12 of 1,000 shown"). */
  count(filter: JournalFilter): number {
    if (!isFiltering(filter)) return this.#length;
    let n = 0;
    for (let j = 0; j < this.#length; j++) {
      const event = this.#ring[j];
      if (event !== undefined && matchesFilter(event, filter)) n++;
    }
    return n;
  }
}
