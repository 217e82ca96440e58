import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { inject } from 'vitest';
import { type AttachServer, startAttachServer } from '../../main/engine/attach/attach-server';
import { poolCounts } from '../../shared/snapshot';
import { type App, REPO_ROOT, SHOTS, openApp } from './helpers/app';
import { lanesSeen } from './helpers/lanes';
import { expectShownAsMeasured } from './helpers/shown-as-measured';
import { screenshot } from './helpers/workspace';
import { chromiumAvailable } from './helpers/chromium-gate';

// An app under `poolscope attach` shown in the page: the Attached processes panel against
// what the engine measured (the source's pid, the pool's gauges, the holder's call site in the
// app's file and its leak flag), its connection rows without release or destroy, then the process gone.

const APP = path.join(REPO_ROOT, 'tests/integration/attach-apps/pg-app.cjs');
const leakLine = readFileSync(APP, 'utf8').split('\n').findIndex((l) => l.includes('LEAK-LINE')) + 1;
const BURST_APP = path.join(REPO_ROOT, 'tests/integration/attach-apps/burst-app.cjs');

describe.skipIf(!chromiumAvailable)('an attached app in the browser', () => {
  let app: App;
  let agents: AttachServer;
  let dir: string;

  beforeAll(async () => {
    app = await openApp({ settings: { max: 2 } });
    dir = mkdtempSync(path.join(tmpdir(), 'poolscope-e2e-attach-'));
    const engine = app.service.engine;
    agents = await startAttachServer({ log: engine.log, clock: engine.clock, newPoolId: () => engine.newPoolId(), file: path.join(dir, 'attach.json') });
  });

  afterAll(async () => {
    await agents?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows the process, its pool and the leaky holder at the app's line, flagged, then the process gone", async () => {
    await app.service.handle('leak.threshold', { ms: 400 });
    const child: ChildProcess = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/poolscope.mjs'), 'attach', '--', process.execPath, APP], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_OPTIONS: '', APP_DB_URL: inject('pgUrl'), POOLSCOPE_ATTACH_FILE: path.join(dir, 'attach.json'), HOLD_MS: 'stdin' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // The app holds its leak until this test has read the screen (its stdin ends), or fails.
    onTestFinished(() => void child.stdin?.end());
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const { page } = app;
    const live = () => app.service.engine.log.live;

    // The engine's view of the leaky holder: flagged, at the app's line.
    try {
      await expect.poll(() => Object.values(live().borrowers).find((b) => b.flagged && b.site.includes(`pg-app.cjs:${leakLine}`)) ?? null, { timeout: 30_000 }).not.toBeNull();
    } catch (err) {
      throw new Error(`no flagged holder at the leak line; attach said: ${output}; sources: ${JSON.stringify(live().sources)}`, { cause: err });
    }
    const source = Object.values(live().sources)[0]!;
    const poolId = source.poolIds[0]!;
    const holder = Object.values(live().borrowers).find((b) => b.poolId === poolId && b.state === 'holding')!;

    const panel = page.getByTestId('attached-processes');
    const row = panel.getByTestId('attached-source').filter({ has: page.locator(`[data-pool-id="${poolId}"]`) });
    await expect.poll(() => row.getAttribute('data-pid', { timeout: 5_000 }), { timeout: 10_000 }).toBe(String(source.pid));
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 5_000 }).toBe('attached');
    await expect.poll(() => row.getByTestId('attached-counts').textContent(), { timeout: 5_000 }).toContain('1 borrowed');
    const countsAsMeasured = async () => {
      const c = poolCounts(live(), poolId);
      return { engine: `${c.borrowed} borrowed, ${c.idle} idle, ${c.waiting} waiting of max ${c.max}`, shown: await row.getByTestId('attached-counts').textContent({ timeout: 5_000 }) };
    };
    await expectShownAsMeasured(countsAsMeasured, { timeout: 10_000 });
    const shown = row.getByTestId('attached-holder');
    await expect.poll(() => shown.count(), { timeout: 5_000 }).toBe(1);
    await expect.poll(() => shown.locator('.site').textContent(), { timeout: 5_000 }).toBe(holder.site);
    await expect.poll(() => shown.getAttribute('class'), { timeout: 5_000 }).toContain('flagged');

    // The picture's lane and the table's group name the app, the target beside it, at a
    // projector's 1280x720: the target's URL wraps rather than run over the waiting line.
    await page.setViewportSize({ width: 1280, height: 720 });
    const lane = page.locator(`[data-testid="pool-lane"][data-pool-id="${poolId}"]`);
    await expect.poll(() => lane.locator('.label').textContent({ timeout: 5_000 }), { timeout: 10_000 }).toBe(`app pid ${source.pid}`);
    const { target } = live().pools[poolId]!;
    expect(await lane.getByTestId('lane-detail').textContent()).toBe(`${target.host}:${target.port}/${target.database}`);
    expect(await lane.getByTestId('lane-detail').getAttribute('title')).toBe(target.display);
    // The lane's flag and the tile's mark count the holders the engine flagged past the threshold.
    const flagged = Object.values(live().borrowers).filter((b) => b.poolId === poolId && b.state === 'holding' && b.flagged).length;
    expect(flagged).toBe(1);
    await expect.poll(() => lane.locator('.flags').textContent({ timeout: 5_000 }), { timeout: 10_000 }).toBe(`${flagged} past threshold`);
    expect(await lane.getByTestId('slot-mark').allTextContents()).toEqual(['past threshold']);
    expect((await lanesSeen(page)).flatMap((l) => l.overlaps)).toEqual([]);
    await screenshot(page, path.join(SHOTS, 'attach.png'));

    // Beside the gauges (which count Poolscope's active pool), the line over every open pool
    // counts the app's too, as the engine's pools, connections and waiting line have it.
    const allPools = async () => {
      const s = live();
      const open = Object.values(s.pools).filter((p) => p.status !== 'ended').length;
      const c = poolCounts(s);
      const engine = `all ${open} pools: ${c.total} open / ${c.max}, ${c.waiting} waiting`;
      return { shown: (await page.getByTestId('gauge-all').textContent({ timeout: 5_000 }))?.trim().replace(/\s+/g, ' '), engine };
    };
    await expectShownAsMeasured(allPools, { timeout: 10_000 });
    expect((await allPools()).engine).toMatch(/^all 2 pools: \d+ open \/ 4, 0 waiting$/);

    // The connections table: the app's held connection offers no release or destroy (only the app
    // does that), terminating its session stays and says it acts on the server; a connection
    // Poolscope's own pool holds keeps all three.
    const injected = await app.service.handle('leak.inject', { count: 1 });
    expect(injected.ok).toBe(true);
    const ownLeak = (injected.ok ? (injected.res as { borrowerIds: string[] }).borrowerIds : [])[0];
    const appRow = page.locator(`[data-testid="conn-row"][data-borrower-id="${holder.id}"]`);
    const ownRow = page.locator(`[data-testid="conn-row"][data-borrower-id="${ownLeak}"]`);
    await expect.poll(() => appRow.count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => ownRow.count(), { timeout: 10_000 }).toBe(1);
    const group = page.locator(`[data-testid="conn-pool-group"][data-pool-id="${poolId}"]`);
    expect(await group.getAttribute('data-role')).toBe('app');
    expect(await group.textContent()).toContain(`app pid ${source.pid}`);
    // Its connections and leaks counted as the engine has them (the flagged holder is one), and its target.
    const groupAsMeasured = async () => {
      const s = live();
      const conns = Object.values(s.connections).filter((c) => c.poolId === poolId);
      const leaked = conns.filter((c) => c.borrowerId !== null && s.borrowers[c.borrowerId]?.state === 'holding' && s.borrowers[c.borrowerId]?.flagged).length;
      return { engine: `${conns.length} connection${conns.length === 1 ? '' : 's'}${leaked > 0 ? `, ${leaked} leaked` : ''} · ${s.pools[poolId]!.target.display}`, shown: (await group.locator('td > .muted').textContent({ timeout: 5_000 }))?.trim() };
    };
    await expectShownAsMeasured(groupAsMeasured, { timeout: 10_000, ready: (engine) => engine.includes('1 leaked') });
    expect(await group.getByTestId('control-end-pool').count()).toBe(0);
    expect(await appRow.getByTestId('control-release').count()).toBe(0);
    expect(await appRow.getByTestId('control-destroy').count()).toBe(0);
    const terminate = appRow.getByTestId('control-terminate');
    expect(await terminate.textContent()).toBe('Terminate (server)');
    expect(await terminate.getAttribute('title')).toContain(`it acts on the server, not on the app's pool (pid ${source.pid})`);
    expect(await ownRow.getByTestId('control-release').count()).toBe(1);
    expect(await ownRow.getByTestId('control-destroy').count()).toBe(1);
    expect(await ownRow.getByTestId('control-terminate').textContent()).toBe('Terminate');
    await ownRow.getByTestId('control-release').click();
    await expect.poll(() => ownRow.count(), { timeout: 10_000 }).toBe(0);

    child.stdin?.end();
    expect(await exited, output).toBe(3);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('detached');
    await expect.poll(() => shown.count(), { timeout: 5_000 }).toBe(0);
  });

  it('with a site budget, shows the unsampled holder as not sampled and the count the agent reported', async () => {
    const child: ChildProcess = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/poolscope.mjs'), 'attach', '--site-budget', '5', '--', process.execPath, BURST_APP], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_OPTIONS: '', APP_DB_URL: inject('pgUrl'), POOLSCOPE_ATTACH_FILE: path.join(dir, 'attach.json'), BURST: '30', HOLD_MS: 'stdin' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    onTestFinished(() => void child.stdin?.end());
    let output = '';
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const live = () => app.service.engine.log.live;
    const budgeted = () => Object.values(live().sources).find((s) => s.siteBudget === 5 && s.status === 'attached') ?? null;

    // The last of 30 borrowers holds alone: past the budget's 5, so not sampled; 25 counted.
    const lastHolder = () => {
      const src = budgeted();
      const mine = Object.values(live().borrowers).filter((b) => b.poolId === src?.poolIds[0]);
      return mine.length === 1 && mine[0]!.state === 'holding' && src!.notSampled === 25 ? { src: src!, holder: mine[0]! } : null;
    };
    await expect.poll(lastHolder, { timeout: 30_000 }).not.toBeNull();
    const { src: source, holder } = lastHolder()!;
    const poolId = source.poolIds[0]!;
    expect(holder.site).toBe('not sampled (site budget 5/s)');

    const row = app.page.getByTestId('attached-processes').getByTestId('attached-source').filter({ has: app.page.locator(`[data-pool-id="${poolId}"]`) });
    await expect.poll(() => row.getByTestId('attached-holder').locator('.site').textContent({ timeout: 5_000 }), { timeout: 10_000 }).toBe(holder.site);
    await expect.poll(() => row.getByTestId('attached-not-sampled').textContent({ timeout: 5_000 }), { timeout: 10_000 }).toContain(`Site budget 5/s: ${source.notSampled} borrowers not sampled`);

    child.stdin?.end();
    expect(await exited, output).toBe(0);
    expect(output).toContain(`, ${source.notSampled} borrowers not sampled (site budget 5/s)`);
  });
});
