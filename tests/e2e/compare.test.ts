import path from 'node:path';
import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, SHOTS, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
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
    // The connection tax: its two lanes in the picture, the ratio and the waterfall in its group beside.
    await expect.poll(() => page.locator('[data-testid="pool-lane"][data-role="per-request"]').count(), { timeout: 5_000 }).toBe(1);
    await screenshot(page, path.join(SHOTS, 'connection-tax.png'));
    await page.getByTestId('control-compare-stop').click();
    await expect.poll(() => page.getByTestId('compare-state').textContent(), { timeout: 5_000 }).toBe('stopped');
    expect(await page.getByTestId('compare-error').count()).toBe(0);
  });

  it('shows the transaction held across the calls holding more connections than commit first', async () => {
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
    await page.getByTestId('control-pattern-stop').click();
    await expect.poll(() => page.getByTestId('pattern-state').textContent(), { timeout: 5_000 }).toBe('stopped');
    expect(await page.getByTestId('pattern-error').count()).toBe(0);
  });
});
