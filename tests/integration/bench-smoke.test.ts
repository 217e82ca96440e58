import { describe, expect, it } from 'vitest';
import { runBench } from '../bench/bench';
import { SMOKE } from '../bench/config';
import { currentCores, pinning } from '../bench/pinning';
import { checkTargets, formatReport } from '../bench/report';
import { chromiumAvailable } from '../e2e/helpers/chromium-gate';
import { mysqlAvailable } from './helpers/servers';

// The bench harness in a tiny configuration, so that it cannot rot: every figure is
// produced and sane. No timing target is asserted here: machines are noisy.
const finitePositive = (v: number) => Number.isFinite(v) && v > 0;

describe.skipIf(!mysqlAvailable || !chromiumAvailable)('npm run bench, smoke configuration', () => {
  // About 60 s alone; CI runs it beside the integration project on two cores, which doubles
  // that and more (the attach part starts 14 app copies a row, pinned ones each with a server).
  it('produces every figure on both servers', { timeout: 300_000 }, async () => {
    const started = Date.now();
    const cores = pinning().pinning === null ? null : currentCores();
    const r = await runBench(SMOKE);

    expect(r.machine.cores).toBeGreaterThan(0);
    expect(r.machine.cpu).not.toBe('');
    expect(r.machine.servers.postgres).toMatch(/^\d+/);
    expect(r.machine.servers.mysql).toMatch(/^\d+/);

    expect(r.overhead).toHaveLength(2 * 2 * SMOKE.overhead.concurrency.length);
    for (const o of r.overhead) {
      for (const side of [o.bare, o.inspected]) {
        expect(side.failed).toBe(0);
        expect(finitePositive(side.perSecond)).toBe(true);
        expect(finitePositive(side.p50Us)).toBe(true);
        expect(side.p99Us).toBeGreaterThanOrEqual(side.p50Us);
      }
      for (const r of [o.noiseRatio, o.throughputRatio]) {
        expect(finitePositive(r.median)).toBe(true);
        expect(r.low <= r.median && r.median <= r.high).toBe(true);
      }
      expect(Number.isFinite(o.addedP50Us)).toBe(true);
    }

    expect(r.attach.map((a) => a.driver)).toEqual(SMOKE.overhead.concurrency.flatMap(() => ['pg']).concat(SMOKE.overhead.concurrency.map(() => 'mysql2')));
    for (const a of r.attach) {
      const row = `attach ${a.driver} at ${a.concurrency} client(s)`;
      for (const side of ['bare', 'bareAgain', 'watched', 'allSites', 'alone', 'sink', 'metrics'] as const) {
        expect(a.perSecond[side], `${row}, ${side}: requests a second`).toSatisfy(finitePositive);
        expect(a.cpuUsPerRequest[side], `${row}, ${side}: CPU µs a request`).toSatisfy(finitePositive);
      }
      for (const r of [a.noiseRatio, a.watchedRatio, a.allSitesRatio, a.aloneRatio, a.sinkRatio, a.metricsRatio]) {
        expect(r.median, `${row}: a ratio's median`).toSatisfy(finitePositive);
        expect(r.low <= r.median && r.median <= r.high, `${row}: a ratio's IQR holds its median`).toBe(true);
      }
      // Poolscope's engine folds the watched sides' events: its CPU shows in their rows.
      expect(finitePositive(a.poolscopeCpuUsPerRequest.watched) && finitePositive(a.poolscopeCpuUsPerRequest.allSites)).toBe(true);
    }
    // Where two cores can be pinned to, the 1-client rows were, and the bench gave them back.
    expect(r.attach.map((a) => a.pinned !== null)).toEqual(r.attach.map((a) => cores !== null && a.concurrency === 1));
    if (cores !== null) expect(currentCores()).toBe(cores);

    expect(r.tax.map((t) => t.engine)).toEqual(['postgres', 'mysql']);
    for (const t of r.tax) {
      expect(finitePositive(t.pooled.perSecond) && finitePositive(t.perRequest.perSecond)).toBe(true);
      expect(finitePositive(t.throughputRatio) && finitePositive(t.p50Ratio)).toBe(true);
      expect(t.app.intervals).toBeGreaterThan(0);
      expect(finitePositive(t.app.throughputRatio) && finitePositive(t.agreement)).toBe(true);
    }

    const p = r.pipeline;
    expect(p.steps.length).toBeGreaterThan(0);
    for (const s of p.steps) {
      expect(finitePositive(s.achievedPerSecond) && finitePositive(s.batchesPerSecond) && finitePositive(s.bytesPerBatch)).toBe(true);
      expect(s.loopDelayP99Ms).toBeGreaterThan(0);
    }

    const v = r.view;
    expect(v.frames).toBeGreaterThan(0);
    expect(finitePositive(v.frameP50Ms)).toBe(true);
    expect(v.frameP95Ms).toBeGreaterThanOrEqual(v.frameP50Ms);
    expect(v.frameMaxMs).toBeGreaterThanOrEqual(v.frameP95Ms);
    expect(Number.isInteger(v.missedFrames) && v.missedFrames <= v.frames).toBe(true);
    expect(v.longTasks).toBeGreaterThanOrEqual(0);
    expect(finitePositive(v.achievedPerSecond)).toBe(true);

    const s = r.soak;
    expect(s.requests).toBeGreaterThan(0);
    for (const m of [s.afterWarmUp, s.atEnd]) {
      expect(finitePositive(m.engineHeapMb) && finitePositive(m.engineRssMb) && finitePositive(m.pageHeapMb)).toBe(true);
      expect(m.pageRssMb).toBeGreaterThanOrEqual(0);
    }
    expect(Number.isFinite(s.engineHeapGrowthMb) && Number.isFinite(s.pageHeapGrowthMb)).toBe(true);
    // Sockets are not timing: the app must leave none behind, even in a 2-second soak.
    expect(s.socketsAfter).toBeLessThanOrEqual(s.socketsBefore);
    expect(s.serverSessionsAfter).toBe(0);

    // This tree's host only (no baseline): the cap lets some in and refuses the rest.
    expect(r.clients).toHaveLength(1);
    const c = r.clients[0]!;
    expect(c.accepted).toBeGreaterThan(0);
    expect(c.accepted + c.refused).toBe(SMOKE.clients.attempted);
    expect(c.refused).toBeGreaterThan(0);
    expect(c.spikeMs !== null && c.spikeMs > 0).toBe(true);
    expect(finitePositive(c.loopDelayMaxMs) && finitePositive(c.rssBeforeMb) && finitePositive(c.rssPeakMb)).toBe(true);
    expect(c.loopDelayMaxMs).toBeGreaterThanOrEqual(c.loopDelayP99Ms);
    expect(c.receivedMb).toBeGreaterThan(0);

    expect(r.spikes.map((x) => x.engine)).toEqual(['postgres', 'mysql']);
    for (const x of r.spikes) {
      // The run left to time out: the pool of 10 serves a few, the rest time out; the stopped one cancels all that waited.
      expect(x.timedOut).toBeGreaterThan(0);
      expect(x.timedOut).toBeLessThan(x.count);
      expect(x.waitingAtStop).toBeGreaterThan(0);
      expect(x.cancelled).toBe(x.waitingAtStop);
      expect(finitePositive(x.answeredMs) && finitePositive(x.longestStallMs)).toBe(true);
      // The smoke's small spike can stop in well under a millisecond.
      expect(Number.isFinite(x.stopMs) && x.stopMs >= 0).toBe(true);
      expect(x.longestStallMs).toBeGreaterThanOrEqual(x.loopDelayP99Ms);
    }

    const rs = r.recordingStop;
    expect(rs.events).toBeGreaterThanOrEqual(SMOKE.recording.events);
    expect(finitePositive(rs.megabytes) && finitePositive(rs.stopMs) && finitePositive(rs.atOnceMs)).toBe(true);
    expect(rs.longestStallMs).toBeGreaterThanOrEqual(0);

    expect(checkTargets(r).length).toBeGreaterThanOrEqual(10);
    expect(formatReport(r)).toContain('Targets');
    console.info(`bench smoke: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });
});
