import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Recording } from '../../shared/scenario';
import type { PoolscopeService } from '../../main/engine/service';
import { formatDuration } from '../../renderer/src/lib/format';
import { type App, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import { expectShownAsMeasured } from './helpers/shown-as-measured';
import { reveal } from './helpers/workspace';

// A scenario played as a presenter plays it: it stops at each note until Next (the button or
// a clicker's key), goes back a note, restarts, closes; and a recording played back at 2x.
// What the page shows is checked against the engine's own snapshot.
describe.skipIf(!chromiumAvailable)('playing a scenario note by note, and a recording, in Chromium', () => {
  let app: App;
  let service: PoolscopeService;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ settings: { max: 4, acquireTimeoutMs: 10_000 }, acceptDownloads: true });
    ({ service, page } = app);
  });

  afterAll(() => app?.close());

  const live = () => service.engine.log.live;
  const noteStep = () => page.getByTestId('scenario-note').getAttribute('data-step', { timeout: 1_000 }).catch(() => null);
  const noteText = () => page.getByTestId('scenario-note').locator('p').textContent({ timeout: 1_000 }).catch(() => null);
  const statuses = () => page.getByTestId('scenario-step').evaluateAll((els) => els.map((el) => el.getAttribute('data-status')));
  /** Keys go to the page, not to the button last clicked (Space would press it). */
  const blur = () => page.evaluate('document.activeElement?.blur?.()');

  async function openBackpressure(): Promise<void> {
    await expect.poll(() => page.getByTestId('control-scenario-select').locator('option').count(), { timeout: 10_000 }).toBeGreaterThan(5);
    await reveal(page, 'control-scenario-select');
    await page.getByTestId('control-scenario-select').selectOption('backpressure');
    await page.getByTestId('control-open-scenario').click();
    await expect.poll(() => page.getByTestId('scenario-title').textContent(), { timeout: 5_000 }).toBe('Backpressure: 50 requests on a pool of 10');
  }

  it('Play on backpressure stops at its first note until Next; Next runs the spike and stops at the next note', async () => {
    await openBackpressure();
    await page.getByTestId('control-play').click();
    await expect.poll(noteStep, { timeout: 10_000 }).toBe('0');
    expect(await noteText()).toMatch(/^50 requests arrive at once/);
    // Two seconds later it still waits there: nothing after the note ran, on screen or in the engine.
    await page.waitForTimeout(2_000);
    expect(await noteStep()).toBe('0');
    expect((await statuses()).slice(0, 3)).toEqual(['passed', 'pending', 'pending']);
    expect(live().scenario).toMatchObject({ state: 'paused', current: 1, noteStep: 0 });
    expect(Object.values(live().borrowers)).toEqual([]);

    await page.getByTestId('control-next-note').click();
    await expect.poll(noteStep, { timeout: 15_000 }).toBe('4');
    expect(await noteText()).toMatch(/^10 are served, 40 wait in line/);
    // The spike, the wait and the expect ran without a click each; the engine's expect saw 10 and 40.
    expect(live().scenario).toMatchObject({ state: 'paused', current: 5, noteStep: 4 });
    expect(live().scenario?.steps[3]?.message).toBe('ok: borrowed == 10 (seen 10); ok: waiting == 40 (seen 40); ok: total == 10 (seen 10)');
    await expect.poll(async () => (await statuses()).slice(0, 6), { timeout: 5_000 }).toEqual(['passed', 'passed', 'passed', 'passed', 'passed', 'pending']);
  });

  it("keys: Left goes back a note (saying it replays the steps), Space and PageDown go on, R restarts; none of them while typing", async () => {
    await blur();
    await page.keyboard.press('ArrowLeft');
    // Back from step 4: the run starts over and replays up to the note at step 0, and says so meanwhile.
    await expect
      .poll(() => page.getByTestId('scenario-going-back').textContent({ timeout: 1_000 }).catch(() => null), { timeout: 5_000 })
      .toBe('Going back to the first note: starting over…');
    await expect.poll(() => live().scenario?.noteStep ?? null, { timeout: 20_000 }).toBe(0);
    await expect.poll(noteStep, { timeout: 5_000 }).toBe('0');
    await expect.poll(() => live().scenario?.state, { timeout: 5_000 }).toBe('paused');

    await page.keyboard.press('Space');
    await expect.poll(noteStep, { timeout: 15_000 }).toBe('4');
    expect(live().scenario?.noteStep).toBe(4);

    // Typed into a text field, R and Right are letters and cursor moves, not scenario keys.
    await reveal(page, 'journal-conn');
    const field = page.getByTestId('journal-conn');
    await field.click();
    await page.keyboard.press('r');
    await page.keyboard.press('ArrowRight');
    expect(await field.inputValue()).toBe('r');
    await field.fill('');
    await page.waitForTimeout(500);
    expect(live().scenario).toMatchObject({ state: 'paused', noteStep: 4, current: 5 });

    await blur();
    await page.keyboard.press('PageDown');
    await expect.poll(noteStep, { timeout: 15_000 }).toBe('6');
    await page.keyboard.press('r');
    await expect.poll(() => page.getByTestId('scenario-note').count(), { timeout: 20_000 }).toBe(0);
    expect(live().scenario).toMatchObject({ state: 'paused', current: 0, noteStep: null });
    await expect.poll(statuses, { timeout: 5_000 }).toEqual(new Array(9).fill('pending'));
  });

  it('a failing expect stops the run and says which step', async () => {
    const source = JSON.stringify({ title: 'Fails on purpose', steps: [{ expect: ['waiting == 0', 'total > 1000'] }, { note: 'never shown' }] });
    await page.getByTestId('control-open-scenario-file').setInputFiles({ name: 'fails.json', mimeType: 'application/json', buffer: Buffer.from(source) });
    await expect.poll(() => page.getByTestId('scenario-title').textContent(), { timeout: 5_000 }).toBe('Fails on purpose');
    await page.getByTestId('control-play').click();
    await expect.poll(() => page.getByTestId('scenario-failed').textContent({ timeout: 1_000 }).catch(() => null), { timeout: 10_000 }).toMatch(
      /^Stopped at step 1 \(expect waiting == 0, total > 1000\): ok: waiting == 0 \(seen 0\); FAILED: total > 1000 \(seen \d+\)$/,
    );
    expect(live().scenario?.state).toBe('failed');
    expect(await page.getByTestId('scenario-note').locator('p').count()).toBe(0);
  });

  it('a note read by itself: "goes on by itself after N s" is the engine\'s reading time, and goes when the run goes on', async () => {
    const read = 'This note goes on by itself once the room has had time to read it all.';
    const source = JSON.stringify({ title: 'Reads by itself', steps: [{ note: read, advance: 'after-reading' }, { note: 'Stops here.' }] });
    await page.getByTestId('control-open-scenario-file').setInputFiles({ name: 'reads.json', mimeType: 'application/json', buffer: Buffer.from(source) });
    await expect.poll(() => page.getByTestId('scenario-title').textContent(), { timeout: 5_000 }).toBe('Reads by itself');
    await page.getByTestId('control-play').click();
    const hint = () => page.getByTestId('scenario-reading').textContent({ timeout: 1_000 }).catch(() => null);
    await expectShownAsMeasured(
      async () => {
        const readMs = live().scenario?.readMs ?? null;
        return { engine: readMs === null ? null : `goes on by itself after ${Math.round(readMs / 1000)} s of reading`, shown: await hint() };
      },
      { timeout: 10_000, ready: (engine) => engine !== null },
    );
    // 16 words: 2 s plus 300 ms a word.
    expect(live().scenario?.readMs).toBe(6_800);
    // It went on by itself to the last note, which ends the run: the hint went with the first note.
    await expect.poll(noteStep, { timeout: 15_000 }).toBe('1');
    expect(await page.getByTestId('scenario-reading').count()).toBe(0);
    expect(live().scenario).toMatchObject({ state: 'finished', noteStep: 1, readMs: null });
  });

  it('closing the scenario clears the note and stops what it started', async () => {
    await openBackpressure();
    await page.getByTestId('control-play').click();
    await expect.poll(noteStep, { timeout: 10_000 }).toBe('0');
    await page.getByTestId('control-next-note').click();
    await expect.poll(noteStep, { timeout: 15_000 }).toBe('4');
    await page.getByTestId('control-close-scenario').click();
    await expect.poll(() => page.getByTestId('scenario-note').count(), { timeout: 20_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('scenario-title').count(), { timeout: 5_000 }).toBe(0);
    expect(live().scenario).toBeNull();
    await expect.poll(() => Object.values(live().borrowers).length, { timeout: 20_000 }).toBe(0);
    await expect.poll(() => page.locator('[data-testid="conn-row"][data-state="borrowed"]').count(), { timeout: 5_000 }).toBe(0);
  });

  it('a recording opens at its start, and playing it at 2x reaches its end', async () => {
    await reveal(page, 'control-record');
    await page.getByTestId('control-record').click();
    await expect.poll(() => page.getByTestId('record-state').textContent(), { timeout: 5_000 }).toMatch(/^recording since event \d+/);
    expect(live().recording.active).toBe(true);
    expect(await page.getByTestId('record-state').textContent()).toBe(`recording since event ${live().recording.fromSeq}`);
    await reveal(page, 'control-query');
    await page.getByTestId('control-query').selectOption('sleep');
    await page.getByTestId('control-sleep-ms').fill('1000');
    await page.getByTestId('control-spike-count').fill('4');
    await page.getByTestId('control-spike').click();
    await expect.poll(() => page.locator('[data-testid="conn-row"][data-state="borrowed"]').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.locator('[data-testid="conn-row"][data-state="borrowed"]').count(), { timeout: 10_000 }).toBe(0);
    await reveal(page, 'control-record-stop');
    const [file] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.getByTestId('control-record-stop').click()]);
    const bytes = await readFile(await file.path());
    const rec = JSON.parse(bytes.toString('utf8')) as Recording;
    const first = rec.events[0];
    const last = rec.events.at(-1);
    if (!first || !last) throw new Error('the recording holds no event');

    await page.getByTestId('control-open-recording').setInputFiles({ name: 'session.json', mimeType: 'application/json', buffer: bytes });
    await page.getByTestId('replay-bar').waitFor({ timeout: 5_000 });
    const position = () => page.getByTestId('replay-position').getAttribute('data-seq', { timeout: 1_000 }).then(Number);
    expect(await position()).toBe(rec.initial.seq);
    expect(await page.getByTestId('control-replay-speed').locator('option').allTextContents()).toEqual(['1x', '2x', '5x', '10x']);

    await page.getByTestId('control-replay-speed').selectOption('2');
    await page.getByTestId('control-replay-play').click();
    await expect.poll(() => page.getByTestId('control-replay-play').getAttribute('data-playing'), { timeout: 5_000 }).toBe('true');
    // It passes through the middle (the scrubber follows), then stops at the last event.
    await expect.poll(position, { timeout: 10_000 }).toBeGreaterThan(rec.initial.seq);
    const halfSpanMs = (last.t - first.t) / 2;
    await expect.poll(position, { timeout: halfSpanMs + 10_000 }).toBe(last.seq);
    await expect.poll(() => page.getByTestId('control-replay-play').getAttribute('data-playing'), { timeout: 5_000 }).toBe('false');
    expect(Number(await page.getByTestId('control-scrubber').inputValue())).toBe(last.seq);
    // Where it stands, as the file has it: the time since the first event, the count, the last event's type.
    expect((await page.getByTestId('replay-position').textContent())?.replace(/\s+/g, ' ').trim()).toBe(`+${formatDuration(last.t - first.t)} · event ${last.seq - rec.initial.seq} of ${rec.events.length} · ${last.type}`);

    // Paused midway by a step: one event back from the end, and it stays there.
    await page.getByTestId('control-step-event-prev').click();
    await expect.poll(position, { timeout: 5_000 }).toBeLessThan(last.seq);
    const held = await position();
    await page.waitForTimeout(500);
    expect(await position()).toBe(held);
    await page.getByTestId('control-exit-replay').click();
    await expect.poll(() => page.getByTestId('replay-bar').count(), { timeout: 5_000 }).toBe(0);
  });

  it("the journal hides the monitor's readings until asked, then says what each one saw", async () => {
    await reveal(page, 'journal-show-monitor');
    const monitorRows = page.locator('[data-testid="event-row"][data-type="server.observed"]');
    // The monitor reads about 4 times a second: over a second, none of its rows is shown.
    await expect.poll(() => page.getByTestId('event-row').count(), { timeout: 5_000 }).toBeGreaterThan(0);
    await page.waitForTimeout(1_000);
    expect(await monitorRows.count()).toBe(0);
    await page.getByTestId('journal-show-monitor').check();
    await expect.poll(() => monitorRows.count(), { timeout: 5_000 }).toBeGreaterThan(0);
    const max = live().server?.maxConnections;
    expect(max).toBeGreaterThan(0);
    expect(await monitorRows.first().locator('.what').textContent({ timeout: 1_000 })).toMatch(new RegExp(`^\\d+ server sessions? of max_connections ${max}$`));
    await page.getByTestId('journal-show-monitor').uncheck();
    await expect.poll(() => monitorRows.count(), { timeout: 5_000 }).toBe(0);
  });
});
