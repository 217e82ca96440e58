// The targets checked against one report, and the report as text tables.

import { type AttachRow, SITE_BUDGET } from './attach';
import type { BenchReport } from './bench';
import type { OverheadRow } from './overhead';
import { DELAY_LIMIT_MS } from './pipeline';
import type { Ratio } from './stats';
import { LONG_TASK_MS, type ViewResult } from './view';

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

export const TARGETS = {
  throughputRatio: 0.97,
  addedP50Us: 10,
  eventsPerSecond: 100_000,
  batchesPerSecond: 60,
  frameP95Ms: 16.7,
  heapGrowthMb: 20,
  appAgreement: 0.2,
  spikeLoopDelayP99Ms: 100,
  /** The app under the attach agent, watched by Poolscope, against itself bare (issue 18). */
  attachRatio: { 1: 0.97, 8: 0.9 } as Record<number, number>,
};

export function checkTargets(r: BenchReport): TargetCheck[] {
  const checks = overheadChecks(r.overhead);
  checks.push(...attachChecks(r.attach));
  const p = r.pipeline;
  checks.push({
    target: `pipeline >= ${TARGETS.eventsPerSecond.toLocaleString('en')} events/s with loop delay p99 < ${DELAY_LIMIT_MS} ms`,
    measured: `${p.maxSustainedPerSecond.toLocaleString('en')} events/s (p99 ${p.loopDelayP99Ms} ms)`,
    met: p.maxSustainedPerSecond >= TARGETS.eventsPerSecond,
  });
  const maxBatches = Math.max(...p.steps.map((s) => s.batchesPerSecond));
  checks.push({ target: `<= ${TARGETS.batchesPerSecond} batches/s`, measured: `at most ${maxBatches}/s`, met: maxBatches <= TARGETS.batchesPerSecond });
  checks.push(...viewChecks(r.view));
  const s = r.soak;
  const heap = Math.max(s.engineHeapGrowthMb, s.pageHeapGrowthMb);
  checks.push({ target: `soak heap growth < ${TARGETS.heapGrowthMb} MB (engine and page)`, measured: `engine ${s.engineHeapGrowthMb} MB, page ${s.pageHeapGrowthMb} MB`, met: heap < TARGETS.heapGrowthMb });
  checks.push({
    target: 'no sockets left over',
    measured: `${s.socketsBefore} before, ${s.socketsAfter} after; ${s.serverSessionsAfter} server sessions`,
    met: s.socketsAfter <= s.socketsBefore && s.serverSessionsAfter === 0,
  });
  const worstSpike = Math.max(...r.spikes.map((x) => x.loopDelayP99Ms));
  checks.push({
    target: `spike of ${r.spikes[0]?.count.toLocaleString('en') ?? '?'}: loop delay p99 < ${TARGETS.spikeLoopDelayP99Ms} ms, every server`,
    measured: r.spikes.map((x) => `${x.engine} ${x.loopDelayP99Ms} ms (longest stall ${x.longestStallMs} ms)`).join(', '),
    met: worstSpike < TARGETS.spikeLoopDelayP99Ms,
  });
  const pgTax = r.tax.find((t) => t.engine === 'postgres');
  if (pgTax) {
    checks.push({
      target: `app's comparison within ${TARGETS.appAgreement * 100}% of the bench (PostgreSQL)`,
      measured: `app ${pgTax.app.throughputRatio}x vs bench ${pgTax.throughputRatio}x (${pgTax.agreement})`,
      met: Math.abs(pgTax.agreement - 1) <= TARGETS.appAgreement,
    });
  }
  return checks;
}

export function viewChecks(v: ViewResult): TargetCheck[] {
  return [
    { target: `view frame p95 <= ${TARGETS.frameP95Ms} ms`, measured: `${v.frameP95Ms} ms`, met: v.frameP95Ms <= TARGETS.frameP95Ms },
    { target: `no long task over ${LONG_TASK_MS} ms`, measured: `${v.longTasks} (longest ${v.longestTaskMs} ms)`, met: v.longTasks === 0 },
  ];
}

export function overheadChecks(rows: OverheadRow[]): TargetCheck[] {
  const worst = rows.reduce((a, o) => (o.throughputRatio.median < a.throughputRatio.median ? o : a));
  const worstAdded = Math.max(...rows.map((o) => o.addedP50Us));
  return [
    {
      target: `inspected throughput >= ${TARGETS.throughputRatio * 100}% of bare (median of per-round ratios), every row`,
      measured: `worst ${spread(worst.throughputRatio)} (${worst.engine} ${worst.query}, ${worst.concurrency} clients; bare against itself ${spread(worst.noiseRatio)})`,
      met: worst.throughputRatio.median >= TARGETS.throughputRatio,
    },
    { target: `added p50 <= ${TARGETS.addedP50Us} µs, every row`, measured: `worst ${worstAdded} µs`, met: worstAdded <= TARGETS.addedP50Us },
  ];
}

