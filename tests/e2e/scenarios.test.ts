import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Download, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolscopeService } from '../../main/engine/service';
import { formatDuration } from '../../renderer/src/lib/format';
import { reduce } from '../../shared/reducer';
import type { Recording } from '../../shared/scenario';
import { poolCounts } from '../../shared/snapshot';
import { type App, SHOTS, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import { expectShownAsMeasured } from './helpers/shown-as-measured';
import { reveal, screenshot } from './helpers/workspace';
import { type SentCommand, recordCommands } from './helpers/sent-commands';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// Scenarios played from the page, a session recorded and replayed with its scrubber, and
// PNG exports. The engine runs its own embedded PostgreSQL (scenarios reconfigure its pool).
describe.skipIf(!chromiumAvailable)('scenarios, recordings and exports in Chromium', () => {
  let app: App;
  let service: PoolscopeService;
  let page: Page;

  beforeAll(async () => {
    app = await openApp({ embedded: true, settings: { max: 4, acquireTimeoutMs: 10_000 }, acceptDownloads: true });
    ({ service, page } = app);
  });

  afterAll(() => app?.close());

  const steps = () => page.getByTestId('scenario-step');
  const statuses = () => steps().evaluateAll((els) => els.map((el) => el.getAttribute('data-status')));
  const currentIndex = () => steps().evaluateAll((els) => els.findIndex((el) => el.getAttribute('data-current') === 'true'));
  const note = () => page.getByTestId('scenario-note').locator('p').textContent();
  /** Clicks `control` and returns the file it downloads, as bytes. */
  const download = async (control: string, scope: Page | ReturnType<Page['locator']> = page): Promise<{ file: Download; bytes: Buffer }> => {
    const [file] = await Promise.all([page.waitForEvent('download'), scope.getByTestId(control).first().click()]);
    return { file, bytes: await readFile(await file.path()) };
  };

  it('opens a built-in scenario and steps through it, the note banner following', async () => {
    await expect.poll(() => page.getByTestId('control-scenario-select').locator('option').count(), { timeout: 10_000 }).toBeGreaterThan(5);
    await reveal(page, 'control-scenario-select');
    await page.getByTestId('control-scenario-select').selectOption('leak');
    await page.getByTestId('control-open-scenario').click();
    await expect.poll(() => page.getByTestId('scenario-title').textContent(), { timeout: 5_000 }).toBe('A leak from a missing finally, then its fix');
    await expect.poll(statuses, { timeout: 5_000 }).toEqual(new Array(14).fill('pending'));
    expect(await currentIndex()).toBe(0);
    expect(await page.getByTestId('scenario-note').count()).toBe(0);

    // The first step is a note: shown to the audience, the step passed, the next one current.
    await page.getByTestId('control-step').click();
    await expect.poll(note, { timeout: 5_000 }).toMatch(/^2 clients send requests/);
    await expect.poll(async () => (await statuses())[0], { timeout: 5_000 }).toBe('passed');
    await expect.poll(currentIndex, { timeout: 5_000 }).toBe(1);

    // Step goes note to note: threshold, load and the wait until a connection is flagged run without a click each.
    await page.getByTestId('control-step').click();
    await expect.poll(note, { timeout: 15_000 }).toMatch(/^The first leaked connection is flagged/);
    await expect.poll(currentIndex, { timeout: 5_000 }).toBe(5);
    expect((await statuses()).slice(0, 5)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed']);
    expect(await page.getByTestId('scenario-note').getAttribute('data-step')).toBe('4');
    // Each step's line as the engine's runner has it: status, summary, how long it took, its message.
    const stepsAsMeasured = async () => ({
      engine: (service.engine.snapshot().snapshot.scenario?.steps ?? []).map((o) =>
        [o.status, o.summary, o.startedAt !== null && o.endedAt !== null ? formatDuration(o.endedAt - o.startedAt) : null, o.message].filter((x) => x !== null && x !== '').join(' | '),
      ),
      shown: await steps().evaluateAll((els) => els.map((el) => [...el.children].map((c) => c.textContent?.trim() ?? '').join(' | '))),
    });
    await expectShownAsMeasured(stepsAsMeasured, { timeout: 5_000 });
    await screenshot(page, path.join(SHOTS, 'scenarios.png'));

    // Restart: back to the first step, the banner gone, the scenario's load stopped.
    await page.getByTestId('control-restart').click();
    await expect.poll(currentIndex, { timeout: 15_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('scenario-note').count(), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => service.engine.snapshot().snapshot.load?.running ?? false, { timeout: 15_000 }).toBe(false);
  });

  it('shows the field at fault in a scenario file the engine refuses', async () => {
    const bad = JSON.stringify({ title: 'Broken', steps: [{ note: 'fine' }, { 'leak.inject': { count: 0 } }] });
    await page.getByTestId('control-open-scenario-file').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from(bad) });
    await expect.poll(() => page.getByTestId('scenario-error').textContent(), { timeout: 5_000 }).toMatch(/steps\[1\].*count must be at least 1/);
  });

  it('a scenario file with SQL of its own shows it and where it runs; Play runs nothing until Run', async () => {
    const sent: SentCommand[] = [];
    recordCommands(service, sent);
    const scenarioCommands = () => sent.map((c) => c.cmd).filter((c) => c.startsWith('scenario.'));
    const insert = "INSERT INTO orders (customer) VALUES ('e2e-review@example.com')";
    const file = JSON.stringify({
      title: 'Writes an order',
      target: 'postgres://someone@db.example.com:5432/shop',
      steps: [{ note: 'An order, then rolled back.' }, { 'tx.begin': { label: 'o' } }, { 'tx.run': { borrowerId: '$o', sql: insert } }, { 'tx.rollback': { borrowerId: '$o' } }],
    });
    const rolledBack = () => service.engine.log.live.counters.txRolledBack;
    const before = rolledBack();
    await page.getByTestId('control-open-scenario-file').setInputFiles({ name: 'order.json', mimeType: 'application/json', buffer: Buffer.from(file) });
    await expect.poll(() => page.getByTestId('scenario-title').textContent(), { timeout: 5_000 }).toBe('Writes an order');
    expect(await page.getByTestId('scenario-sql-note').textContent()).toMatch(/sends 1 SQL statement of its own/);
    const display = service.engine.pool.target.display;
    const mismatch = `This scenario names postgres://someone@db.example.com:5432/shop; it will run on ${display}, the connected target.`;
    expect(await page.getByTestId('scenario-target-mismatch').textContent()).toBe(mismatch);

    // Play shows every statement with its step, and where it runs; nothing is sent yet.
    await page.getByTestId('control-play').click();
    const review = page.getByTestId('scenario-review');
    await review.waitFor({ timeout: 5_000 });
    const sql = review.getByTestId('scenario-review-sql');
    expect(await sql.count()).toBe(1);
    expect(await sql.locator('.where').textContent()).toBe('step 3 · tx.run');
    expect(await sql.locator('pre').textContent()).toBe(insert);
    expect(await review.getByTestId('scenario-review-target').textContent()).toBe(display);
    expect(await review.getByTestId('scenario-review-mismatch').textContent()).toBe(mismatch);
    expect(scenarioCommands()).toEqual(['scenario.open']);

    // Cancel: the dialog goes, nothing ran, and the engine still refuses to play it unconfirmed.
    await review.getByTestId('control-review-cancel').click();
    await review.waitFor({ state: 'detached', timeout: 5_000 });
    expect(await statuses()).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(scenarioCommands()).toEqual(['scenario.open']);
    expect(await service.handle('scenario.play', undefined)).toMatchObject({ ok: false, error: { code: 'needs-confirmation' } });

    // Play again: Run confirms what was shown, then plays.
    await page.getByTestId('control-play').click();
    await review.getByTestId('control-review-run').click();
    // Play stops at the note until Next.
    await expect.poll(statuses, { timeout: 15_000 }).toEqual(['passed', 'pending', 'pending', 'pending']);
    await page.getByTestId('control-next-note').click();
    await expect.poll(statuses, { timeout: 15_000 }).toEqual(['passed', 'passed', 'passed', 'passed']);
    expect(scenarioCommands().slice(-3)).toEqual(['scenario.confirm', 'scenario.play', 'scenario.next']);
    expect(rolledBack()).toBe(before + 1);
    expect(await page.getByTestId('scenario-sql-note').count()).toBe(0);
  });

  it('records a session, saves it, and replays an earlier moment with the scrubber', async () => {
    await reveal(page, 'control-record');
    await page.getByTestId('control-record').click();
    await expect.poll(() => page.getByTestId('record-state').textContent(), { timeout: 5_000 }).toMatch(/^recording since event \d+/);
    // Four requests hold a connection each for a second, then the pool is idle again.
    await reveal(page, 'control-query');
    await page.getByTestId('control-query').selectOption('sleep');
    await page.getByTestId('control-sleep-ms').fill('1000');
    await page.getByTestId('control-spike-count').fill('4');
    await page.getByTestId('control-spike').click();
    await expect.poll(() => page.locator('[data-testid="conn-row"][data-state="borrowed"]').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.locator('[data-testid="conn-row"][data-state="borrowed"]').count(), { timeout: 10_000 }).toBe(0);

    await reveal(page, 'control-record-stop');
    const saved = await download('control-record-stop');
    expect(saved.file.suggestedFilename()).toMatch(/^poolscope-\d{4}-\d{2}-\d{2}-\d{6}\.json$/);
    await expect.poll(() => page.getByTestId('record-state').textContent(), { timeout: 5_000 }).toBe('not recording');
    const rec = JSON.parse(saved.bytes.toString('utf8')) as Recording;
    expect(rec.format).toBe('poolscope-recording');

    // The moment most connections were borrowed, as the shared reducer rebuilds it here.
    const s = structuredClone(rec.initial);
    let busiest = { seq: rec.initial.seq, borrowed: -1, rows: [] as string[] };
    for (const e of rec.events) {
      reduce(s, e);
      const borrowed = poolCounts(s).borrowed;
      if (borrowed > busiest.borrowed) busiest = { seq: e.seq, borrowed, rows: Object.values(s.connections).map((c) => `${c.id}:${c.state}`) };
    }
    expect(busiest.borrowed).toBeGreaterThanOrEqual(2);

    const rowsShown = () => page.getByTestId('conn-row').evaluateAll((els) => els.map((el) => `${el.getAttribute('data-conn-id') ?? ''}:${el.getAttribute('data-state') ?? ''}`));
    await page.getByTestId('control-open-recording').setInputFiles({ name: 'session.json', mimeType: 'application/json', buffer: saved.bytes });
    await page.getByTestId('replay-bar').waitFor({ timeout: 5_000 });
    // Opened at its start; at its end nothing is borrowed any more.
    expect(Number(await page.getByTestId('replay-position').getAttribute('data-seq'))).toBe(rec.initial.seq);
    const scrubber = page.getByTestId('control-scrubber');
    await scrubber.fill(String(rec.events.at(-1)?.seq));
    await expect.poll(async () => Number(await page.getByTestId('replay-position').getAttribute('data-seq')), { timeout: 5_000 }).toBe(rec.events.at(-1)?.seq);
    await expect.poll(() => page.locator('[data-testid="conn-row"][data-state="borrowed"]').count(), { timeout: 5_000 }).toBe(0);

    // A real drag to the far left shows the state when recording began...
    await scrubber.scrollIntoViewIfNeeded();
    const box = await scrubber.boundingBox();
    if (!box) throw new Error('the scrubber has no box');
    await page.mouse.move(box.x + box.width - 4, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
    // Past the end of the track: the thumb stops at the minimum wherever the grip was taken.
    await page.mouse.move(box.x - 40, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect.poll(async () => Number(await page.getByTestId('replay-position').getAttribute('data-seq')), { timeout: 5_000 }).toBe(rec.initial.seq);
    // ...and the busiest moment, set exactly, matches the reducer's rows one for one.
    await scrubber.fill(String(busiest.seq));
    await expect.poll(rowsShown, { timeout: 5_000 }).toEqual(busiest.rows);
    // One event forward and back again.
    await page.getByTestId('control-step-event-next').click();
    await expect.poll(async () => Number(await page.getByTestId('replay-position').getAttribute('data-seq')), { timeout: 5_000 }).toBeGreaterThan(busiest.seq);
    await page.getByTestId('control-step-event-prev').click();
    await expect.poll(async () => Number(await page.getByTestId('replay-position').getAttribute('data-seq')), { timeout: 5_000 }).toBe(busiest.seq);
    await expect.poll(rowsShown, { timeout: 5_000 }).toEqual(busiest.rows);

    await page.getByTestId('control-exit-replay').click();
    await expect.poll(() => page.getByTestId('replay-bar').count(), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('control-record').isEnabled(), { timeout: 5_000 }).toBe(true);
  });

  it('says why a file is not a recording', async () => {
    await page.getByTestId('control-open-recording').setInputFiles({ name: 'scenario.json', mimeType: 'application/json', buffer: Buffer.from('{"title": "not a recording", "steps": []}') });
    await expect.poll(() => page.getByTestId('recording-error').textContent(), { timeout: 5_000 }).toMatch(/^Not a recording Poolscope can open: format: /);
    expect(await page.getByTestId('replay-bar').count()).toBe(0);
  });

  it('refuses a crafted recording, naming the event and field, and stays unpolluted and working; a time of 1e19 is refused, not hung', async () => {
    expect((await service.handle('record.start', undefined)).ok).toBe(true);
    await service.engine.pool.query('SELECT 1');
    const stopped = await service.handle('record.stop', undefined);
    if (!stopped.ok) throw new Error(stopped.error.message);
    const good = JSON.parse(stopped.res as string) as Recording;
    const open = (name: string, rec: unknown) => page.getByTestId('control-open-recording').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(rec)) });
    const error = () => page.getByTestId('recording-error').textContent({ timeout: 5_000 });

    // connId "__proto__" on every event that has one: before the check, the reducer wrote into Object.prototype.
    const crafted = structuredClone(good);
    const first = crafted.events.findIndex((e) => 'connId' in e);
    expect(first).toBeGreaterThanOrEqual(0);
    for (const e of crafted.events) if ('connId' in e) (e as { connId: string }).connId = '__proto__';
    await open('crafted.json', crafted);
    await expect.poll(error, { timeout: 5_000 }).toBe(
      `Not a recording Poolscope can open: events[${first}] (${crafted.events[first]?.type}).connId: not a connection id Poolscope makes (p<n>.c<n>).`,
    );
    expect(await page.evaluate(() => ['state', 'closeReason', 'serverId', 'statement'].filter((k) => k in {}))).toEqual([]);
    expect(await page.getByTestId('replay-bar').count()).toBe(0);

    // One event far in the future: the charts' clock stepped towards it forever.
    const late = structuredClone(good);
    const last = late.events.length - 1;
    (late.events[last] as { t: number }).t = 1e19;
    await open('late.json', late);
    await expect.poll(error, { timeout: 5_000 }).toBe(`Not a recording Poolscope can open: events[${last}] (${late.events[last]?.type}).t: must be at most 10000000000000.`);

    // The page still works: the good recording opens and replays, and the live view comes back.
    await open('good.json', good);
    await page.getByTestId('replay-bar').waitFor({ timeout: 5_000 });
    expect(Number(await page.getByTestId('replay-position').getAttribute('data-seq'))).toBe(good.initial.seq);
    await page.getByTestId('control-exit-replay').click();
    await expect.poll(() => page.getByTestId('replay-bar').count(), { timeout: 5_000 }).toBe(0);
  });

  it('exports a chart and the view as PNG', async () => {
    const charts = page.locator('section[aria-labelledby="charts-title"]');
    await reveal(page, charts);
    const chart = await download('control-export-chart', charts);
    expect(chart.file.suggestedFilename()).toMatch(/^poolscope-chart-connections-waiting-borrowers-right-axis-.*\.png$/);
    expect([...chart.bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);

    const view = await download('control-export-view');
    expect(view.file.suggestedFilename()).toMatch(/^poolscope-view-.*\.png$/);
    expect([...view.bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    // IHDR: the whole page, not an empty image.
    expect(view.bytes.readUInt32BE(16)).toBeGreaterThanOrEqual(1_000);
    expect(view.bytes.readUInt32BE(20)).toBeGreaterThan(1_000);
  });
});
