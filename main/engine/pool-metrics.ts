// Pool metrics for Poolscope's own pools (`poolscope web --metrics-*`, docs/metrics.md): the
// same instruments as the attach agent's (main/agent/metrics.cjs, one definition of the
// names), fed by the event log and read from its live snapshot on collection. Attached
// apps' pools are left out: their own agents export them.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { TargetInfo } from '../../shared/events';
import { joinServerView } from '../../shared/server-join';
import { isBorrowedState } from '../../shared/snapshot';
import type { EventLog } from './event-log';

type Attrs = Readonly<Record<string, string>>;

const POOL_NAME = 'db.client.connection.pool.name';

interface PoolGauges {
  attrs: Attrs;
  idle: number;
  used: number;
  pending: number;
  max: number;
  idleMax: number | null;
  idleMin: number | null;
  leaked: number;
}

interface Instruments {
  attrsFor(name: string): Attrs;
  timeout(attrs: Attrs): void;
  dirtyReturn(attrs: Attrs): void;
  createTime(attrs: Attrs, seconds: number): void;
  waitTime(attrs: Attrs, seconds: number): void;
  useTime(attrs: Attrs, seconds: number): void;
  listening(): { host: string; port: number } | null;
  stop(): Promise<void>;
}

interface MetricsModule {
  startPoolMetrics(o: {
    otlp?: string | null;
    port?: number | null;
    host?: string;
    intervalMs?: number;
    service: string;
    read: () => { pools: PoolGauges[]; orphans: number | null };
    warn: (message: string) => void;
  }): Instruments;
  namer(): { take(info: Pick<TargetInfo, 'host' | 'port' | 'database'>): string; free(name: string): void };
}

export interface EngineMetricsOptions {
  port?: number;
  host?: string;
  otlp?: string;
  intervalMs?: number;
}

export interface EngineMetrics {
  /** The scrape endpoint's address once it listens; null without one. */
  listening(): { host: string; port: number } | null;
  stop(): Promise<void>;
}

/** Loaded when metrics start: the Electron build, which never starts them, does not ship the agent's folder. */
function metricsModule(): MetricsModule {
  return createRequire(import.meta.url)(join(import.meta.dirname, '..', 'agent', 'metrics.cjs')) as MetricsModule;
}

export function startEngineMetrics(log: EventLog, opts: EngineMetricsOptions, warn: (message: string) => void): EngineMetrics {
  const m = metricsModule();
  const names = m.namer();
  const attrs = new Map<string, Attrs>(); // our pool id → attributes
  const poolOfConn = new Map<string, string>();
  const poolOfBorrower = new Map<string, string>();

  const read = () => {
    const s = log.live;
    const byPool = new Map<string, PoolGauges>();
    for (const [id, a] of attrs) {
      const p = s.pools[id];
      if (!p) continue;
      byPool.set(id, { attrs: a, idle: 0, used: 0, pending: 0, leaked: 0, max: p.settings.max, idleMax: p.settings.maxIdle ?? p.settings.max, idleMin: p.settings.min });
    }
    for (const c of Object.values(s.connections)) {
      const g = byPool.get(c.poolId);
      if (!g) continue;
      if (c.state === 'idle') g.idle++;
      else if (isBorrowedState(c.state)) g.used++;
    }
    for (const b of Object.values(s.borrowers)) {
      const g = byPool.get(b.poolId);
      if (!g) continue;
      if (b.state === 'waiting') g.pending++;
      else if (b.flagged) g.leaked++;
    }
    return { pools: [...byPool.values()], orphans: joinServerView(s)?.orphans.length ?? null };
  };

  const metrics = m.startPoolMetrics({ otlp: opts.otlp ?? null, port: opts.port ?? null, host: opts.host, intervalMs: opts.intervalMs, service: 'poolscope', read, warn });
  const of = (map: Map<string, string>, id: string) => {
    const pool = map.get(id);
    return pool === undefined ? undefined : attrs.get(pool);
  };
  const unsubscribe = log.subscribe((e) => {
    switch (e.type) {
      case 'pool.created':
        attrs.set(e.poolId, metrics.attrsFor(names.take(e.target)));
        break;
      case 'source.pooled':
      case 'pool.ended': {
        const a = attrs.get(e.poolId);
        if (a) names.free(a[POOL_NAME] as string);
        attrs.delete(e.poolId);
        break;
      }
      case 'connection.connecting':
        poolOfConn.set(e.connId, e.poolId);
        break;
      case 'connection.opened': {
        const a = of(poolOfConn, e.connId);
        if (a) metrics.createTime(a, e.handshake.totalMs / 1000);
        break;
      }
      case 'connection.closed':
        poolOfConn.delete(e.connId);
        break;
      case 'borrower.enqueued':
        poolOfBorrower.set(e.borrowerId, e.poolId);
        break;
      case 'borrower.acquired': {
        const a = of(poolOfBorrower, e.borrowerId);
        if (a) metrics.waitTime(a, e.waitedMs / 1000);
        break;
      }
      case 'borrower.timedout': {
        const a = of(poolOfBorrower, e.borrowerId);
        if (a) metrics.timeout(a);
        poolOfBorrower.delete(e.borrowerId);
        break;
      }
      case 'borrower.released': {
        const a = of(poolOfBorrower, e.borrowerId);
        if (a) metrics.useTime(a, e.heldMs / 1000);
        if (a && e.dirty) metrics.dirtyReturn(a);
        poolOfBorrower.delete(e.borrowerId);
        break;
      }
      case 'borrower.failed':
      case 'borrower.cancelled':
        poolOfBorrower.delete(e.borrowerId);
        break;
    }
  });
  return {
    listening: () => metrics.listening(),
    stop: async () => {
      unsubscribe();
      await metrics.stop();
    },
  };
}
