import path from 'node:path';
import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { PoolscopeService } from '../../main/engine/service';
import { BUILT_IN_NAMES, builtIn } from '../../main/engine/scenarios/builtins';
import { type App, SHOTS, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import { recordGif } from './helpers/gif';
import type { PageGlobals } from './helpers/in-page';
import { clippedTiles } from './helpers/lanes';
import { still } from './helpers/workspace';

// The pool picture at a projector's 1280x720: what a scenario's note talks about is on
// screen, without scrolling, when the note shows; and what the picture draws is what the
// engine measured. The engine runs its own embedded PostgreSQL (database-restart stops it).

/** Read in the page on every animation frame until the note on screen is `note`. */
interface AtNote {
  note: string;
  /** The element a selector names: its box inside the viewport, and a few attributes. */
  boxes: Record<string, { inside: boolean; count: number | null } | null>;
  borrowedSlots: number;
  /** "+28 more": the line past its drawn tokens. */
  more: string | null;
  /** Figures (text with a digit) in the spotlight under 18 px, outside its title line, charts and tiles: what the back of a room cannot read. */
  smallFigures: string[];
  /** Each lane's counts line as shown ("4 of 4 busy · 0 idle · 2 opening"). */
  laneCounts: string[];
  /** The longest colour fade of any tile, in ms: longer than the view's 200 ms between updates, a busy tile never shows its state's colour. */
  tileFadeMs: number;
  /** Lanes one line each (many pools), and the most rows of tokens any lane's line takes (from the layout: a gliding token stands between rows). */
  compact: boolean;
  tokenRows: number;
  /** Tokens drawn but not opaque: fading in, a busy line's tokens were never seen. */
  hiddenTokens: number;
}

/**
 * Waits (polling every frame) for `note` on screen, then reads the page at that frame.
 * `settled`: the first frame at which the note, the spotlight and the picture are all in view
 * (a pool replaced by the scenario's settings drains for a moment in a lane of its own).
 */
function atNote(page: Page, note: string, timeout: number, settled = false): Promise<AtNote> {
  return page
    .waitForFunction(
      (want) => {
        const g = globalThis as unknown as PageGlobals;
        const document = g.document;
        const shown = document.querySelector('[data-testid="scenario-note"] p')?.textContent ?? '';
        if (shown !== want.note) return null;
        const box = (sel: string) => {
          const el = document.querySelector(sel);
          if (!el) return null;
          const r = el.getBoundingClientRect();
          const inside = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= g.innerHeight && r.right <= g.innerWidth;
          const count = el.getAttribute('data-count');
          return { inside, count: count === null ? null : Number(count) };
        };
        const lane = '[data-testid="pool-lane"][data-role="pooled"]';
        const smallFigures = () => {
          const panel = document.querySelector('[data-testid="spotlight"]');
          if (!panel) return [];
          const small: string[] = [];
          const walker = document.createTreeWalker(panel, 4 /* NodeFilter.SHOW_TEXT */);
          for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
            const el = n.parentElement;
            const text = n.textContent?.trim() ?? '';
            // A tile's words stay small: its state is its colour (PoolPicture.svelte).
            if (!el || !/\d/.test(text) || el.closest('header, figure, [data-testid="slot"]') || el.getClientRects().length === 0) continue;
            const px = Number.parseFloat(g.getComputedStyle(el).fontSize);
            if (px < 18) small.push(`${text.slice(0, 40)} (${px} px)`);
          }
          return small;
        };
        if (want.settled && !['[data-testid="spotlight"]', '[data-testid="scenario-note"]', '[data-testid="pool-picture"]'].every((sel) => box(sel)?.inside)) return null;
        return {
          note: shown,
          boxes: { spotlight: box('[data-testid="spotlight"]'), line: box(`${lane} [data-testid="waiting-line"]`), slots: box(`${lane} ol`), note: box('[data-testid="scenario-note"]'), picture: box('[data-testid="pool-picture"]') },
          borrowedSlots: document.querySelectorAll(`${lane} [data-testid="slot"][data-state="borrowed"]`).length,
          more: document.querySelector(`${lane} [data-testid="waiting-more"]`)?.textContent ?? null,
          smallFigures: smallFigures(),
          laneCounts: Array.from(document.querySelectorAll('[data-testid="pool-lane"] .counts')).map((el) => el.textContent ?? ''),
          tileFadeMs: Math.max(0, ...Array.from(document.querySelectorAll('[data-testid="slot"]')).flatMap((el) => g.getComputedStyle(el).transitionDuration.split(',').map((d) => Number.parseFloat(d) * (d.trim().endsWith('ms') ? 1 : 1_000)))),
          compact: document.querySelector('[data-testid="pool-picture"]')?.classList.contains('compact') ?? false,
          hiddenTokens: Array.from(document.querySelectorAll('[data-testid="waiting-token"]')).filter((t) => g.getComputedStyle(t).opacity !== '1').length,
          tokenRows: Math.max(0, ...Array.from(document.querySelectorAll('[data-testid="waiting-line"] ol')).map((ol) => new Set(Array.from(ol.querySelectorAll('li')).map((t) => t.offsetTop)).size)),
        };
      },
      { note, settled },
      { polling: 'raf', timeout },
    )
    .then(
      (h) => h.jsonValue() as Promise<AtNote>,
      async (err: unknown) => {
        const shown = await page.getByTestId('scenario-note').locator('p').textContent().catch(() => null);
        const where = await boxesNow(page).catch(() => 'unknown');
        throw new Error(`the note "${note.slice(0, 60)}…" was not seen${settled ? ' with the note, its spotlight and the picture in view' : ''} (on screen: "${shown?.slice(0, 60) ?? 'none'}"; ${where}): ${String(err)}`);
      },
    );
}

