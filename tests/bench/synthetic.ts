// Pool traffic without a database, for the parts that need more events than a real pool
// on two shared cores can produce: a pool of `connections` open connections with
// `waiting` borrowers in line, and each request the event sequence a real one emits
// (enqueued, acquired, statement started and finished, released). The line stays as
// long as it starts: every request enqueues one borrower and hands a connection to the
// oldest waiter.

import type { EventLog } from '../../main/engine/event-log';
import { poolSettings } from '../../main/engine/pool/pool-settings';

const POOL = 'p1';
const SITE = 'handleRequest (app/routes.ts:42)';

export class SyntheticTraffic {
  readonly #log: EventLog;
  readonly #connections: number;
  /** Waiting borrower ids, oldest first, in a ring. */
  #queue: string[] = [];
  #head = 0;
  #nextBorrower = 0;
  #nextConn = 0;
  /** Step of the current request (0..4) and its connection and borrower. */
  #step = 0;
  #conn = '';
  #holder = '';

  constructor(log: EventLog, opts: { connections: number; waiting: number }) {
    this.#log = log;
    this.#connections = opts.connections;
    const settings = poolSettings('postgres', { max: opts.connections });
    log.emit({
      type: 'pool.created',
      poolId: POOL,
      target: { engine: 'postgres', host: '127.0.0.1', port: 5432, database: 'synthetic', user: 'bench', tls: { mode: 'disable', use: 'off', ca: null, cert: null, key: null }, ssh: null, display: 'postgres://bench@127.0.0.1:5432/synthetic', embedded: false },
      settings,
    });
    log.emit({ type: 'pool.verified', poolId: POOL, serverVersion: 'synthetic', tls: null });
    for (let i = 1; i <= opts.connections; i++) {
      const connId = `${POOL}.c${i}`;
      log.emit({ type: 'connection.connecting', poolId: POOL, connId });
      log.emit({ type: 'connection.opened', connId, serverId: 10_000 + i, handshake: { socketMs: 0.2, sshMs: null, tlsMs: null, authMs: 5, readyMs: 0.1, totalMs: 5.3 } });
    }
    for (let i = 0; i < opts.waiting; i++) this.#enqueue();
  }

  #enqueue(): void {
    const borrowerId = `${POOL}.b${++this.#nextBorrower}`;
    this.#queue.push(borrowerId);
    this.#log.emit({ type: 'borrower.enqueued', poolId: POOL, borrowerId, label: `load #${this.#nextBorrower % 64}`, site: SITE, deadline: null });
  }

  /** Emits `n` events, continuing the request in progress. */
  emit(n: number): void {
    const log = this.#log;
    for (let i = 0; i < n; i++) {
      switch (this.#step) {
        case 0:
          this.#enqueue();
          break;
        case 1: {
          this.#conn = `${POOL}.c${(this.#nextConn++ % this.#connections) + 1}`;
          this.#holder = this.#queue[this.#head++] as string;
          // Compact the ring now and then instead of shifting per request.
          if (this.#head > 4_096) {
            this.#queue = this.#queue.slice(this.#head);
            this.#head = 0;
          }
          log.emit({ type: 'borrower.acquired', borrowerId: this.#holder, connId: this.#conn, waitedMs: 12.5 });
          break;
        }
        case 2:
          log.emit({ type: 'statement.started', connId: this.#conn, sql: 'SELECT * FROM books WHERE id = $1' });
          break;
        case 3:
          log.emit({ type: 'statement.finished', connId: this.#conn, ms: 0.4, error: null });
          break;
        case 4:
          log.emit({ type: 'borrower.released', borrowerId: this.#holder, connId: this.#conn, heldMs: 0.6, dirty: false, destroyed: false });
          break;
      }
      this.#step = (this.#step + 1) % 5;
    }
  }
}

/**
 * Calls `emit(n)` every millisecond or so with what is due at `rate` events per second.
 * A producer that falls behind does not catch up in one burst (at most 50 ms worth per
 * tick, the rest is dropped): `sent` then shows that the rate could not be kept.
 */
export function paced(rate: number, emit: (n: number) => void): { stop(): void; readonly sent: number } {
  const started = performance.now();
  let scheduled = 0;
  let sent = 0;
  let timer: NodeJS.Timeout | null = null;
  const cap = Math.max(1, Math.ceil(rate * 0.05));
  const tick = () => {
    const due = Math.floor(((performance.now() - started) / 1_000) * rate);
    const n = Math.min(due - scheduled, cap);
    scheduled = due;
    if (n > 0) {
      emit(n);
      sent += n;
    }
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return {
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
    get sent() {
      return sent;
    },
  };
}
