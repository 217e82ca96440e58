import path from 'node:path';
import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { PoolscopeService } from '../../main/engine/service';
import { builtIn } from '../../main/engine/scenarios/builtins';
import { type App, SHOTS, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import { databaseLine } from './helpers/database-line';
import type { PageElement, PageGlobals } from './helpers/in-page';
import { expectShownAsMeasured } from './helpers/shown-as-measured';
import { type LaneSeen, lanesSeen } from './helpers/lanes';
import { screenshot } from './helpers/workspace';

// The workspace at a projector's 1280x720 and at that window zoomed to 125 % and 150 %
// (laid out in 1024x576 and 853x480 CSS px; the device scale stays 1): with a scenario's note on
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

/** What the detail tabs show of the page at a width: read in the page with the tab shown. */
interface DetailFit {
  /** scrollWidth > clientWidth + 1 of the page and of every scrolling box in the tab. */
  sideways: string[];
  /** Row buttons not wholly inside the window and their table's box, or their text cut. */
  cut: string[];
  buttons: number;
}

function detailFit(page: Page, tab: string): Promise<DetailFit> {
  return page.evaluate((tab) => {
    const g = globalThis as unknown as PageGlobals;
    const d = g.document;
    const panel = d.querySelector(`[data-testid="detail-panel"][data-tab="${tab}"]`);
    const sideways: string[] = [];
    const page = d.scrollingElement;
    if (page && page.scrollWidth > page.clientWidth + 1) sideways.push(`the page: ${page.scrollWidth} > ${page.clientWidth}`);
    // The tables' containers: every box in the tab that scrolls (a table too wide for it would scroll sideways).
    for (const el of Array.from(panel?.querySelectorAll('*') ?? [])) {
      if (!['auto', 'scroll'].includes(g.getComputedStyle(el).overflowX)) continue;
      if (el.scrollWidth > el.clientWidth + 1) sideways.push(`${el.getAttribute('class') ?? '?'}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
    const cut: string[] = [];
    const buttons = Array.from(panel?.querySelectorAll('[data-testid="conn-row"] button') ?? []);
    for (const b of buttons) {
      b.scrollIntoView({ block: 'center', inline: 'nearest' });
      const r = b.getBoundingClientRect();
      const box = b.closest('.scroll')?.getBoundingClientRect();
      const inside = r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= Math.min(g.innerWidth, box?.right ?? Infinity) + 0.5 && r.bottom <= g.innerHeight + 0.5;
      if (!inside || b.scrollWidth > b.clientWidth + 1) cut.push(`${b.closest('[data-testid="conn-row"]')?.getAttribute('data-conn-id')} ${b.textContent}: ${JSON.stringify(r)}`);
    }
    g.scrollTo(0, 0);
    return { sideways, cut, buttons: buttons.length };
  }, tab);
}

/** A connection's second line as shown (conn-more), read in the page; null where it is not displayed. */
interface SecondLine {
  id: string;
  pid: string;
  age: string;
  uses: string;
  tx: string;
  statement: string | null;
}

function secondLines(page: Page): Promise<SecondLine[] | null> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    const lines = Array.from(g.document.querySelectorAll('[data-testid="conn-more"]'));
    if (lines.length === 0 || lines.some((el) => g.getComputedStyle(el).display === 'none')) return null;
    const text = (el: PageElement, id: string) => el.querySelector(`[data-testid="conn-more-${id}"]`)?.textContent ?? null;
    return lines.map((el) => ({ id: el.getAttribute('data-conn-id') ?? '', pid: text(el, 'pid') ?? '', age: text(el, 'age') ?? '', uses: text(el, 'uses') ?? '', tx: text(el, 'tx') ?? '', statement: text(el, 'statement') }));
  });
}

/** "850 ms", "16.9 s", "2 m 05 s" (formatDuration) in ms. */
function parseDuration(text: string): number {
  const m = /^(?:(\d+) m (\d+) s|([\d.]+) s|(\d+) ms)$/.exec(text);
  if (!m) return Number.NaN;
  if (m[1] !== undefined) return (Number(m[1]) * 60 + Number(m[2])) * 1_000;
  return m[3] !== undefined ? Number(m[3]) * 1_000 : Number(m[4]);
}

const DETAIL_TABS = ['connections', 'waiting', 'transactions', 'database', 'journal', 'charts'];
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

  /**
   * Runs `body` with the page laid out as its 1280x720 window zoomed to `zoom`: the zoom's CSS
   * viewport, set on the open page, from the top. The device scale stays 1: only the charts'
   * canvas reads it, the layout does not; and a fresh page per zoom (which could set it) took
   * 5-10 s to load beside a live page under six instances' load.
   */
  async function atZoom(zoom: (typeof ZOOMS)[number], body: () => Promise<void>): Promise<void> {
    await page.setViewportSize({ width: zoom.width, height: zoom.height });
    await page.evaluate(() => (globalThis as unknown as PageGlobals).scrollTo(0, 0));
    try {
      await body();
    } finally {
      await page.setViewportSize({ width: 1280, height: 720 });
    }
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
    await atZoom(zoom, async () => {
      for (const tab of GROUP_TABS) {
        await page.locator(`[data-testid="group-tab"][data-tab="${tab}"]`).click({ timeout: 5_000 });
        await expect.poll(() => page.locator(`[data-testid="group-panel"][data-tab="${tab}"]`).isVisible(), { timeout: 5_000 }).toBe(true);
        const seen = await inView(page);
        expect(seen.scrollY, `${zoom.name}, ${tab}: the page did not scroll`).toBe(0);
        expect(seen.sideways, `${zoom.name}, ${tab}: nothing wider than the window`).toBe(false);
        expect(seen.inside, `${zoom.name}, ${tab}`).toEqual({ picture: true, note: true, controls: true, groups: true, groupHeading: true });
      }
    });
  });

  it('six instances: at 1280 and zoomed, each lane\'s words apart, its tokens opaque and as counted; the picture in view up to 125 %', async () => {
    expect((await service.handle('scenario.close', undefined)).ok).toBe(true);
    // 6 x 20 against max_connections 100: refused connections leave borrowers waiting in the lanes.
    expect((await service.handle('instances.start', { count: 6, poolSize: 20, query: 'sleep', sleepMs: 300 })).ok).toBe(true);
    // After the test however it ends (a timeout too): the next tests open connections, so the
    // server must list the instances' sessions gone.
    onTestFinished(async () => {
      expect((await service.handle('instances.stop', undefined)).ok).toBe(true);
      await expect.poll(() => service.engine.snapshot().snapshot.server?.sessions.length ?? 999, { timeout: 20_000 }).toBeLessThan(20);
    });
    // The picture's database line as the monitor reads the server: near or at its limit, it says so.
    const databaseAsMeasured = async () => {
      const engine = databaseLine(service.engine.snapshot().snapshot);
      return { engine, shown: (await page.getByTestId('picture-database').textContent({ timeout: 5_000 }))?.replace(/\s+/g, ' ').trim() };
    };
    await expectShownAsMeasured(databaseAsMeasured, { timeout: 15_000, ready: (engine) => engine.includes(', refusing new connections') });
    for (const zoom of ZOOMS) {
      await atZoom(zoom, async () => {
        // A frame with all seven lanes and a line on an instance (lines come and go under the load).
        let lanes: LaneSeen[] = [];
        await expect.poll(async () => (lanes = await lanesSeen(page)).length === 7 && lanes.some((l) => l.label.startsWith('instance') && l.count > 0), { timeout: 10_000 }).toBe(true);
        expect(lanes.flatMap((l) => l.overlaps.map((o) => `${l.label}: ${o}`)), zoom.name).toEqual([]);
        // Each line: its tokens and "+N more" add up to its count, in the same frame.
        expect(lanes.map((l) => l.tokens + l.more), zoom.name).toEqual(lanes.map((l) => l.count));
        // At 150 % (480 px tall) seven lanes, each a line of words over a row of 20 tiles, do not fit: the page scrolls.
        if (zoom.scale < 1.5) expect((await inView(page)).inside.picture, `${zoom.name}: the picture`).toBe(true);
      });
    }
  });

  it('zoomed, the detail tabs fit without a sideways scroll, every row button in view, the second line as the engine has it', async () => {
    // Three leaked connections and a transaction that ran a statement: rows with every button, and a transaction.
    expect((await service.handle('scenario.close', undefined)).ok).toBe(true);
    const leaked = await service.handle('leak.inject', { count: 3 });
    const tx = await service.handle('tx.begin', { label: 'narrow checkout' });
    if (!leaked.ok || !tx.ok) throw new Error(`leak.inject or tx.begin failed: ${JSON.stringify([leaked, tx])}`);
    const { borrowerIds } = leaked.res as { borrowerIds: string[] };
    const { borrowerId } = tx.res as { borrowerId: string };
    try {
      expect((await service.handle('tx.run', { borrowerId, sql: 'select 1' })).ok).toBe(true);
      for (const zoom of ZOOMS) {
        await atZoom(zoom, async () => {
          await expect.poll(() => page.locator('[data-testid="conn-row"][data-state="borrowed"], [data-testid="conn-row"][data-state="in-transaction"]').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
          for (const tab of DETAIL_TABS) {
            await page.locator(`[data-testid="detail-tab"][data-tab="${tab}"]`).click({ timeout: 5_000 });
            await expect.poll(() => page.locator(`[data-testid="detail-panel"][data-tab="${tab}"]`).isVisible(), { timeout: 5_000 }).toBe(true);
            const fit = await detailFit(page, tab);
            expect(fit.sideways, `${zoom.name}, ${tab}: nothing scrolls sideways`).toEqual([]);
            expect(fit.cut, `${zoom.name}, ${tab}: every row button inside the window`).toEqual([]);
            // Release and Destroy on the three leaks and the transaction, Terminate on every open row.
            if (tab === 'connections') expect(fit.buttons, zoom.name).toBeGreaterThanOrEqual(12);
          }
          await page.locator('[data-testid="detail-tab"][data-tab="connections"]').click({ timeout: 5_000 });
          // At 1280 the columns have room: no second line. Zoomed, each row's second line says what the engine has.
          if (zoom.scale === 1) {
            expect(await secondLines(page)).toBeNull();
            // Each row's wide cells as the engine has the connection, read in the same poll.
            await expect
              .poll(
                async () => {
                  const rows = await page.getByTestId('conn-row').evaluateAll((trs) => trs.map((tr) => ({ id: tr.getAttribute('data-conn-id') ?? '', cells: [...tr.children].map((td) => td.textContent?.replace(/\s+/g, ' ').trim() ?? '') })));
                  const { connections, borrowers } = service.engine.snapshot().snapshot;
                  const now = Date.now();
                  const wrong = Object.entries(connections).map(([id, c]) => {
                    const cells = rows.find((r) => r.id === id)?.cells;
                    if (!cells) return { id, wrong: ['not shown'] };
                    const holder = c.borrowerId === null ? undefined : borrowers[c.borrowerId];
                    const checks = {
                      pid: (cells[2] ?? '').startsWith(String(c.serverId)),
                      holder: holder ? (cells[3] ?? '').startsWith(holder.label) && (cells[3] ?? '').endsWith(holder.site) : cells[3] === '–',
                      inState: Math.abs(parseDuration(cells[4] ?? '') - (now - c.stateSince)) < 3_000,
                      age: Math.abs(parseDuration(cells[5] ?? '') - (now - c.openedAt)) < 3_000,
                      uses: cells[6] === String(c.uses),
                      statement: c.statement === null ? cells[7] === '–' : (cells[7] ?? '').startsWith(c.statement.slice(0, 30)),
                      tx: c.txSince === null ? cells[8] === '–' : Math.abs(parseDuration(cells[8] ?? '') - (now - c.txSince)) < 3_000,
                    };
                    return { id, wrong: Object.keys(checks).filter((k) => !checks[k as keyof typeof checks]) };
                  });
                  const extra = rows.filter((r) => !(r.id in connections)).map((r) => ({ id: r.id, wrong: ['shown, not in the engine'] }));
                  return [...wrong, ...extra].filter((x) => x.wrong.length > 0);
                },
                { timeout: 10_000 },
              )
              .toEqual([]);
            return;
          }
          // The engine's connections read in the same poll as the screen: an idle one may close
          // meanwhile (idle timeout), and both must then agree without it.
          await expect
            .poll(
              async () => {
                const lines = (await secondLines(page)) ?? [];
                const { connections } = service.engine.snapshot().snapshot;
                const now = Date.now();
                const wrong = Object.entries(connections).map(([id, c]) => {
                  const l = lines.find((x) => x.id === id);
                  if (!l) return { id, wrong: ['not shown'] };
                  const checks = {
                    pid: l.pid === String(c.serverId),
                    uses: l.uses === String(c.uses),
                    tx: (l.tx === '–') === (c.txSince === null),
                    statement: l.statement === (c.statement ?? null),
                    age: Math.abs(parseDuration(l.age) - (now - c.openedAt)) < 3_000,
                  };
                  return { id, wrong: Object.keys(checks).filter((k) => !checks[k as keyof typeof checks]) };
                });
                const extra = lines.filter((l) => !(l.id in connections)).map((l) => ({ id: l.id, wrong: ['shown, not in the engine'] }));
                return [...wrong, ...extra].filter((x) => x.wrong.length > 0);
              },
              { timeout: 10_000 },
            )
            .toEqual([]);
        });
      }
    } finally {
      for (const id of borrowerIds) await service.handle('lease.release', { borrowerId: id });
      await service.handle('tx.commit', { borrowerId });
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
