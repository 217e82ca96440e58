import path from 'node:path';
import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolscopeService } from '../../main/engine/service';
import { builtIn } from '../../main/engine/scenarios/builtins';
import { type App, SHOTS, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import type { PageElement, PageGlobals } from './helpers/in-page';
import { screenshot } from './helpers/workspace';

// The workspace at a projector's 1280x720 and at that window zoomed to 125 % and 150 %
// (1024x576 and 853x480 CSS px at a device scale of 1.25 and 1.5): with a scenario's note on
// screen, every control group is one click from the picture, and the picture, the note and
// the group shown stay inside the window without scrolling. On an embedded PostgreSQL.

interface InView {
  scrollY: number;
  sideways: boolean;
  /** Each element's box inside the viewport, or null when it is not in the page. */
  inside: Record<string, boolean | null>;
}

/** Where the picture, the note, the control column and the group shown are, read in the page. */
function inView(page: Page): Promise<InView> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    const inside = (sel: string) => {
      const el = g.document.querySelector(sel);
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= g.innerHeight + 0.5 && r.right <= g.innerWidth + 0.5;
    };
    return {
      scrollY: g.scrollY,
      sideways: g.document.documentElement.scrollWidth > g.innerWidth,
      inside: {
        picture: inside('[data-testid="pool-picture"]'),
        note: inside('[data-testid="scenario-note"]'),
        controls: inside('[data-testid="controls"]'),
        // The group's column (it scrolls on its own when a group is taller), its first heading at its top.
        groups: inside('[data-testid="control-groups"]'),
        groupHeading: inside('[data-testid="control-groups"] [role="tabpanel"]:not([hidden]) h2'),
      },
    };
  });
}

const GROUP_TABS = ['load', 'transactions', 'tax', 'faults', 'scale', 'settings', 'target', 'scenarios', 'record'];
/** 1280x720 at 100 %, 125 % and 150 %. */
const ZOOMS = [
  { name: '100 %', width: 1280, height: 720, scale: 1 },
  { name: '125 %', width: 1024, height: 576, scale: 1.25 },
  { name: '150 %', width: 853, height: 480, scale: 1.5 },
];

