import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Browser, Locator, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Engine } from '../../main/engine/engine';
import { NO_SECRET_BOX, SavedTargets } from '../../main/engine/saved-targets';
import { PoolscopeService } from '../../main/engine/service';
import { formatCount, formatMs } from '../../renderer/src/lib/format';
import { poolCounts } from '../../shared/snapshot';
import { type WebHost, startWebHost } from '../../main/web/web-host';
import { launchChromium } from './helpers/chromium';
import { chromiumAvailable } from './helpers/chromium-gate';
import { databaseLine } from './helpers/database-line';
import { lanesSeen } from './helpers/lanes';
import { expectShownAsMeasured } from './helpers/shown-as-measured';
import { reveal, screenshot } from './helpers/workspace';

const root = path.resolve(import.meta.dirname, '../..');
const shots = path.join(root, 'docs/screenshots');

describe.skipIf(!chromiumAvailable)('the live view in Chromium, through the browser host', () => {
  let service: PoolscopeService;
  let host: WebHost;
  let browser: Browser;
  let page: Page;
  let admin: pg.Client;
  let savedDir = '';

  beforeAll(async () => {
    savedDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-e2e-saved-'));
    const saved = new SavedTargets(path.join(savedDir, 'saved-targets.json'), NO_SECRET_BOX);
    service = new PoolscopeService(await Engine.start({ target: inject('pgUrl'), settings: { max: 10, acquireTimeoutMs: 30_000 } }), { saved });
    host = await startWebHost({ service, root: path.join(root, 'out/renderer') });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    admin = new pg.Client({ connectionString: inject('pgUrl') });
    await admin.connect();
    await page.goto(host.url);
  });

  afterAll(async () => {
    await admin?.end();
    await browser?.close();
    await host?.close();
    await service?.stop();
    await rm(savedDir, { recursive: true, force: true });
  });

  const gauge = async (name: string) => Number(await page.getByTestId(`gauge-${name}`).textContent());
  const startLoad = async (concurrency: number) => {
    await page.getByTestId('control-concurrency').fill(String(concurrency));
    await page.getByTestId('control-query').selectOption('sleep');
    await page.getByTestId('control-sleep-ms').fill('300');
    await page.getByTestId('control-load-start').click();
  };
  const stopLoad = async () => {
    await page.getByTestId('control-load-stop').click();
    // Stop lets each client finish its request: 30 clients of 300 ms on 10 connections
    // drain in three rounds, about 0.9 s, which left vitest's default 1 s poll no margin.
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(0);
  };

  it('shows the target it watches', async () => {
    const summary = page.getByTestId('target-summary');
    await expect.poll(() => summary.textContent(), { timeout: 5_000 }).toMatch(/postgres:\/\/poolscope_demo@127\.0\.0\.1:\d+\/poolscope_demo/);
    expect(await summary.textContent()).not.toContain(new URL(inject('pgUrl')).password);
    await expect.poll(() => gauge('total'), { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
  });

  it('draws a row per connection as load starts, with its state and server id', async () => {
    await startLoad(4);
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(4);
    const rows = page.getByTestId('conn-row');
    await expect.poll(() => rows.count(), { timeout: 5_000 }).toBeGreaterThanOrEqual(4);
    const states = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-state')));
    expect(states.filter((s) => s === 'borrowed')).toHaveLength(4);
    const ids = await rows.evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-server-id'))));
    const { rows: backends } = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'poolscope'");
    expect(ids.every((id) => backends.some((b) => b.pid === id))).toBe(true);
    // The state is written as text, not shown by colour alone.
    expect(await rows.filter({ hasText: 'borrowed' }).count()).toBeGreaterThanOrEqual(4);
    await stopLoad();
  });

  const screenAndEngine = async () => {
    const s = service.engine.snapshot().snapshot;
    const l = s.loadStats;
    const poolId = s.activePoolId as string;
    const c = poolCounts(s, poolId);
    const sessions = new Set((s.server?.sessions ?? []).map((x) => x.id));
    const onServer = Object.values(s.connections).filter((x) => x.poolId === poolId && x.serverId !== null && sessions.has(x.serverId)).length;
    const engine = {
      load: l && {
        'req/s': formatCount(l.intervalMs > 0 ? (l.requests * 1_000) / l.intervalMs : l.requests),
        ok: String(l.ok),
        failed: String(l.failed),
        'timed out': String(l.timedOut),
        cancelled: String(l.cancelled),
        shed: String(l.shed),
        'leaked this interval': String(l.leaked),
        'in flight': String(l.inFlight),
        p50: formatMs(l.p50Ms),
        p99: formatMs(l.p99Ms),
      },
      lane: `${c.borrowed} of ${c.max} busy · ${c.idle} idle${c.connecting > 0 ? ` · ${c.connecting} opening` : ''}`,
      onServer: `${onServer} on the server`,
      tabs: `Connections ${Object.keys(s.connections).length} Waiting ${s.waiting.length} Transactions ${Object.values(s.connections).filter((x) => x.tx !== 'idle').length}`,
      database: databaseLine(s),
      connCount: `${Object.keys(s.connections).length} open, all pools`,
      closed: `recently closed (${s.closed.length})`,
      leaks: `${s.counters.leaksFlagged} flagged since start · ${s.counters.dirtyReturns} dirty returns`,
    };
    const lane = page.locator(`[data-testid="pool-lane"][data-pool-id="${poolId}"]`);
    const text = async (el: Locator) => (await el.textContent({ timeout: 5_000 }))?.replace(/\s+/g, ' ').trim();
    const shown = {
      load: Object.fromEntries(await page.getByTestId('load-stats').locator('div').evaluateAll((divs) => divs.map((d) => [d.querySelector('dt')?.textContent?.trim(), d.querySelector('dd')?.textContent?.trim()]))),
      lane: await text(lane.locator('.counts')),
      onServer: await text(lane.locator('.db')),
      database: await text(page.getByTestId('picture-database')),
      connCount: await text(page.getByTestId('conn-count')),
      closed: await text(page.getByTestId('conn-closed-toggle')),
      leaks: `${await text(page.getByTestId('leaks-flagged'))} · ${await text(page.getByTestId('dirty-returns'))}`,
      tabs: (await page.getByTestId('detail-tab').evaluateAll((tabs) => tabs.map((t) => t.textContent?.replace(/(\D)(\d)/, '$1 $2').trim()))).filter((t) => /^(Connections|Waiting|Transactions) /.test(t ?? '')).join(' '),
    };
    return { shown, engine };
  };

  it('shows the queue when borrowers outnumber the pool', async () => {
    await startLoad(30);
    // The load panel's in-flight count as the engine counted it: 30. (That the stopped load's
    // last window, 0 in flight, is cleared when this one starts is the reducer's unit test.)
    const inFlight = page.getByTestId('load-stats').locator('div', { hasText: 'in flight' }).locator('dd');
    const shownAndCounted = async () => ({ shown: await inFlight.textContent({ timeout: 5_000 }), counted: String(service.engine.snapshot().snapshot.loadStats?.inFlight) });
    await expect.poll(shownAndCounted, { timeout: 10_000 }).toEqual({ shown: '30', counted: '30' });
    await expect.poll(() => gauge('waiting'), { timeout: 10_000 }).toBeGreaterThanOrEqual(15);
    await expect.poll(() => page.getByTestId('waiter-row').count(), { timeout: 5_000 }).toBeGreaterThan(0);
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(10);
    // Every figure of the load panel's latest interval, the active lane's counts and its sessions
    // on the server, and the tabs' counts, as the engine has them, in an interval where requests
    // finished (before that, p50 and p99 are both "–").
    await expectShownAsMeasured(screenAndEngine, { timeout: 15_000, ready: (engine) => Number(engine.load?.ok) > 0 });
    await reveal(page, 'waiter-row');
    await screenshot(page, path.join(shots, 'live-view.png'));
    // At 1280 the picture is narrow enough that the line's count wraps: "20 waiting", "+N more"
    // and "oldest …" each stay whole and inside the line's column (tokens move: not read here).
    const size = page.viewportSize();
    await page.setViewportSize({ width: 1280, height: 720 });
    await expect.poll(async () => (await lanesSeen(page)).flatMap((l) => l.overlaps.filter((o) => !o.includes('token'))), { timeout: 10_000 }).toEqual([]);
    expect(await page.getByTestId('pool-lane').first().getByTestId('waiting-more').count()).toBe(1);
    if (size) await page.setViewportSize(size);
    // The wide chart's legend away from the cursor is a key (names, no "–" that reads as missing
    // data); over the chart it gives the values at the cursor.
    const legend = page.getByTestId('wide-chart').locator('.u-legend');
    await page.mouse.move(0, 0);
    expect(await legend.innerText()).not.toMatch(/–|--|Time/);
    expect(await legend.innerText()).toMatch(/borrowed[\s\S]*idle[\s\S]*connecting[\s\S]*waiting/);
    const plot = page.getByTestId('wide-chart').locator('.u-over');
    const box = await plot.boundingBox();
    if (!box) throw new Error('the wide chart has no plot area');
    await page.mouse.move(box.x + box.width - 4, box.y + box.height / 2);
    await expect.poll(() => legend.innerText(), { timeout: 5_000 }).toMatch(/borrowed:?\s*\d+/);
    // At the newest point, with the line steady for a while, the values are the engine's counts now.
    const atCursor = async () => {
      const c = poolCounts(service.engine.snapshot().snapshot, service.engine.pool.id);
      const text = await legend.innerText({ timeout: 5_000 });
      const value = (name: string) => Number(new RegExp(`${name}:?\\s*(\\d+)`).exec(text)?.[1] ?? Number.NaN);
      return { engine: { borrowed: c.borrowed, idle: c.idle, connecting: c.connecting, waiting: c.waiting }, shown: { borrowed: value('borrowed'), idle: value('idle'), connecting: value('connecting'), waiting: value('waiting') } };
    };
    await expectShownAsMeasured(atCursor, { timeout: 10_000 });
    await page.mouse.move(0, 0);
    await stopLoad();
    await expect.poll(() => gauge('waiting'), { timeout: 5_000 }).toBe(0);
  });

  it('pins a transaction row while one is held', async () => {
    const lease = await service.engine.pool.borrow({ label: 'e2e transaction' });
    await lease.query('BEGIN');
    await lease.query('SELECT 1');
    const row = page.getByTestId('tx-row');
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(1);
    expect(await row.textContent()).toContain('e2e transaction');
    const conn = page.locator(`[data-testid="conn-row"][data-state="in-transaction"]`);
    expect(await conn.count()).toBe(1);
    await lease.query('COMMIT');
    lease.release();
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(0);
  });

  it('turns a connection killed from outside broken or closed, and the pool replaces it', async () => {
    await startLoad(3);
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(3);
    const victim = Number(await page.locator('[data-testid="conn-row"][data-state="borrowed"]').first().getAttribute('data-server-id'));
    await admin.query('SELECT pg_terminate_backend($1)', [victim]);
    // Read in one go: a row can vanish between two separate reads.
    const victimState = () =>
      page.locator('[data-testid="conn-row"]').evaluateAll((els, pid) => els.find((el) => el.getAttribute('data-server-id') === String(pid))?.getAttribute('data-state') ?? 'gone', victim);
    await expect.poll(victimState, { timeout: 5_000 }).toMatch(/broken|closed|gone/);
    await expect.poll(() => gauge('borrowed'), { timeout: 5_000 }).toBe(3);
    const live = await page.locator('[data-testid="conn-row"][data-state="borrowed"]').evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-server-id'))));
    expect(live).not.toContain(victim);
    await stopLoad();
  });

  it('saves a target without its password in the browser host, says so, and connects when given it', async () => {
    const url = inject('pgUrl');
    const password = new URL(url).password;
    await reveal(page, 'saved-name');
    await page.getByTestId('saved-name').fill('demo shop');
    await page.getByTestId('saved-url').fill(url);
    await page.getByTestId('control-save-target').click();
    await expect.poll(() => page.getByTestId('saved-message').textContent(), { timeout: 5_000 }).toMatch(/Saved without its password: the browser host never stores passwords/);
    const row = page.getByTestId('saved-target');
    await expect.poll(() => row.count(), { timeout: 5_000 }).toBe(1);
    expect(await row.textContent()).not.toContain(password);
    await row.getByLabel('Password for demo shop').fill(password);
    await row.getByRole('button', { name: 'Connect' }).click();
    await expect.poll(() => page.getByTestId('saved-message').textContent(), { timeout: 5_000 }).toMatch(/^Connected to postgres:\/\/poolscope_demo@127\.0\.0\.1/);
    expect(await page.content()).not.toContain(password);
  });
});
