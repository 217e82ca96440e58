import path from 'node:path';
import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { formatCount, formatDuration, formatMs } from '../../renderer/src/lib/format';
import { type SmoothedPatternSide, formatRatio, smoothPatternSide, smoothSide, throughputRatio, waterfallSegments, windowMs } from '../../renderer/src/lib/compare/smoothing';
import type { EventOf } from '../../shared/events';
import { SMOOTH_INTERVALS } from '../../shared/snapshot';
import { type App, SHOTS, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import { expectShownAsMeasured } from './helpers/shown-as-measured';
import { reveal, screenshot } from './helpers/workspace';


describe.skipIf(!chromiumAvailable)('per-request connections and the transaction patterns in Chromium', () => {
  let app: App;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ settings: { max: 4, acquireTimeoutMs: 30_000 }, height: 1400 });
    ({ page } = app);
  });

  afterAll(() => app?.close());

  const ratio = async () => Number.parseFloat((await page.getByTestId('compare-ratio').textContent().catch(() => '')) ?? '');

  it('shows the pool outserving a connection per request, and what opening one costs', async () => {
    const intervals: EventOf<'compare.stats'>[] = [];
    const unsubscribe = app.service.engine.log.subscribe((e) => void (e.type === 'compare.stats' && intervals.push(e)));
    onTestFinished(unsubscribe);
    await reveal(page, 'control-compare-start');
    await expect.poll(() => page.getByTestId('control-compare-start').isEnabled(), { timeout: 5_000 }).toBe(true);
    await page.getByTestId('control-compare-concurrency').fill('2');
    await page.getByTestId('control-compare-query').selectOption('select1');
    await page.getByTestId('control-compare-start').click();
    await expect.poll(() => page.getByTestId('compare-state').textContent(), { timeout: 5_000 }).toContain('running');
    await expect.poll(ratio, { timeout: 10_000 }).toBeGreaterThan(1.5);
    expect(await page.getByTestId('compare-ratio').textContent()).toMatch(/^\d+(\.\d)?×$/);
    const waterfall = page.getByTestId('handshake-waterfall');
    await expect.poll(() => waterfall.locator('.segment[data-segment="auth"]').count(), { timeout: 10_000 }).toBe(1);
    expect(await waterfall.textContent()).toMatch(/authentication \d/);
    await expectShownAsMeasured(comparisonAsMeasured(intervals), { timeout: 10_000, ready: (engine) => intervals.length >= SMOOTH_INTERVALS && engine.handshake !== null });
    // The connection tax: its two lanes in the picture, the ratio and the waterfall in its group beside.
    await expect.poll(() => page.locator('[data-testid="pool-lane"][data-role="per-request"]').count(), { timeout: 5_000 }).toBe(1);
    await screenshot(page, path.join(SHOTS, 'connection-tax.png'));
    await page.getByTestId('control-compare-stop').click();
    await expect.poll(() => page.getByTestId('compare-state').textContent(), { timeout: 5_000 }).toBe('stopped');
    expect(await page.getByTestId('compare-error').count()).toBe(0);
  });

  it('restarted by a scenario step on a slower link, the panel shows the new run\'s intervals only, from its first', async () => {
    const { service } = app;
    const intervals: EventOf<'compare.stats'>[] = [];
    const unsubscribe = service.engine.log.subscribe((e) => {
      // A (re)start begins a new run: the panel smooths its intervals only.
      if (e.type === 'compare.changed' && e.running) intervals.length = 0;
      if (e.type === 'compare.stats') intervals.push(e);
    });
    onTestFinished(unsubscribe);
    onTestFinished(async () => {
      await service.handle('compare.stop', undefined);
      await service.handle('fault.clear', undefined);
    });
    expect((await service.handle('compare.start', { concurrency: 2, query: 'select1' })).ok).toBe(true);
    await expectShownAsMeasured(comparisonAsMeasured(intervals), { timeout: 10_000, ready: () => intervals.length >= SMOOTH_INTERVALS });
    // As the remote-latency scenario does: 50 ms each way, and the comparison started again without a stop.
    expect((await service.handle('fault.set', { latencyMs: 50 })).ok).toBe(true);
    expect((await service.handle('compare.start', { concurrency: 2, query: 'select1' })).ok).toBe(true);
    // From the first interval of the new run: nothing of the fast run before it (which served thousands a second).
    await expectShownAsMeasured(comparisonAsMeasured(intervals), { timeout: 15_000, ready: (engine) => intervals.length === 1 && engine.handshake !== null });
    await expectShownAsMeasured(comparisonAsMeasured(intervals), { timeout: 15_000, ready: () => intervals.length >= SMOOTH_INTERVALS });
  });

  /** The table, the ratio and the handshake as the engine measured them: the run's last four intervals smoothed as the panel says, the handshake of the latest. */
  function comparisonAsMeasured(intervals: EventOf<'compare.stats'>[]) {
    const waterfall = page.getByTestId('handshake-waterfall');
    return async () => {
      const last = intervals.slice(-SMOOTH_INTERVALS);
      const side = (k: 'pooled' | 'perRequest') => smoothSide(last.map((x) => ({ intervalMs: x.intervalMs, side: x[k] })));
      const [pooled, perRequest] = [side('pooled'), side('perRequest')];
      const latest = intervals.at(-1)?.handshake ?? null;
      const engine = {
        rows: [
          ['req/s', formatCount(pooled.perSecond), formatCount(perRequest.perSecond)],
          ['p50', formatMs(pooled.p50Ms), formatMs(perRequest.p50Ms)],
          ['p99', formatMs(pooled.p99Ms), formatMs(perRequest.p99Ms)],
          ...(pooled.failed > 0 || perRequest.failed > 0 ? [['failed', String(pooled.failed), String(perRequest.failed)]] : []),
        ],
        ratio: formatRatio(throughputRatio(pooled.perSecond, perRequest.perSecond)),
        window: `, over the last ${formatDuration(windowMs(last))}`,
        handshake: latest && [`opening a connection: ${formatMs(latest.totalMs)} (median of this interval's)`, ...waterfallSegments(latest).map((x) => `${x.label} ${formatMs(x.ms)}`)],
      };
      const shown = {
        rows: await page.locator('table.figures tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((x) => x.textContent?.trim() ?? ''))),
        ratio: await page.getByTestId('compare-ratio').textContent({ timeout: 5_000 }),
        window: (await page.getByTestId('compare-window').textContent({ timeout: 5_000 }))?.replace(/\s+/g, ' '),
        handshake: [(await waterfall.locator('.caption').textContent({ timeout: 5_000 }))?.trim(), ...(await waterfall.locator('.legend li').allTextContents()).map((t) => t.trim())],
      };
      return { shown, engine };
    };
  }

  it('shows the transaction held across the calls holding more connections than commit first', async () => {
    const intervals: EventOf<'pattern.stats'>[] = [];
    const unsubscribe = app.service.engine.log.subscribe((e) => void (e.type === 'pattern.stats' && intervals.push(e)));
    onTestFinished(unsubscribe);
    await page.getByTestId('control-pattern-concurrency').fill('3');
    await page.getByTestId('control-pattern-payment-ms').fill('200');
    await page.getByTestId('control-pattern-email-ms').fill('100');
    await page.getByTestId('control-pattern-start').click();
    await expect.poll(() => page.getByTestId('pattern-state').textContent(), { timeout: 5_000 }).toContain('running');
    const held = async (side: string) => {
      const v = await page.getByTestId(side).getAttribute('data-holding').catch(() => null);
      return v === null || v === '' ? Number.NaN : Number(v);
    };
    await expect
      .poll(async () => {
        const inTx = await held('pattern-in-transaction');
        const after = await held('pattern-after-commit');
        return Number.isFinite(inTx) && Number.isFinite(after) && inTx > after;
      }, { timeout: 10_000 })
      .toBe(true);
    // Each side's figures as the engine measured them, the last four intervals smoothed as the panel says.
    const asMeasured = async () => {
      const last = intervals.slice(-SMOOTH_INTERVALS);
      const one = (s: SmoothedPatternSide) => [
        ['connections held', s.holding === null ? '–' : s.holding.toFixed(1)],
        ['borrowers waiting', s.waiting === null ? '–' : s.waiting.toFixed(1)],
        ['req/s', formatCount(s.perSecond)],
        ['p50', formatMs(s.p50Ms)],
        ['p99', formatMs(s.p99Ms)],
        ...(s.failed > 0 ? [['failed', String(s.failed)]] : []),
      ];
      const engine = {
        sides: (['inTransaction', 'afterCommit'] as const).map((k) => one(smoothPatternSide(last.map((x) => ({ intervalMs: x.intervalMs, side: x[k] }))))),
        window: `over the last ${formatDuration(windowMs(last))}; held and waiting are averages`,
      };
      const shown = {
        sides: await page.locator('[data-testid="pattern-in-transaction"], [data-testid="pattern-after-commit"]').evaluateAll((sides) =>
          sides.map((side) => [...side.querySelectorAll(':scope > div:not(.title)')].map((d) => [d.querySelector('dt')?.textContent?.trim() ?? '', d.querySelector('dd')?.textContent?.trim() ?? ''])),
        ),
        window: (await page.getByTestId('pattern-window').textContent({ timeout: 5_000 }))?.trim(),
      };
      return { shown, engine };
    };
    await expectShownAsMeasured(asMeasured, { timeout: 10_000, ready: () => intervals.length >= SMOOTH_INTERVALS });
    await page.getByTestId('control-pattern-stop').click();
    await expect.poll(() => page.getByTestId('pattern-state').textContent(), { timeout: 5_000 }).toBe('stopped');
    expect(await page.getByTestId('pattern-error').count()).toBe(0);
  });
});