describe.skipIf(!chromiumAvailable)('the workspace at 1280x720 and zoomed, in Chromium', () => {
  let app: App;
  let service: PoolscopeService;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ embedded: true, settings: { max: 10, acquireTimeoutMs: 10_000 }, width: 1280, height: 720 });
    ({ service, page } = app);
  });

  afterAll(() => app?.close());

  /** A page on the same host at `zoom`: what a window of 1280x720 zoomed in shows. */
  async function zoomed(zoom: (typeof ZOOMS)[number]): Promise<Page> {
    if (zoom.scale === 1) return page;
    const context = await app.browser.newContext({ viewport: { width: zoom.width, height: zoom.height }, deviceScaleFactor: zoom.scale });
    const p = await context.newPage();
    await p.goto(app.host.url);
    await p.getByTestId('scenario-note').waitFor({ timeout: 20_000 });
    return p;
  }

  it('backpressure, stepped to "10 are served, 40 wait": the note on screen', async () => {
    const steps = builtIn('backpressure')?.steps ?? [];
    const at = steps.findIndex((s) => s.kind === 'note' && s.text.startsWith('10 are served'));
    const notes = steps.flatMap((s, i) => (s.kind === 'note' && i <= at ? [i] : []));
    expect((await service.handle('scenario.open', { builtIn: 'backpressure' })).ok).toBe(true);
    const scenario = () => service.engine.snapshot().snapshot.scenario;
    // Step, as a clicker does: the runner runs the steps before each note and stops there.
    for (const i of notes) {
      expect((await service.handle('scenario.step', undefined)).ok).toBe(true);
      await expect.poll(() => scenario()?.steps[i]?.status, { timeout: 60_000 }).toMatch(/passed|failed/);
      expect(scenario()?.steps[i]?.status).toBe('passed');
    }
    await page.getByTestId('scenario-note').filter({ hasText: '10 are served' }).waitFor({ timeout: 10_000 });
    // The layout on a large screen, while the line drains.
    await screenshot(page, path.join(SHOTS, 'workspace-1920x1080.png'), 1920, 1080);
  });

  it.each(ZOOMS)('at $name ($width x $height CSS px): every control group one click from the picture, the picture, the note and the group in view', async (zoom) => {
    const p = await zoomed(zoom);
    try {
      for (const tab of GROUP_TABS) {
        await p.locator(`[data-testid="group-tab"][data-tab="${tab}"]`).click({ timeout: 5_000 });
        await expect.poll(() => p.locator(`[data-testid="group-panel"][data-tab="${tab}"]`).isVisible(), { timeout: 5_000 }).toBe(true);
        const seen = await inView(p);
        expect(seen.scrollY, `${zoom.name}, ${tab}: the page did not scroll`).toBe(0);
        expect(seen.sideways, `${zoom.name}, ${tab}: nothing wider than the window`).toBe(false);
        expect(seen.inside, `${zoom.name}, ${tab}`).toEqual({ picture: true, note: true, controls: true, groups: true, groupHeading: true });
      }
    } finally {
      if (p !== page) await p.context().close();
    }
  });

  it('at 1280x720 every row button is inside the window and the columns fit the table', async () => {
    // Ten leaked rows, each with its release, destroy and terminate buttons.
    expect((await service.handle('scenario.close', undefined)).ok).toBe(true);
    expect((await service.handle('leak.inject', { count: 10 })).ok).toBe(true);
    await expect.poll(() => page.locator('[data-testid="conn-row"][data-state="borrowed"]').count(), { timeout: 10_000 }).toBe(10);
    const fit = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      const scroller = g.document.querySelector('[data-testid="conn-row"]')?.closest('table')?.closest('.scroll') ?? null;
      const buttons = Array.from(g.document.querySelectorAll('[data-testid="conn-row"] button'));
      const right = scroller?.getBoundingClientRect().right ?? 0;
      return { buttons: buttons.length, cut: buttons.filter((b) => b.getBoundingClientRect().right > Math.min(right, g.innerWidth) + 0.5).length, sideways: (scroller?.scrollWidth ?? 0) > (scroller?.clientWidth ?? 0) };
    });
    expect(fit.buttons).toBeGreaterThanOrEqual(20);
    expect(fit).toEqual({ buttons: fit.buttons, cut: 0, sideways: false });
  });

  it('the skip link goes to the controls, and no row button stands between the top and the controls', async () => {
    // A fresh page: Tab starts from its top.
    await page.reload();
    await page.getByTestId('conn-row').first().waitFor({ timeout: 20_000 });
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.getAttribute('data-testid') ?? null)).toBe('skip-to-controls');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.getAttribute('data-testid') ?? null), { timeout: 5_000 }).toBe('controls');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.getAttribute('data-testid') ?? null)).toBe('group-tab');

    // Tab from the top of the page: every stop until the controls is outside the connection rows.
    await page.reload();
    await page.getByTestId('conn-row').first().waitFor({ timeout: 20_000 });
    const passed: string[] = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const where = await page.evaluate(() => {
        const el = (globalThis as unknown as PageGlobals).document.activeElement;
        if (!el) return 'none';
        if (el.closest('[data-testid="controls"]')) return 'controls';
        return el.closest('[data-testid="conn-row"]') ? 'row' : (el.getAttribute('data-testid') ?? 'other');
      });
      if (where === 'controls') break;
      passed.push(where);
    }
    expect(passed).not.toContain('row');
    expect(passed.length).toBeLessThan(40);
  });

  it('the text size setting changes the tables\' font size and is kept across a reload', async () => {
    const cellFont = () => page.locator('[data-testid="conn-row"] td').first().evaluate((el) => Number.parseFloat((globalThis as unknown as PageGlobals).getComputedStyle(el as unknown as PageElement).fontSize));
    const normal = await cellFont();
    await page.getByTestId('control-text-size').selectOption('larger');
    await expect.poll(cellFont, { timeout: 5_000 }).toBeCloseTo(normal * 1.25, 1);
    await page.reload();
    await page.getByTestId('conn-row').first().waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('control-text-size').inputValue()).toBe('larger');
    expect(await cellFont()).toBeCloseTo(normal * 1.25, 1);
    await page.getByTestId('control-text-size').selectOption('normal');
    await expect.poll(cellFont, { timeout: 5_000 }).toBeCloseTo(normal, 1);
  });
});
