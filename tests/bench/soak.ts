// Part 5: soak. The app as it runs (engine, service, browser host, the page open in
// Chromium) on the embedded PostgreSQL under a closed-loop load for a long time: the
// engine process's heap and RSS and the page's heap and RSS after warm-up and at the end
// (heaps after a full collection), and the sockets open before and after.

import pg from 'pg';
import { Engine } from '../../main/engine/engine';
import { specToFields } from '../../main/engine/target-spec';
import { PoolscopeService } from '../../main/engine/service';
import { startWebHost } from '../../main/web/web-host';
import type { BenchConfig } from './config';
import { RENDERER_ROOT, openPage, pageHeap, rendererRss } from './page';
import type { BenchServer } from './servers';
import { round, sleep } from './stats';

const MB = 2 ** 20;

export interface MemoryPoint {
  engineHeapMb: number;
  engineRssMb: number;
  pageHeapMb: number;
  pageRssMb: number;
}

export interface SoakResult {
  seconds: number;
  requests: number;
  afterWarmUp: MemoryPoint;
  atEnd: MemoryPoint;
  engineHeapGrowthMb: number;
  engineRssGrowthMb: number;
  pageHeapGrowthMb: number;
  pageRssGrowthMb: number;
  /** TCP sockets of this process before the app started and after it stopped. */
  socketsBefore: number;
  socketsAfter: number;
  /** Sessions the app left on the server (pg_stat_activity, application_name 'poolscope'). */
  serverSessionsAfter: number;
}

const tcpSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

/** Engine heap after a full collection when the process runs with --expose-gc. */
function engineMemory(): { heap: number; rss: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

export async function measureSoak(cfg: BenchConfig['soak'], server: BenchServer, log: (line: string) => void): Promise<SoakResult> {
  const socketsBefore = tcpSockets();
  const engine = await Engine.start({ target: specToFields(server.spec, { secrets: true }) });
  const service = new PoolscopeService(engine);
  let requests = 0;
  const unsubscribe = engine.log.subscribe((e) => {
    if (e.type === 'borrower.released') requests++;
  });
  const host = await startWebHost({ service, root: RENDERER_ROOT });
  const { browser, page } = await openPage(host.url);
  const point = async (): Promise<MemoryPoint> => {
    const e = engineMemory();
    return { engineHeapMb: round(e.heap / MB), engineRssMb: round(e.rss / MB), pageHeapMb: round((await pageHeap(page)) / MB), pageRssMb: round(rendererRss() / MB) };
  };
  let afterWarmUp: MemoryPoint;
  let atEnd: MemoryPoint;
  try {
    const started = await service.handle('load.start', { concurrency: cfg.concurrency, query: 'select1' });
    if (!started.ok) throw new Error(`load.start: ${started.error.message}`);
    await sleep(cfg.warmSeconds * 1_000);
    afterWarmUp = await point();
    log(`soak after warm-up: ${JSON.stringify(afterWarmUp)}`);
    const until = performance.now() + (cfg.seconds - cfg.warmSeconds) * 1_000;
    while (performance.now() < until) {
      await sleep(Math.min(cfg.sampleSeconds * 1_000, Math.max(0, until - performance.now())));
      const m = process.memoryUsage();
      log(`soak: ${requests} requests, engine heap ${round(m.heapUsed / MB)} MB, rss ${round(m.rss / MB)} MB`);
    }
    atEnd = await point();
    log(`soak at end: ${JSON.stringify(atEnd)}`);
    await service.handle('load.stop', undefined);
  } finally {
    unsubscribe();
    await browser.close();
    await host.close();
    await service.stop();
  }
  const socketsAfter = tcpSockets();
  const admin = new pg.Client({ host: server.spec.host, port: server.spec.port, user: server.spec.user, password: server.spec.password ?? undefined, database: server.spec.database, application_name: 'poolscope-bench-admin' });
  await admin.connect();
  // A backend leaves pg_stat_activity a moment after its client closed: give it a second.
  let serverSessionsAfter = -1;
  for (let i = 0; i < 10; i++) {
    const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'poolscope'");
    serverSessionsAfter = rows[0]?.n ?? -1;
    if (serverSessionsAfter === 0) break;
    await sleep(100);
  }
  await admin.end();
  return {
    seconds: cfg.seconds,
    requests,
    afterWarmUp,
    atEnd,
    engineHeapGrowthMb: round(atEnd.engineHeapMb - afterWarmUp.engineHeapMb),
    engineRssGrowthMb: round(atEnd.engineRssMb - afterWarmUp.engineRssMb),
    pageHeapGrowthMb: round(atEnd.pageHeapMb - afterWarmUp.pageHeapMb),
    pageRssGrowthMb: round(atEnd.pageRssMb - afterWarmUp.pageRssMb),
    socketsBefore,
    socketsAfter,
    serverSessionsAfter,
  };
}