/** Where the note, the spotlight and the picture are now, and the page's scroll: what a failed wait reports. */
function boxesNow(page: Page): Promise<string> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    const at = (id: string) => {
      const r = g.document.querySelector(`[data-testid="${id}"]`)?.getBoundingClientRect();
      return r ? `${id} ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)}` : `${id} absent`;
    };
    return `${['scenario-note', 'spotlight', 'pool-picture'].map(at).join('; ')}; viewport ${g.innerWidth}x${g.innerHeight}, scrolled ${Math.round(g.scrollY)}`;
  });
}

/**
 * The pooled lane's waiting tokens a person sees whole: laid out inside the line's box (a row
 * cut off by it showed 6 of 12). Read from the layout (offsets), not from the painted boxes: a
 * token's motion is the compositor's, and under the GIF's screencast it can stand still.
 */
function tokensSeen(page: Page): Promise<number> {
  return page.evaluate(() => {
    const document = (globalThis as unknown as PageGlobals).document;
    const lane = '[data-testid="pool-lane"][data-role="pooled"]';
    const list = document.querySelector(`${lane} [data-testid="waiting-line"] ol`);
    if (!list) return 0;
    return Array.from(document.querySelectorAll(`${lane} [data-testid="waiting-token"]`)).filter(
      (t) =>
        t.offsetLeft >= list.offsetLeft &&
        t.offsetLeft + t.offsetWidth <= list.offsetLeft + list.offsetWidth &&
        t.offsetTop >= list.offsetTop &&
        t.offsetTop + t.offsetHeight <= list.offsetTop + list.offsetHeight,
    ).length;
  });
}

