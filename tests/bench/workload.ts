// The two sides every comparison runs: the driver's own pool, bare, and the same pool
// under Poolscope's instrumentation exactly as the app hosts it (openPool with an event
// log, the transport's coalescer and the leak detector subscribed). Same settings (the
// drivers' own option builders), same statements, same closed-loop clients.

import mysql from 'mysql2';
import pg from 'pg';
import type { Batch } from '../../shared/api';
import type { EngineKind } from '../../shared/events';
import { here } from '../../main/engine/call-site';
import { systemClock } from '../../main/engine/clock';
import { Coalescer } from '../../main/engine/coalescer';
import { EventLog } from '../../main/engine/event-log';
import { LeakDetector } from '../../main/engine/leak-detector';
import { mysqlPoolOptions } from '../../main/engine/pool/mysql-driver';
import { TargetLink } from '../../main/engine/link/target-link';
import { openPool } from '../../main/engine/pool/open-pool';
import { pgPoolConfig } from '../../main/engine/pool/pg-driver';
import { poolSettings } from '../../main/engine/pool/pool-settings';
import type { TargetSpec } from '../../main/engine/target-spec';
import { Samples, round } from './stats';

export type Query = 'select1' | 'point';

const DEMO_BOOKS = 2_000;

/** The statements of the app's load driver (main/engine/load/queries.ts). */
export function statement(engine: EngineKind, query: Query): { sql: string; params: () => unknown[] | undefined } {
  if (query === 'select1') return { sql: 'SELECT 1', params: () => undefined };
  return {
    sql: `SELECT * FROM books WHERE id = ${engine === 'postgres' ? '$1' : '?'}`,
    params: () => [1 + Math.floor(Math.random() * DEMO_BOOKS)],
  };
}

export interface BenchPool {
  /** One request: borrow, run the statement, release. */
  request(): Promise<void>;
  end(): Promise<void>;
}

export function barePool(spec: TargetSpec, max: number, query: Query): BenchPool {
  const s = poolSettings(spec.engine, { max });
  const { sql, params } = statement(spec.engine, query);
  if (spec.engine === 'postgres') {
    const pool = new pg.Pool(pgPoolConfig(TargetLink.plain(spec), s));
    pool.on('error', () => {});
    return {
      async request() {
        const client = await pool.connect();
        try {
          await client.query(sql, params());
        } finally {
          client.release();
        }
      },
      end: () => pool.end(),
    };
  }
  const pool = mysql.createPool(mysqlPoolOptions(TargetLink.plain(spec), s));
  return {
    request: () =>
      new Promise<void>((resolve, reject) => {
        pool.getConnection((err, conn) => {
          if (err) return reject(err);
          conn.query(sql, params(), (qerr) => {
            conn.release();
            if (qerr) reject(qerr);
            else resolve();
          });
        });
      }),
    end: () => new Promise<void>((resolve) => pool.end(() => resolve())),
  };
}

export interface InspectedPool extends BenchPool {
  readonly log: EventLog;
  /** Batches and bytes the coalescer sent (what a window would receive). */
  readonly sent: { batches: number; bytes: number };
}

export function inspectedPool(spec: TargetSpec, max: number, query: Query): InspectedPool {
  const log = new EventLog(systemClock);
  const sent = { batches: 0, bytes: 0 };
  // The browser host's socket sends each batch as JSON text; serialising it is part of the cost.
  const coalescer = new Coalescer(log, systemClock, (batch: Batch) => {
    sent.batches++;
    sent.bytes += JSON.stringify({ batch }).length;
    return true;
  });
  const leaks = new LeakDetector(log, systemClock);
  const pool = openPool({ id: 'p1', link: TargetLink.plain(spec), log, clock: systemClock, settings: { max } });
  const { sql, params } = statement(spec.engine, query);
  // As the app's load driver borrows: a label, and the call site captured once.
  let site: string | null = null;
  return {
    log,
    sent,
    async request() {
      const lease = await pool.borrow({ label: 'bench', site: (site ??= here()) });
      try {
        await lease.query(sql, params());
      } finally {
        lease.release();
      }
    },
    async end() {
      await pool.end();
      coalescer.stop();
      leaks.stop();
    },
  };
}

export interface RunResult {
  requests: number;
  failed: number;
  seconds: number;
  /** Latency of each request, microseconds. */
  latencyUs: Samples;
}

/** `concurrency` clients, each running `request` back to back until `seconds` have passed. */
export async function closedLoop(request: () => Promise<void>, concurrency: number, seconds: number): Promise<RunResult> {
  const latencyUs = new Samples();
  let failed = 0;
  const started = performance.now();
  const until = started + seconds * 1_000;
  const client = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        await request();
        latencyUs.add((performance.now() - t0) * 1_000);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { requests: latencyUs.count, failed, seconds: (performance.now() - started) / 1_000, latencyUs };
}

export interface SideFigures {
  requests: number;
  failed: number;
  perSecond: number;
  p50Us: number;
  p99Us: number;
}

/** The runs of one side taken together: requests over their summed time, quantiles over all their latencies. */
export function figures(runs: RunResult[]): SideFigures {
  const all = new Samples();
  let requests = 0;
  let failed = 0;
  let seconds = 0;
  for (const r of runs) {
    all.addAll(r.latencyUs);
    requests += r.requests;
    failed += r.failed;
    seconds += r.seconds;
  }
  return { requests, failed, perSecond: round(requests / seconds, 1), p50Us: round(all.quantile(0.5), 1), p99Us: round(all.quantile(0.99), 1) };
}
