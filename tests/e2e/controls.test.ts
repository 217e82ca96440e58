import path from 'node:path';
import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { PoolscopeService } from '../../main/engine/service';
import { type App, SHOTS, openApp } from './helpers/app';
import { formatDuration } from '../../renderer/src/lib/format';
import { isLeakHolder } from '../../renderer/src/lib/store/view';
import { SETTINGS_OF } from '../../shared/settings-help';
import { chromiumAvailable } from './helpers/chromium-gate';
import { clippedTiles } from './helpers/lanes';
import type { SentCommand } from './helpers/sent-commands';
import { expectShownAsMeasured } from './helpers/shown-as-measured';
import { reveal, screenshot } from './helpers/workspace';


describe.skipIf(!chromiumAvailable)('the controls in Chromium, through the browser host', () => {
  // Starts smaller than the tests want: the UI sets the pool size itself.
  let app: App;
  let service: PoolscopeService;
  let page: Page;
  /** Every command the page sent, in order. */
  let sent: SentCommand[];

  beforeAll(async () => {
    app = await openApp({ settings: { max: 4, acquireTimeoutMs: 30_000 } });
    ({ service, page, sent } = app);
  });

  afterAll(() => app?.close());

  const gauge = async (name: string) => Number(await page.getByTestId(`gauge-${name}`).textContent());
  const snapshot = () => service.engine.snapshot().snapshot;
  const activePool = () => {
    const s = snapshot();
    return s.activePoolId === null ? null : (s.pools[s.activePoolId] ?? null);
  };
  const applySettings = async (values: Record<string, string>) => {
    await reveal(page, 'control-apply-settings');
    for (const [testId, value] of Object.entries(values)) await page.getByTestId(testId).fill(value);
    await page.getByTestId('control-apply-settings').click();
  };
  const leakRows = () => page.locator('[data-testid="conn-row"][data-flag="leak"]');

  it('shows backpressure from a spike, and every borrower is served', async () => {
    const before = activePool()?.id;
    await applySettings({ 'control-pool-max': '10' });
    await expect.poll(() => activePool()?.settings.max, { timeout: 5_000 }).toBe(10);
    expect(activePool()?.id).not.toBe(before);
    await expect.poll(() => page.getByTestId('settings-note').textContent(), { timeout: 5_000 }).toContain('Applied max');
    // The form follows the new pool, and each setting says what it does where it is set.
    await expect.poll(() => page.getByTestId('control-pool-max').inputValue(), { timeout: 5_000 }).toBe('10');
    expect(await page.locator('#help-max').textContent()).toContain('the most connections the pool opens');
    await expect.poll(() => page.locator('.gauge.total .max').textContent(), { timeout: 5_000 }).toBe('/ 10');

    const timedOutBefore = snapshot().counters.timedOut;
    const acquiredBefore = snapshot().counters.acquired;
    await reveal(page, 'control-query');
    await page.getByTestId('control-query').selectOption('sleep');
    await page.getByTestId('control-sleep-ms').fill('1000');
    // Warm the new pool first (10 sleeps), so the big spike meets 10 idle connections.
    await page.getByTestId('control-spike-count').fill('10');
    await page.getByTestId('control-spike').click();
    await expect.poll(() => snapshot().counters.acquired - acquiredBefore, { timeout: 10_000 }).toBe(10);
    await expect.poll(() => gauge('idle'), { timeout: 10_000 }).toBe(10);
    await page.getByTestId('control-spike-count').fill('50');
    await page.getByTestId('control-spike').click();
    // Read both gauges together, often: the first wave holds its connections for 1 s only.
    // (A function, not a string: the page's CSP forbids the eval a string predicate needs.)
    const gauges = () =>
      page.locator('[data-testid="gauge-waiting"], [data-testid="gauge-borrowed"]').evaluateAll((els) => els.map((el) => `${el.getAttribute('data-testid')}=${el.textContent}`).sort().join(' '));
    await expect.poll(gauges, { interval: 10, timeout: 10_000 }).toBe('gauge-borrowed=10 gauge-waiting=40');
    await expect.poll(() => snapshot().counters.acquired - acquiredBefore, { timeout: 15_000 }).toBe(60);
    await expect.poll(() => gauge('waiting'), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(0);
    expect(snapshot().counters.timedOut).toBe(timedOutBefore);
    expect(sent.filter((c) => c.cmd === 'load.spike').at(-1)?.req).toEqual({ count: 50, query: 'sleep', sleepMs: 1000 });
  });

  it('flags leaks that exhaust the pool, diagnoses the timeout, and a destroyed leak serves a borrower', async () => {
    await applySettings({ 'control-pool-max': '10', 'control-acquire-timeout': '1000' });
    await expect.poll(() => activePool()?.settings.acquireTimeoutMs, { timeout: 5_000 }).toBe(1000);
    expect(activePool()?.settings.max).toBe(10);
    // Every field of the form shows the new pool's setting (empty: the driver's default).
    const fieldsAsMeasured = async () => {
      const pool = activePool();
      const testId = (key: string) => ({ max: 'control-pool-max', acquireTimeoutMs: 'control-acquire-timeout' })[key] ?? `control-setting-${key}`;
      const engine = pool ? SETTINGS_OF[pool.target.engine].map((key) => [testId(key), String(pool.settings[key] ?? '')]) : [];
      const shown = [];
      for (const [id] of engine) {
        const field = page.getByTestId(id as string);
        shown.push([id, (await field.getAttribute('type', { timeout: 5_000 })) === 'checkbox' ? String(await field.isChecked()) : await field.inputValue()]);
      }
      return { shown, engine };
    };
    await expectShownAsMeasured(fieldsAsMeasured, { timeout: 5_000, ready: (engine) => engine.length > 2 });

    await reveal(page, 'control-leak-count');
    await page.getByTestId('control-leak-count').fill('10');
    await page.getByTestId('control-leak').click();
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(10);
    await expect.poll(() => leakRows().count(), { timeout: 5_000 }).toBe(10);

    await page.getByTestId('control-leak-threshold').fill('500');
    await page.getByTestId('control-leak-threshold').press('Enter');
    await expect.poll(() => page.getByTestId('leak-threshold-current').textContent(), { timeout: 5_000 }).toContain('500 ms');
    expect(await page.getByTestId('leak-threshold-current').textContent()).toBe(`now: ${formatDuration(snapshot().leakThresholdMs)}`);
    await expect.poll(() => page.getByTestId('leaks-flagged').textContent(), { timeout: 5_000 }).toBe('10 flagged since start');
    await expect.poll(() => leakRows().filter({ hasText: 'possible leak' }).count(), { timeout: 5_000 }).toBe(10);
    // The lane's flags count the engine's leaked holders and those flagged past the threshold, words apart.
    const flagsAsMeasured = async () => {
      const s = snapshot();
      const holders = Object.values(s.connections).flatMap((c) => (c.poolId === s.activePoolId && c.borrowerId !== null && s.borrowers[c.borrowerId]?.state === 'holding' ? [s.borrowers[c.borrowerId]!] : []));
      const leaked = holders.filter((b) => isLeakHolder({ ...b, flagged: false })).length;
      const past = holders.filter((b) => b.flagged).length;
      return { engine: `${leaked} leaked · ${past} past threshold`, shown: await page.locator(`[data-testid="pool-lane"][data-pool-id="${s.activePoolId}"] .flags`).textContent({ timeout: 5_000 }) };
    };
    await expectShownAsMeasured(flagsAsMeasured, { timeout: 5_000 });
    // Each marked tile says so in words that fit it.
    expect(await page.getByTestId('slot-mark').allTextContents()).toEqual(Array(10).fill('past threshold'));
    expect(await clippedTiles(page)).toEqual([]);
    // The call site and how long it has been held, on the row itself.
    const firstId = await leakRows().first().getAttribute('data-conn-id');
    const detail = page.locator(`[data-testid="conn-detail"][data-conn-id="${firstId}"][data-flag="leak"]`);
    expect(await detail.getByTestId('leak-site').textContent()).toMatch(/handleRequestWithoutFinally \(load\/leaky-handler\.ts:\d+\)/);
    expect(await detail.getByTestId('leak-held').textContent()).toMatch(/held \d/);

    // Let the leaks sit idle for over a second before anyone times out on them.
    await new Promise((r) => setTimeout(r, 1_000));
    await page.getByTestId('control-query').selectOption('select1');
    await page.getByTestId('control-concurrency').fill('2');
    await page.getByTestId('control-rate').fill('');
    await page.getByTestId('control-load-start').click();
    const diag = page.getByTestId('timeout-diagnosis');
    await expect.poll(() => diag.count(), { timeout: 10_000 }).toBe(1);
    expect(await diag.getAttribute('data-cause')).toBe('leak');
    expect(await page.getByTestId('timeout-cause').textContent()).toContain('Likely cause: leak');
    expect(await page.getByTestId('timeout-message').textContent()).toMatch(/Timed out after \d+ ms[\s\S]*\n\s+leaked request at /);
    // The whole message, "Timed out after N ms" to the last holder, is the engine's.
    await expectShownAsMeasured(async () => ({ engine: snapshot().lastTimeout?.message, shown: await page.getByTestId('timeout-message').textContent({ timeout: 5_000 }) }), { timeout: 10_000 });
    expect(await page.getByTestId('timeout-holder').count()).toBe(10);
    // Each holder's row as the engine diagnosed the latest timeout: who, where, held how long, doing what.
    const holders = async () => ({
      engine: (snapshot().lastTimeout?.diagnosis.holders ?? []).map((h) => [h.label, h.site, formatDuration(h.heldMs), `${h.statement ? `running ${h.statement}` : `idle ${formatDuration(h.idleMs)}`}${h.inTransaction ? ', in a transaction' : ''}`]),
      shown: await page.getByTestId('timeout-holder').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? ''))),
    });
    await expectShownAsMeasured(holders, { timeout: 10_000, ready: (engine) => engine.length === 10 });
    // The leak with its diagnosis: ten slots marked leaked, the diagnosis under the picture, the leak controls beside.
    await screenshot(page, path.join(SHOTS, 'leak-diagnosis.png'));

    const acquired = snapshot().counters.acquired;
    await leakRows().first().getByTestId('control-destroy').click();
    await expect.poll(() => leakRows().count(), { timeout: 5_000 }).toBe(9);
    // The pool opens a connection in its place and a waiting borrower gets it.
    await expect.poll(() => snapshot().counters.acquired - acquired, { timeout: 5_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('load-ok').textContent().then(Number), { timeout: 5_000 }).toBeGreaterThan(0);

    await page.getByTestId('control-load-stop').click();
    // New settings now: the old pool keeps its leaked connections and drains.
    await applySettings({ 'control-acquire-timeout': '30000' });
    await expect.poll(() => activePool()?.settings.acquireTimeoutMs, { timeout: 5_000 }).toBe(30_000);
    await expect.poll(() => page.getByTestId('pool-draining').textContent(), { timeout: 5_000 }).toContain('previous pool is draining');
    // Clean up from the rows: release the rest (the old pool's rows keep their buttons).
    while ((await leakRows().count()) > 0) {
      const n = await leakRows().count();
      await leakRows().first().getByTestId('control-release').click();
      await expect.poll(() => leakRows().count(), { timeout: 5_000 }).toBeLessThan(n);
    }
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(0);
    // Its last borrower gone, the old pool ends.
    await expect.poll(() => page.getByTestId('pool-draining').count(), { timeout: 5_000 }).toBe(0);
    await reveal(page, 'control-leak-threshold');
    await page.getByTestId('control-leak-threshold').fill('0');
    await page.getByTestId('control-leak-threshold').press('Enter');
    await expect.poll(() => page.getByTestId('leak-threshold-current').textContent(), { timeout: 5_000 }).toContain('off');
  });

  it('holds a transaction from the controls until it is committed', async () => {
    const threshold = snapshot().leakThresholdMs;
    await service.handle('leak.threshold', { ms: 300 });
    onTestFinished(() => service.handle('leak.threshold', { ms: threshold }).then(() => undefined));
    await reveal(page, 'control-tx-hold');
    await page.getByTestId('control-tx-hold').click();
    const tx = page.getByTestId('tx-row');
    await expect.poll(() => tx.count(), { timeout: 5_000 }).toBe(1);
    await expect.poll(() => page.locator('[data-testid="conn-row"][data-state="in-transaction"]').count(), { timeout: 5_000 }).toBe(1);
    // Held past the leak threshold, its tile says so, in words that fit it ("in transaction" takes two lines).
    const txTile = page.locator('[data-testid="slot"][data-state="in-transaction"]');
    await expect.poll(() => txTile.getByTestId('slot-mark').allTextContents(), { timeout: 5_000 }).toEqual(['past threshold']);
    expect(await clippedTiles(page)).toEqual([]);
    // The panel's count is the engine's transactions held (only this one here).
    const inTx = () => Object.values(snapshot().connections).filter((c) => c.tx !== 'idle').length;
    expect(inTx()).toBe(1);
    expect(await page.getByTestId('tx-held-count').textContent()).toBe(`${inTx()} held`);
    await page.getByTestId('control-tx-sql').fill('SELECT count(*)::int AS n FROM books');
    await page.getByTestId('control-tx-run').click();
    await expect.poll(() => page.getByTestId('tx-result').textContent(), { timeout: 5_000 }).toMatch(/1 row\(s\)\n\{"n":\d+\}/);
    await page.getByTestId('control-tx-sql').fill('SELECT * FROM no_such_table');
    await page.getByTestId('control-tx-run').click();
    await expect.poll(() => page.getByTestId('tx-run-error').textContent(), { timeout: 5_000 }).toContain('no_such_table');
    // Failed transaction: the row says so; commit ends it (PostgreSQL rolls it back).
    await expect.poll(() => page.locator('[data-testid="conn-row"][data-state="in-failed-transaction"]').count(), { timeout: 5_000 }).toBe(1);
    await page.getByTestId('control-tx-commit').click();
    await expect.poll(() => tx.count(), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('tx-held').count(), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(0);
    expect(inTx()).toBe(0);
    expect(await page.getByTestId('tx-held-count').textContent()).toBe('0 held');
  });

  it('releases a connection still in a transaction from its row, and the next borrower is told', async () => {
    await reveal(page, 'control-tx-hold');
    await page.getByTestId('control-tx-hold').click();
    await expect.poll(() => page.getByTestId('tx-held').count(), { timeout: 5_000 }).toBe(1);
    const row = page.locator('[data-testid="conn-row"][data-state="in-transaction"]');
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(1);
    const connId = await row.getAttribute('data-conn-id');
    await row.getByTestId('control-release').click();
    await expect.poll(() => page.getByTestId('conn-dirty-returns').textContent(), { timeout: 5_000 }).toBe('1 dirty returns');
    // Its borrower is gone: the held transaction leaves the list.
    await expect.poll(() => page.getByTestId('tx-held').count(), { timeout: 5_000 }).toBe(0);
    // pg-pool hands out the most recently released idle connection: the dirty one.
    await reveal(page, 'control-query');
    await page.getByTestId('control-query').selectOption('sleep');
    await page.getByTestId('control-sleep-ms').fill('1500');
    await page.getByTestId('control-spike-count').fill('1');
    await page.getByTestId('control-spike').click();
    const detail = page.locator(`[data-testid="conn-detail"][data-conn-id="${connId}"]`);
    await expect.poll(() => detail.getByTestId('received-dirty').count(), { timeout: 5_000 }).toBe(1);
    expect(await detail.textContent()).toContain('received a connection left in a transaction');
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(0);
    // The transaction is still open on the idle connection; the next holder (pg-pool's
    // most recently released connection again) rolls it back.
    await reveal(page, 'control-tx-hold');
    await page.getByTestId('control-tx-hold').click();
    await expect.poll(() => page.getByTestId('tx-held').count(), { timeout: 5_000 }).toBe(1);
    expect(await page.getByTestId('tx-held').textContent()).toContain(connId?.slice(connId.indexOf('.') + 1));
    await page.getByTestId('control-tx-rollback').click();
    await expect.poll(() => page.getByTestId('tx-row').count(), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(0);
  });

  it('refuses invalid input in the form and sends nothing harmful', async () => {
    const poolBefore = activePool()?.id;
    const sentBefore = sent.length;

    await reveal(page, 'control-concurrency');
    await page.getByTestId('control-concurrency').fill('-1');
    await page.getByTestId('control-load-start').click();
    await expect.poll(() => page.getByTestId('load-error').textContent(), { timeout: 5_000 }).toBe('concurrency must be at least 1');

    await reveal(page, 'control-pool-max');
    await page.getByTestId('control-pool-max').fill('0');
    await page.getByTestId('control-apply-settings').click();
    await expect.poll(() => page.getByTestId('settings-error').textContent(), { timeout: 5_000 }).toBe('pool size (max) must be at least 1');

    await reveal(page, 'control-concurrency');
    await page.getByTestId('control-concurrency').fill('2');
    await page.getByTestId('control-query').selectOption('custom');
    await page.getByTestId('control-sql').fill('SELECT 1; DROP TABLE books');
    await page.getByTestId('control-load-start').click();
    await expect.poll(() => page.getByTestId('load-error').textContent(), { timeout: 5_000 }).toContain('one statement only');

    const harmful = sent.slice(sentBefore).filter((c) => c.cmd !== 'snapshot.get');
    expect(harmful).toEqual([]);
    expect(activePool()?.id).toBe(poolBefore);
    expect(snapshot().load?.running ?? false).toBe(false);

    // Empty is refused in the form too, and the form is usable again afterwards.
    await reveal(page, 'control-pool-max');
    await page.getByTestId('control-pool-max').fill('10');
    await reveal(page, 'control-leak-threshold');
    await page.getByTestId('control-leak-threshold').fill('');
    await page.getByTestId('control-leak-threshold').press('Enter');
    await expect.poll(() => page.getByTestId('leak-threshold-error').textContent(), { timeout: 5_000 }).toBe('leak threshold (ms) is empty');
    expect(sent.slice(sentBefore).filter((c) => c.cmd !== 'snapshot.get')).toEqual([]);
  });
});