describe.skipIf(!chromiumAvailable)('the pool picture at 1280x720 in Chromium', () => {
  let app: App;
  let service: PoolscopeService;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ embedded: true, settings: { max: 10, acquireTimeoutMs: 10_000 }, width: 1280, height: 720 });
    ({ service, page } = app);
  });

  afterAll(() => app?.close());

  const scenario = () => service.engine.snapshot().snapshot.scenario;

  async function open(name: string): Promise<void> {
    expect((await service.handle('scenario.open', { builtIn: name })).ok).toBe(true);
    await expect.poll(() => scenario()?.name, { timeout: 5_000 }).toBe(name);
  }

  /** Step, as a clicker does: the runner runs the steps before the note at `i` and stops there. */
  async function stepTo(name: string, i: number): Promise<void> {
    expect((await service.handle('scenario.step', undefined)).ok).toBe(true);
    await expect.poll(() => scenario()?.steps[i]?.status, { timeout: 60_000 }).toMatch(/passed|failed/);
    const bad = scenario()?.steps.slice(0, i + 1).find((o) => o.status !== 'passed');
    expect(bad, `${name}: ${bad?.summary}: ${bad?.message}`).toBeUndefined();
  }

  /** The steps after the last note, to the end: every one passes. */
  async function finish(): Promise<void> {
    // A scenario whose last step is a note has finished already.
    if (scenario()?.state !== 'finished') expect((await service.handle('scenario.play', undefined)).ok).toBe(true);
    await expect.poll(() => scenario()?.state, { timeout: 60_000 }).toMatch(/finished|failed/);
    expect(scenario()?.steps.filter((o) => o.status !== 'passed')).toEqual([]);
  }

  const notesOf = (name: string) => (builtIn(name)?.steps ?? []).flatMap((step, i) => (step.kind === 'note' ? [{ i, step }] : []));

  it('backpressure: at "10 are served, 40 wait", 10 slots borrowed and a line of 40, on screen, as the engine measured', async () => {
    await expect.poll(() => page.getByTestId('pool-lane').count(), { timeout: 10_000 }).toBe(1);
    const notes = notesOf('backpressure');
    const at = notes.findIndex(({ step }) => step.text.startsWith('10 are served'));
    const served = notes[at];
    if (!served) throw new Error('backpressure has no "10 are served" note');
    // A few seconds of history first: the screenshot's wide chart shows the line rising from a quiet pool.
    await new Promise((r) => setTimeout(r, 3_000));
    // The README's GIF: the whole scenario, from the spike to the empty line.
    const gif = await recordGif(page, 'backpressure.gif');
    await open('backpressure');
    for (const { i } of notes.slice(0, at)) await stepTo('backpressure', i);
    // Read from the first frame that shows the note, as a room sees it: the holders let go after
    // 1 s, and a read after the engine's own step poll could come after that on a loaded machine.
    const seeing = atNote(page, served.step.text, 80_000);
    seeing.catch(() => undefined); // awaited below; a failed step must not leave it unhandled
    await stepTo('backpressure', served.i);
    const seen = await seeing;
    expect(seen.borrowedSlots).toBe(10);
    expect(seen.boxes.line).toEqual({ inside: true, count: 40 });
    expect(seen.boxes.slots?.inside).toBe(true);
    expect(seen.boxes.note?.inside).toBe(true);
    // The engine's own numbers at that note: the expect step just before it passed.
    const expectStep = scenario()?.steps.find((o) => o.summary.startsWith('expect borrowed == 10'));
    expect(expectStep?.status).toBe('passed');
    expect(expectStep?.message).toMatch(/ok: borrowed == 10.*ok: waiting == 40/);
    // Tokens are drawn for the head of the line only (12), each laid out whole inside the line; the rest is counted.
    expect(seen.more).toBe('+28 more');
    await expect.poll(() => tokensSeen(page), { timeout: 5_000 }).toBe(12);
    // The README's still: the monitor reads the server four times a second, and the spike's ten
    // connections opened after its last reading ("1 on the server" beside ten borrowed). Up to
    // 800 ms for the next reading, before the holders let go at 1 s; without it, shot as it is.
    await page.getByTestId('pool-lane').locator('.db', { hasText: /^\s*10 on the server/ }).waitFor({ timeout: 800 }).catch(() => undefined);
    await still(page, path.join(SHOTS, 'picture-backpressure.png'));
    for (const { i } of notes.slice(at + 1)) await stepTo('backpressure', i);
    await finish();
    await expect.poll(() => page.getByTestId('waiting-line').first().getAttribute('data-count'), { timeout: 5_000 }).toBe('0');
    await gif?.save(path.join(SHOTS, 'backpressure.gif'));
  });

  it('presenter mode: P enters, controls and target hidden, Esc leaves', async () => {
    await page.locator('body').click({ position: { x: 5, y: 700 } });
    await page.keyboard.press('p');
    await expect.poll(() => page.getByTestId('control-presenter').getAttribute('data-active'), { timeout: 5_000 }).toBe('true');
    expect(await page.getByTestId('target-summary').isVisible()).toBe(false);
    expect(await page.getByTestId('control-load-start').isVisible()).toBe(false);
    expect(await page.getByTestId('pool-picture').isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('control-presenter').getAttribute('data-active'), { timeout: 5_000 }).toBe('false');
    expect(await page.getByTestId('control-load-start').isVisible()).toBe(true);
  });

  it('theme: light, dark and high contrast repaint the page; motion off by the setting and under prefers-reduced-motion', async () => {
    const background = () => page.locator('body').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor);
    const seen = new Map<string, string>();
    for (const theme of ['dark', 'contrast', 'light']) {
      await page.getByTestId('control-theme').selectOption(theme);
      await expect.poll(() => page.locator('html').getAttribute('data-theme'), { timeout: 5_000 }).toBe(theme);
      seen.set(theme, await background());
    }
    expect(seen.get('dark')).toBe('rgb(18, 21, 27)');
    expect(seen.get('contrast')).toBe('rgb(255, 255, 255)');
    expect(new Set(seen.values()).size).toBe(3);

    const motion = () => page.getByTestId('pool-picture').evaluate((el) => (el as unknown as { style: { getPropertyValue(n: string): string } }).style.getPropertyValue('--motion-ms'));
    expect(await motion()).toBe('350ms');
    await page.getByTestId('control-motion').uncheck();
    await expect.poll(motion, { timeout: 5_000 }).toBe('0ms');
    await page.getByTestId('control-motion').check();
    await expect.poll(motion, { timeout: 5_000 }).toBe('350ms');
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await expect.poll(motion, { timeout: 5_000 }).toBe('0ms');
    await page.emulateMedia({ reducedMotion: 'no-preference' });
    await expect.poll(motion, { timeout: 5_000 }).toBe('350ms');
  });

  // Stepped as a presenter does with a clicker: each Step runs to the next note and stops there.
  it.each(BUILT_IN_NAMES)('presenter mode, %s: at every note, what it points at is inside the viewport', async (name) => {
    if ((await page.getByTestId('control-presenter').getAttribute('data-active')) !== 'true') await page.getByTestId('control-presenter').click();
    const notes = notesOf(name);
    await open(name);
    for (const [k, { i, step }] of notes.entries()) {
      await stepTo(name, i);
      // The page shows the note within a publish; 30 s for a machine under load (6 instances churning).
      const seen = await atNote(page, step.text, 30_000, true);
      // The server full, as the monitor reads it a moment after the first refusal: what the still is for.
      if (name === 'instances-max-connections' && k === 1) await expect.poll(() => page.getByTestId('picture-database').textContent(), { timeout: 10_000 }).toContain('refusing new connections');
      if (['connection-tax', 'instances-max-connections'].includes(name) && k === 1) await still(page, path.join(SHOTS, `presenter-${name}.png`));
      expect(seen.boxes.note?.inside, `${name}: the note "${step.text.slice(0, 40)}…"`).toBe(true);
      expect(seen.boxes.spotlight?.inside, `${name}: ${step.spotlight} at "${step.text.slice(0, 40)}…"`).toBe(true);
      expect(seen.boxes.picture?.inside, `${name}: the pool picture at "${step.text.slice(0, 40)}…"`).toBe(true);
      expect(seen.smallFigures, `${name}: figures under 18 px at "${step.text.slice(0, 40)}…"`).toEqual([]);
      // Words apart (Svelte trims the spaces at a block's edges: "0 idle· 2 opening" was shown).
      for (const counts of seen.laneCounts) expect(counts, name).toMatch(/^\d+ of \d+ busy · \d+ idle( · \d+ opening)?$/);
      expect(seen.tileFadeMs, name).toBeLessThan(200);
      expect(await clippedTiles(page), `${name}: tiles whose words are cut at "${step.text.slice(0, 40)}…"`).toEqual([]);
      expect(seen.hiddenTokens, `${name}: tokens drawn but not seen at "${step.text.slice(0, 40)}…"`).toBe(0);
      // Many lanes, one line each: a line that wrapped grew the picture past the screen.
      if (seen.compact) expect(seen.tokenRows, `${name}: rows of tokens in a lane at "${step.text.slice(0, 40)}…"`).toBeLessThanOrEqual(1);
    }
    await finish();
  }, 240_000);

  it('presenter mode on a 1920x1080 screen: the 1280x720 slide 1.5 times larger, all of it in view', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    onTestFinished(() => page.setViewportSize({ width: 1280, height: 720 }));
    if ((await page.getByTestId('control-presenter').getAttribute('data-active')) !== 'true') await page.getByTestId('control-presenter').click();
    const name = 'long-transaction';
    // Its second note: both patterns running, their figures beside the note.
    const [first, second] = notesOf(name);
    if (!first || !second) throw new Error(`${name} has fewer than two notes`);
    await open(name);
    await stepTo(name, first.i);
    await stepTo(name, second.i);
    const seen = await atNote(page, second.step.text, 30_000, true);
    expect(await page.locator('.app').evaluate((el) => (el as unknown as { style: { zoom: string } }).style.zoom)).toBe('1.5');
    expect([seen.boxes.note?.inside, seen.boxes.spotlight?.inside, seen.boxes.picture?.inside]).toEqual([true, true, true]);
    // The slide fills the screen: at 1280x720's size on this screen, the picture ended above its middle.
    const picture = await page.getByTestId('pool-picture').boundingBox();
    expect((picture?.y ?? 0) + (picture?.height ?? 0)).toBeGreaterThan(540);
    // Held at the note, both patterns go on serving: within a few intervals each side's req/s is
    // counted (the note's first frame read 0 req/s and no p50 on both).
    const perSecond = () => Promise.all(['pattern-in-transaction', 'pattern-after-commit'].map(async (id) => Number(await page.getByTestId(id).first().getAttribute('data-per-second', { timeout: 5_000 }))));
    await expect.poll(async () => (await perSecond()).every((x) => x > 0), { timeout: 10_000 }).toBe(true);
    await still(page, path.join(SHOTS, 'presenter-1920x1080.png'));
    expect((await service.handle('scenario.close', undefined)).ok).toBe(true);
  }, 120_000);
});
