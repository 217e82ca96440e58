import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolCounts } from '../../shared/snapshot';
import type { PoolscopeService } from '../../main/engine/service';
import { Recorder } from '../integration/helpers/recorder';
import { mysqlAvailable, mysqlUrl } from '../integration/helpers/servers';
import { type App, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import { reveal } from './helpers/workspace';

/** "850 ms", "1.2 s", "2 m 05 s" (formatDuration) back to milliseconds. */
function parseDuration(text: string): number {
  const t = text.trim();
  let m = /^(\d+) ms$/.exec(t);
  if (m) return Number(m[1]);
  m = /^([\d.]+) s$/.exec(t);
  if (m) return Number(m[1]) * 1_000;
  m = /^(\d+) m (\d+) s$/.exec(t);
  if (m) return (Number(m[1]) * 60 + Number(m[2])) * 1_000;
  throw new Error(`not a duration: ${JSON.stringify(text)}`);
}

// The numbers of the live view against what the engine measured, on a MariaDB target: the
// other suites look at the embedded PostgreSQL.
describe.skipIf(!chromiumAvailable || !mysqlAvailable)('the live view on MariaDB, against the engine', () => {
  let app: App;
  let service: PoolscopeService;
  let page: Page;
  let rec: Recorder;

  beforeAll(async () => {
    app = await openApp({ target: mysqlUrl, settings: { max: 3, acquireTimeoutMs: 20_000 } });
    ({ service, page } = app);
    rec = new Recorder(service.engine);
  });

  afterAll(async () => {
    rec?.stop();
    await app?.close();
  });

  const live = () => service.engine.log.live;
  const gauge = async (name: string) => Number(await page.getByTestId(`gauge-${name}`).textContent());

  it('shows the gauges, the waiting line in its order and each wait and time left as the engine has them', async () => {
    expect(await page.getByTestId('target-summary').textContent()).toMatch(/^mysql:\/\//);
    await page.getByTestId('control-concurrency').fill('8');
    await page.getByTestId('control-query').selectOption('sleep');
    await page.getByTestId('control-sleep-ms').fill('4000');
    await page.getByTestId('control-load-start').click();
    // 8 clients sleeping 4 s on 3 connections: 3 borrowed, 5 in line for about 4 s.
    await expect.poll(() => gauge('waiting'), { timeout: 10_000 }).toBe(5);
    const poolId = live().activePoolId as string;
    const counts = poolCounts(live(), poolId);
    for (const name of ['total', 'borrowed', 'idle', 'connecting', 'waiting'] as const) expect(await gauge(name), name).toBe(counts[name]);
    expect(await page.getByTestId('gauge-scope').textContent()).toBe(`active pool ${poolId}`);

    const rows = page.getByTestId('waiter-row');
    await expect.poll(() => rows.count(), { timeout: 5_000 }).toBe(5);
    // Read the rows and the engine together, and again if a frame was stale: the page redraws a
    // few times a second, and a loaded machine can hold a redraw back.
    const mismatches = async () => {
      const shown = await rows.evaluateAll((els) =>
        els.map((el) => ({ id: el.getAttribute('data-borrower-id'), cells: [...el.querySelectorAll('span')].map((s) => s.textContent ?? '') })),
      );
      const now = Date.now();
      const s = live();
      if (JSON.stringify(shown.map((r) => r.id)) !== JSON.stringify(s.waiting)) return [`order ${JSON.stringify(shown.map((r) => r.id))}, the engine's ${JSON.stringify(s.waiting)}`];
      // The tab's header: how many wait, and how long the first in line has.
      const count = await page.getByTestId('waiters-count').textContent();
      const oldest = (await page.getByTestId('waiters-oldest').textContent())?.replace('oldest waited', '') ?? '';
      const first = s.borrowers[s.waiting[0] as string];
      const header = [
        ...(count === String(s.waiting.length) ? [] : [`count ${count}, the engine's ${s.waiting.length}`]),
        ...(Math.abs(parseDuration(oldest) - (now - (first?.enqueuedAt ?? 0))) < 1_000 ? [] : [`oldest waited ${oldest}`]),
      ];
      return header.concat(shown.flatMap((r, i) => {
        const b = s.borrowers[r.id as string];
        const wrong: string[] = [];
        if (r.cells[0] !== String(i + 1)) wrong.push(`${r.id}: position ${r.cells[0]}`);
        // waited and left, as the engine's enqueue time and deadline say
        if (!(Math.abs(parseDuration(r.cells[3] as string) - (now - (b?.enqueuedAt ?? 0))) < 1_000)) wrong.push(`${r.id}: waited ${r.cells[3]}`);
        if (!(Math.abs(parseDuration(r.cells[4] as string) - ((b?.deadline ?? 0) - now)) < 1_000)) wrong.push(`${r.id}: left ${r.cells[4]}`);
        return wrong;
      }));
    };
    await expect.poll(mismatches, { timeout: 5_000 }).toEqual([]);
    await page.getByTestId('control-load-stop').click();
    await expect.poll(() => gauge('borrowed'), { timeout: 15_000 }).toBe(0);
    expect(await gauge('waiting')).toBe(0);
  });

  it("shows a held transaction's age, flags it idle in transaction, and journals its start and end on its connection", async () => {
    await reveal(page, 'control-tx-hold');
    await page.getByTestId('control-tx-hold').click();
    const held = page.getByTestId('tx-held');
    await held.waitFor({ timeout: 5_000 });
    await held.locator('input.sql').fill('SELECT COUNT(*) FROM information_schema.TABLES');
    await page.getByTestId('control-tx-run').click();
    const began = await rec.waitFor('tx.began', () => true, 5_000);
    const row = page.locator(`[data-testid="tx-row"][data-conn-id="${began.connId}"]`);
    await reveal(page, row);
    await row.waitFor({ timeout: 5_000 });
    // The default flags a transaction idle for 5 s; the age follows the engine's start time.
    await expect.poll(() => row.evaluate((el) => el.classList.contains('idle-in-tx')), { timeout: 10_000 }).toBe(true);
    const conn = live().connections[began.connId];
    expect(conn?.tx).toBe('active');
    // The shown age against the engine's start, read together (again if a frame was stale).
    const ageOff = async () => Math.abs(parseDuration((await row.locator('td').nth(2).textContent()) ?? '') - (Date.now() - (conn?.txSince ?? 0)));
    await expect.poll(ageOff, { timeout: 5_000 }).toBeLessThan(1_000);
    expect(await row.textContent()).toContain('idle in transaction');
    // Its holder, its statements and its state, and the tab's count, as the engine has them.
    const now = live();
    const c = now.connections[began.connId];
    const cells = (await row.locator('td').allTextContents()).map((t) => t.trim());
    expect([cells[1], cells[3], cells[4]]).toEqual([now.borrowers[c?.borrowerId ?? '']?.label, String(c?.txStatements), c?.tx === 'failed' ? 'failed' : 'active']);
    expect(await page.getByTestId('tx-count').textContent()).toBe(String(Object.values(now.connections).filter((x) => x.tx !== 'idle').length));
    // The only open transaction sits idle past the 5 s default: the header counts it.
    expect(await page.getByTestId('tx-flagged').textContent()).toBe(`${Object.values(now.connections).filter((x) => x.tx !== 'idle' && x.statement === null).length} idle in transaction`);

    await page.getByTestId('control-tx-commit').click();
    await rec.waitFor('tx.ended', (e) => e.connId === began.connId, 5_000);
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(0);
    // The monitor's 4 events a second push older rows out of view: the journal's own filter shows the tx.* ones.
    await reveal(page, 'journal-type');
    await page.getByTestId('journal-type').selectOption('tx.');
    const short = began.connId.slice(began.connId.indexOf('.') + 1);
    for (const type of ['tx.began', 'tx.ended']) {
      const r = page.locator(`[data-testid="event-row"][data-type="${type}"]`);
      await expect.poll(() => r.count(), { timeout: 5_000 }).toBeGreaterThan(0);
      const cells = await r.first().locator('[role="cell"]').allTextContents();
      expect(cells[1], type).toBe(type);
      expect(cells[2], type).toBe(short);
      expect((cells[4] ?? '').length, `${type} says what happened`).toBeGreaterThan(0);
    }
    await page.getByTestId('journal-type').selectOption('');
  });
});
