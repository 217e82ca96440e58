import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolscopeService } from '../../main/engine/service';
import { type App, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';

describe.skipIf(!chromiumAvailable)('stopping the load in Chromium, through the browser host', () => {
  let app: App;
  let service: PoolscopeService;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ settings: { max: 2, acquireTimeoutMs: 60_000 } });
    ({ service, page } = app);
  });

  afterAll(() => app?.close());

  it('Stop takes the spike out of the waiting line: the panel counts them cancelled, as the engine did, none timed out', async () => {
    let cancelled = 0;
    const off = service.engine.log.subscribe((e) => {
      if (e.type === 'borrower.cancelled') cancelled++;
    });
    const waiting = () => service.engine.snapshot().snapshot.waiting.length;
    await page.getByTestId('control-concurrency').fill('2');
    await page.getByTestId('control-rate').fill('');
    await page.getByTestId('control-query').selectOption('sleep');
    await page.getByTestId('control-sleep-ms').fill('1500');
    await page.getByTestId('control-load-start').click();
    await page.getByTestId('control-spike-count').fill('30');
    await page.getByTestId('control-spike').click();
    await expect.poll(waiting, { timeout: 10_000 }).toBeGreaterThanOrEqual(30);

    await page.getByTestId('control-load-stop').click();
    await expect.poll(() => page.getByTestId('load-state').textContent(), { timeout: 10_000 }).not.toMatch(/running/i);
    off();
    expect(cancelled).toBeGreaterThanOrEqual(30);
    await expect.poll(() => page.getByTestId('load-cancelled').textContent().then(Number), { timeout: 5_000 }).toBe(cancelled);
    expect(await page.getByTestId('load-timed-out').textContent()).toBe('0');
    expect(waiting()).toBe(0);
  });
});