export function attachChecks(rows: AttachRow[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const a of rows) {
    const target = TARGETS.attachRatio[a.concurrency];
    if (target === undefined) continue;
    const w = a.watchedRatio;
    checks.push({ target: `attached ${a.driver} app at ${a.concurrency} client(s), watched (site budget ${SITE_BUDGET}/s), >= ${target * 100}% of bare (median of per-round ratios to both bare sides' mean)`, measured: `${spread(w)}${a.pinned ? ', pinned' : ''}; bare against itself ${spread(a.noiseRatio)}; every site ${pct(a.allSitesRatio.median)}, to a sink ${pct(a.sinkRatio.median)}, nothing listening ${pct(a.aloneRatio.median)}`, met: w.median >= target });
  }
  return checks;
}

function table(head: string[], rows: (string | number)[][]): string {
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

const cores = (a: AttachRow) => (a.pinned ? `app ${a.pinned.app}, Poolscope ${a.pinned.poolscope}` : 'any');
const pct = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
/** A median ratio with its interquartile range. */
const spread = (r: Ratio) => `${pct(r.median)} (IQR ${(r.low * 100).toFixed(1)}–${pct(r.high)})`;
const n = (v: number) => (Number.isFinite(v) ? v.toLocaleString('en', { maximumFractionDigits: 1 }) : String(v));

export function formatView(v: ViewResult): string {
  return [
    `View in Chromium: ${n(v.connections)} connections, ${n(v.waiting)} waiting, ${n(v.achievedPerSecond)} events/s`,
    table(['frames', 'missed (> 25 ms)', 'frame p50 ms', 'frame p95 ms', 'frame max ms', 'long tasks > 50 ms', 'longest ms'], [[v.frames, v.missedFrames, v.frameP50Ms, v.frameP95Ms, v.frameMaxMs, v.longTasks, v.longestTaskMs]]),
  ].join('\n');
}

/** The overhead part's table, the baseline's inspected pool beside this tree's when it was measured. */
export function formatOverhead(rows: OverheadRow[]): string {
  const base = rows.some((o) => o.baseline);
  return [
    `Overhead: bare driver pool vs the same pool inspected${base ? ', and inspected by the baseline checkout' : ''}, and a second bare pool (the machine's noise); closed loop, interleaved runs; ratios are medians of the rounds' own ratios to bare (IQR: the middle half of those)`,
    table(
      ['server', 'query', 'conc.', 'bare /s', 'bare again', 'inspected /s', 'ratio', ...(base ? ['baseline /s', 'ratio'] : []), 'bare p50 µs', 'insp. p50 µs', 'added p50 µs', 'bare p99 µs', 'insp. p99 µs'],
      rows.map((o) => [o.engine, o.query, o.concurrency, n(o.bare.perSecond), spread(o.noiseRatio), n(o.inspected.perSecond), spread(o.throughputRatio), ...(base ? [n(o.baseline?.inspected.perSecond ?? 0), o.baseline ? spread(o.baseline.throughputRatio) : '-'] : []), n(o.bare.p50Us), n(o.inspected.p50Us), n(o.addedP50Us), n(o.bare.p99Us), n(o.inspected.p99Us)]),
    ),
  ].join('\n');
}

/** The attach part's table, and the baseline agent's beside this tree's when it was measured. */
export function formatAttach(rows: AttachRow[]): string {
  const out = [
    `Attach: the app's own pool (SELECT 1, pool of 10) bare; a second bare copy (the machine's noise); with the agent watched by Poolscope (its default site budget of ${SITE_BUDGET}/s, and every call site); with the agent and nothing listening; sending to a sink that discards; with nothing listening and pool metrics on. Ratios: the median over interleaved rounds of each round's ratio to the mean of the two bare sides (bare again: to bare; IQR: the middle half of those). Poolscope's own CPU per request while it watched. Cores: where a row ran pinned, the core of the app copies and their own server, and Poolscope's (docs/attach.md)`,
    table(
      ['driver', 'conc.', 'cores', 'bare /s', 'bare again', 'watched', 'every site', 'alone', 'sink', 'metrics', 'CPU µs/req bare', 'watched', 'every site', 'alone', 'sink', 'metrics', 'Poolscope µs/req watched', 'every site', 'dropped', 'not sampled'],
      rows.map((a) => [a.driver, a.concurrency, cores(a), n(a.perSecond.bare), spread(a.noiseRatio), spread(a.watchedRatio), pct(a.allSitesRatio.median), pct(a.aloneRatio.median), pct(a.sinkRatio.median), pct(a.metricsRatio.median), n(a.cpuUsPerRequest.bare), n(a.cpuUsPerRequest.watched), n(a.cpuUsPerRequest.allSites), n(a.cpuUsPerRequest.alone), n(a.cpuUsPerRequest.sink), n(a.cpuUsPerRequest.metrics), n(a.poolscopeCpuUsPerRequest.watched), n(a.poolscopeCpuUsPerRequest.allSites), a.dropped, a.notSampled]),
    ),
  ];
  const compared = rows.filter((a) => a.baseline !== undefined);
  if (compared.length > 0) {
    out.push('', 'Attach, this tree beside the baseline agent (same rounds, same bare sides)');
    out.push(
      table(
        ['driver', 'conc.', 'watched ratio', 'baseline', 'alone ratio', 'baseline', 'CPU µs/req watched', 'baseline', 'alone', 'baseline'],
        compared.map((a) => [a.driver, a.concurrency, spread(a.watchedRatio), spread(a.baseline!.watchedRatio), pct(a.aloneRatio.median), pct(a.baseline!.aloneRatio.median), n(a.cpuUsPerRequest.watched), n(a.baseline!.cpuUsPerRequest.watched), n(a.cpuUsPerRequest.alone), n(a.baseline!.cpuUsPerRequest.alone)]),
      ),
    );
  }
  return out.join('\n');
}

export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`Poolscope bench (${r.config}, ${r.seconds} s) on ${m.cpu}, ${m.cores} cores, load ${m.loadAverage}, Node ${m.node}; PostgreSQL ${m.servers.postgres}, MariaDB/MySQL ${m.servers.mysql}`);
  out.push('', formatOverhead(r.overhead));
  out.push('', formatAttach(r.attach));
  out.push('', 'Connection tax: a new connection per request vs the pool (SELECT 1)');
  out.push(
    table(
      ['server', 'conc.', 'pooled /s', 'per-request /s', 'throughput ratio', 'p50 ratio', "app's panel", 'app / bench'],
      r.tax.map((t) => [t.engine, t.concurrency, n(t.pooled.perSecond), n(t.perRequest.perSecond), `${t.throughputRatio}x`, `${t.p50Ratio}x`, `${t.app.throughputRatio}x`, t.agreement]),
    ),
  );
  out.push('', 'Event pipeline (event log, reducer, coalescer, JSON) at rising rates');
  out.push(
    table(
      ['target /s', 'achieved /s', 'loop delay p99 ms', 'batches /s', 'bytes /batch', 'events /batch', 'sustained'],
      r.pipeline.steps.map((s) => [n(s.targetPerSecond), n(s.achievedPerSecond), s.loopDelayP99Ms, s.batchesPerSecond, n(s.bytesPerBatch), n(s.eventsPerBatch), s.sustained ? 'yes' : 'no']),
    ),
  );
  out.push('', formatView(r.view));
  const s = r.soak;
  out.push('', `Soak: ${s.seconds} s, ${n(s.requests)} requests`);
  out.push(
    table(
      ['', 'engine heap MB', 'engine RSS MB', 'page heap MB', 'page RSS MB'],
      [
        ['after warm-up', s.afterWarmUp.engineHeapMb, s.afterWarmUp.engineRssMb, s.afterWarmUp.pageHeapMb, s.afterWarmUp.pageRssMb],
        ['at end', s.atEnd.engineHeapMb, s.atEnd.engineRssMb, s.atEnd.pageHeapMb, s.atEnd.pageRssMb],
        ['growth', s.engineHeapGrowthMb, s.engineRssGrowthMb, s.pageHeapGrowthMb, s.pageRssGrowthMb],
      ],
    ),
  );
  out.push(`sockets: ${s.socketsBefore} before, ${s.socketsAfter} after; server sessions left: ${s.serverSessionsAfter}`);
  const c = r.clients[0];
  if (c) {
    out.push('', `Browser host with many clients: ${c.attempted} WebSockets attempted, then a spike of ${n(c.spike)} borrowers (embedded PostgreSQL); the host's own process`);
    out.push(
      table(
        ['host', 'in', 'refused', 'dropped', 'spike ms', 'loop delay p99 ms', 'loop delay max ms', 'RSS before MB', 'RSS peak MB', 'RSS growth MB', 'MB to clients', 'rebases'],
        r.clients.map((x) => [x.host, x.accepted, x.refused, x.dropped, x.spikeMs ?? 'unfinished', x.loopDelayP99Ms, x.loopDelayMaxMs, x.rssBeforeMb, x.rssPeakMb, x.rssGrowthMb, x.receivedMb, x.rebases]),
      ),
    );
  }
  out.push('', 'Spikes on a pool of 10 (each holder sleeps): left to time out, and stopped with load.stop once all of it waits; the host\'s event loop');
  out.push(
    table(
      ['server', 'borrowers', 'answered in ms', 'timed out', 'longest stall ms', 'loop delay p99 ms', 'stop ms', 'waiting at stop', 'cancelled', 'stop: longest stall ms'],
      r.spikes.map((x) => [x.engine, n(x.count), n(x.answeredMs), n(x.timedOut), x.longestStallMs, x.loopDelayP99Ms, n(x.stopMs), n(x.waitingAtStop), n(x.cancelled), x.stopLongestStallMs]),
    ),
  );
  const rs = r.recordingStop;
  out.push('', `Stopping a recording of ${n(rs.events)} events (${n(rs.megabytes)} MB of JSON): written in chunks, and the same stringified at once`);
  out.push(table(['stop ms', 'longest stall ms', 'at once ms'], [[n(rs.stopMs), rs.longestStallMs, n(rs.atOnceMs)]]));
  out.push('', 'Targets');
  out.push(table(['target', 'measured', 'met'], checkTargets(r).map((c) => [c.target, c.measured, c.met ? 'yes' : 'NO'])));
  return out.join('\n');
}
