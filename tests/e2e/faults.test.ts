import path from 'node:path';
import pg from 'pg';
import type { Locator, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolscopeService } from '../../main/engine/service';
import { formatCount, formatDuration, formatMs } from '../../renderer/src/lib/format';
import { capacityOf, shortState } from '../../renderer/src/lib/server/server-view';
import { sweetSpot } from '../../renderer/src/lib/sweep/sweep';
import { recoveryMs } from '../../shared/faults';
import { joinServerView, sideApplication } from '../../shared/server-join';
import { poolCounts } from '../../shared/snapshot';
import { type App, SHOTS, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import { databaseLine } from './helpers/database-line';
import type { SentCommand } from './helpers/sent-commands';
import { expectShownAsMeasured } from './helpers/shown-as-measured';
import { reveal, screenshot } from './helpers/workspace';


// The database's side, faults and app instances, driven from the page. The engine runs its
// own embedded PostgreSQL here (the run's shared one is not the engine's to restart).
describe.skipIf(!chromiumAvailable)('the database, faults and app instances in Chromium', () => {
  let app: App;
  let service: PoolscopeService;
  let page: Page;
  /** Every command the page sent, in order. */
  let sent: SentCommand[];

  beforeAll(async () => {
    app = await openApp({ embedded: true, settings: { max: 4, acquireTimeoutMs: 10_000 }, height: 1400 });
    ({ service, page, sent } = app);
  });

  afterAll(() => app?.close());

  const snapshot = () => service.engine.snapshot().snapshot;
  const rows = () => page.getByTestId('conn-row');
  const serverIds = () => rows().evaluateAll((els) => els.map((el) => el.getAttribute('data-server-id') ?? '').filter((id) => id !== '').sort());
  const ourSessions = () =>
    page.locator('[data-testid="server-session"][data-kind="ours"]').evaluateAll((els) => els.map((el) => el.getAttribute('data-pid') ?? '').sort());
  /** The pids of the open connections' rows and of our sessions in the Database panel, read together. */
  const bothSides = async () => ({ rows: await serverIds(), sessions: await ourSessions() });
  /** Waits until `n` connections have their session, each listed once in the Database panel. */
  const sessionsMatchRows = async (n: number, timeout = 10_000) => {
    await expect.poll(async () => (await serverIds()).length, { timeout }).toBe(n);
    await expect.poll(async () => { const b = await bothSides(); return b.sessions.join() === b.rows.join(); }, { timeout: 5_000 }).toBe(true);
  };
  /** Four 300 ms sleeps at once: the pool opens all four of its connections. */
  const fillPool = async () => {
    await reveal(page, 'control-query');
    await page.getByTestId('control-query').selectOption('sleep');
    await page.getByTestId('control-sleep-ms').fill('300');
    await page.getByTestId('control-spike-count').fill('4');
    await page.getByTestId('control-spike').click();
  };

  // The panel's header and capacity, and the picture's database line, as the monitor's last
  // reading has them, joined with the pool.
  const databaseAsMeasured = async () => {
    const s = snapshot();
    const join = joinServerView(s);
    const server = s.server;
    const c = server && join ? capacityOf(join.total, server.maxConnections, server.reserved) : null;
    const starting = join?.starting.length ?? 0;
    const engine = join && c && {
      header: `${Object.values(join.byConnection).filter((j) => j.session).length} of our pools' · ${join.others.length} other clients'${starting > 0 ? ` · ${starting} connecting` : ''}`,
      capacity: `${c.used} of max_connections ${c.max} in use${c.reserved > 0 ? ` (${c.reserved} reserved for superusers)` : ''} ${c.level === 'full' ? 'the server refuses new connections' : `${c.usable - c.used} free before the server refuses`}`,
      picture: databaseLine(s),
      startingRows: join.starting.map((x) => String(x.id)).sort(),
    };
    const text = async (x: Locator) => (await x.textContent({ timeout: 5_000 }))?.replace(/\s+/g, ' ').trim();
    const shown = {
      header: await text(page.getByTestId('database-panel').locator('header > .muted').first()),
      capacity: await text(page.getByTestId('server-capacity').locator('.caption')),
      picture: await text(page.getByTestId('picture-database')),
      startingRows: (await page.locator('[data-testid="server-session"][data-kind="starting"]').evaluateAll((els) => els.map((el) => el.getAttribute('data-pid') ?? ''))).sort(),
    };
    return { shown, engine };
  };

  it("lists the pool's sessions on the server and terminates one from its row", async () => {
    await fillPool();
    // Each connection's session is in the Database panel, under its backend pid.
    await sessionsMatchRows(4);
    await expectShownAsMeasured(databaseAsMeasured, { timeout: 5_000, ready: (engine) => Boolean(engine) });
    // Each row's server state word as the monitor read the connection's session.
    const serverStatesAsMeasured = async () => {
      const s = snapshot();
      const join = joinServerView(s);
      const engine = Object.keys(s.connections).flatMap((id) => {
        const session = join?.byConnection[id]?.session;
        return session ? [[id, shortState(session.state)]] : [];
      });
      const shown: string[][] = [];
      for (const [id] of engine) shown.push([id as string, ((await page.locator(`[data-testid="conn-row"][data-conn-id="${id}"] [data-testid="conn-server-state"]`).textContent({ timeout: 5_000 })) ?? '').split(' · ')[0]?.trim() ?? '']);
      return { shown, engine };
    };
    await expectShownAsMeasured(serverStatesAsMeasured, { timeout: 10_000, ready: (engine) => engine.length === 4 });
    const capacity = page.getByTestId('server-capacity');
    expect(Number(await capacity.getAttribute('data-max'))).toBeGreaterThan(4);
    await expect.poll(async () => Number(await capacity.getAttribute('data-used')), { timeout: 5_000 }).toBeGreaterThanOrEqual(5);
    expect(await page.getByTestId('server-note').count()).toBe(0);
    await expect.poll(() => rows().first().getByTestId('conn-server-state').textContent(), { timeout: 5_000 }).toMatch(/idle|active/);

    const victim = rows().first();
    const pid = await victim.getAttribute('data-server-id');
    await victim.getByTestId('control-terminate').click();
    await expect.poll(() => sent.at(-1), { timeout: 5_000 }).toEqual({ cmd: 'server.terminate', req: { serverId: Number(pid) } });
    // Gone from the pool and from the server, and the pool opens a replacement when asked.
    await expect.poll(() => page.locator(`[data-testid="conn-row"][data-server-id="${pid}"]`).count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.locator(`[data-testid="server-session"][data-pid="${pid}"]`).count(), { timeout: 5_000 }).toBe(0);
    await fillPool();
    await sessionsMatchRows(4);
    expect(await serverIds()).not.toContain(pid);
    await expect.poll(() => page.locator('[data-testid="recovery-row"][data-kind="terminate"][data-recovered="true"]').count(), { timeout: 15_000 }).toBe(1);
  });

  it('counts the sessions still in their handshake apart, on the picture and in the panel', async () => {
    // Two clients stuck in their handshake (asked for a password they never give): the server
    // lists them with no user and no name. They are no one's yet, and the screen says so rather
    // than leave the lanes' counts short of the database's.
    const { host, port, user, database } = snapshot().pools[snapshot().activePoolId ?? '']!.target;
    const stuck = [0, 1].map(() => {
      const client = new pg.Client({ host, port, user, database, password: () => new Promise<string>(() => {}) });
      client.on('error', () => {});
      client.connect().catch(() => {});
      return client;
    });
    try {
      await expectShownAsMeasured(databaseAsMeasured, { timeout: 10_000, ready: (engine) => engine?.startingRows.length === 2 });
    } finally {
      // Ending the client closes its socket mid-handshake: the server drops the session.
      for (const client of stuck) void client.end().catch(() => {});
    }
    await expectShownAsMeasured(databaseAsMeasured, { timeout: 10_000, ready: (engine) => engine?.startingRows.length === 0 });
  });

  it('routes the pool through the proxy when the latency slider moves, in few commands', async () => {
    expect(await page.getByTestId('fault-proxy').count()).toBe(0);
    const before = sent.length;
    await reveal(page, 'control-fault-latency');
    const slider = page.getByTestId('control-fault-latency');
    await slider.focus();
    // Ten steps of 5 ms, as fast as keys repeat: a drag in small.
    for (let i = 0; i < 10; i++) await slider.press('ArrowRight');
    await expect.poll(() => snapshot().faults.toxics.latencyMs, { timeout: 10_000 }).toBe(50);
    await expect.poll(() => page.getByTestId('fault-proxy').textContent(), { timeout: 5_000 }).toMatch(/127\.0\.0\.1:\d+ → .+:\d+/);
    await expect.poll(() => page.getByTestId('fault-state').textContent(), { timeout: 5_000 }).toBe('latency 50 ms');
    expect(await page.getByTestId('fault-latency-value').textContent()).toBe('50 ms');
    const faultSets = sent.slice(before).filter((c) => c.cmd === 'fault.set');
    expect(faultSets.length).toBeLessThan(10);
    expect(faultSets.at(-1)?.req).toEqual({ latencyMs: 50 });

    // Out of range: refused before anything is sent, with the field named.
    await page.getByTestId('control-fault-jitter').fill('20000');
    await page.getByTestId('control-fault-jitter').press('Enter');
    await expect.poll(() => page.getByTestId('fault-error').textContent(), { timeout: 5_000 }).toBe('jitter (ms) must be at most 10000');

    await page.getByTestId('control-fault-clear').click();
    await expect.poll(() => snapshot().faults.toxics.latencyMs, { timeout: 5_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('fault-latency-value').textContent(), { timeout: 5_000 }).toBe('0 ms');
    await expect.poll(() => page.getByTestId('fault-state').textContent(), { timeout: 5_000 }).toBe('no faults');
    // Cleared, the pool stays on the proxy.
    expect(await page.getByTestId('fault-proxy').count()).toBe(1);
  });

  it('restarts the embedded database and measures the recovery', async () => {
    await fillPool();
    await reveal(page, 'control-db-restart');
    const restart = page.getByTestId('control-db-restart');
    expect(await restart.isEnabled()).toBe(true);
    await restart.click();
    // While the server is down the monitor cannot read it: the picture says so, not "0 sessions"
    // and "0 on the server" (a failed reading lists no session, the monitor's own included).
    const unreadAsMeasured = async () => {
      const s = snapshot();
      const engine = { database: databaseLine(s), lane: joinServerView(s) ? 'read' : 'server not read' };
      const lane = (await page.locator(`[data-testid="pool-lane"][data-pool-id="${s.activePoolId}"] .db`).textContent({ timeout: 5_000 }))?.trim();
      const shown = { database: (await page.getByTestId('picture-database').textContent({ timeout: 5_000 }))?.replace(/\s+/g, ' ').trim(), lane: lane === 'server not read' ? lane : 'read' };
      return { shown, engine };
    };
    await expectShownAsMeasured(unreadAsMeasured, { timeout: 15_000, ready: (engine) => engine.database.includes('cannot be read now') });
    // The outage as it stands, with what was done, words apart.
    await expect
      .poll(() => page.getByTestId('outage-open').first().textContent({ timeout: 5_000 }), { timeout: 5_000 })
      .toMatch(/^\s*outage: database restart for \d+(\.\d)? (ms|s)(: lifted .* ago, waiting for the pool to serve)? \(embedded PostgreSQL stopped for 2000 ms, then started\)\s*$/);
    const row = page.locator('[data-testid="recovery-row"][data-kind="restart"][data-recovered="true"]');
    await expect.poll(() => row.count(), { timeout: 60_000 }).toBe(1);
    expect(await row.getByTestId('recovery-time').textContent()).toMatch(/^\d+(\.\d)? (ms|s)$/);
    expect(await row.getByTestId('recovery-left-open').textContent()).toBe('sockets left open 0');
    // The row's figures and failures as the engine measured the restart's recovery.
    const recoveryAsMeasured = async () => {
      const m = snapshot().faults.recoveries.filter((r) => r.kind === 'restart').at(-1);
      const ms = m ? recoveryMs(m) : null;
      const engine = m && {
        facts: [ms === null ? 'not yet' : formatDuration(ms), `outage ${m.clearedAt === null ? '–' : formatDuration(m.clearedAt - m.startedAt)}`, `lost ${m.lost}`, `opened ${m.opened}`, `sockets left open ${m.socketsLeftOpen ?? '–'}`],
        failures: m.failures.slice().sort((a, b) => b.count - a.count).map((f) => `${f.count} × ${f.message}`),
      };
      const shown = {
        facts: [(await row.getByTestId('recovery-time').textContent())?.trim(), ...(await row.locator('.facts > span').allTextContents()).map((t) => t.trim())],
        failures: await row.getByTestId('recovery-failure').evaluateAll((els) => els.map((el) => el.textContent?.replace(/\s+/g, ' ').trim())),
      };
      return { shown, engine };
    };
    await expectShownAsMeasured(recoveryAsMeasured, { timeout: 5_000 });
    // Faults with their recoveries: the terminate and the restart, each measured, in the Faults group.
    await screenshot(page, path.join(SHOTS, 'faults.png'));
    // Back to serving: the pool fills again on the restarted server, whose sessions the monitor lists.
    await fillPool();
    await sessionsMatchRows(4, 15_000);
  });

  it('starts app instances and shows each as a group against the server', async () => {
    await reveal(page, 'control-instances-count');
    await page.getByTestId('control-instances-count').fill('3');
    await page.getByTestId('control-instances-size').fill('2');
    await page.getByTestId('control-instances-query').selectOption('sleep');
    await page.getByTestId('control-instances-start').click();
    await expect.poll(() => sent.filter((c) => c.cmd === 'instances.start').at(-1), { timeout: 5_000 }).toEqual({ cmd: 'instances.start', req: { count: 3, poolSize: 2, query: 'sleep', sleepMs: 500 } });
    const groups = page.getByTestId('instance-group');
    await expect.poll(() => groups.count(), { timeout: 10_000 }).toBe(3);
    expect(await groups.locator('th').allTextContents()).toEqual(['instance 1', 'instance 2', 'instance 3']);
    await expect.poll(() => groups.getByTestId('instance-connections').allTextContents(), { timeout: 10_000 }).toEqual(['2 / 2', '2 / 2', '2 / 2']);
    expect(await page.getByTestId('instances-planned').textContent()).toContain('3 instances × 2 = 6 connections planned');
    // Each instance's row as the engine counts its pool and the server's refusals of it.
    const rowsAsMeasured = async () => {
      const s = snapshot();
      const engine = (s.instances?.poolIds ?? []).map((id, i) => {
        const c = poolCounts(s, id);
        return [`instance ${i + 1}`, `${c.total} / ${c.max}`, String(c.borrowed), formatCount(c.waiting), String(s.instances?.refusals[id] ?? 0)];
      });
      const shown = await groups.evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('th, td')].map((x) => x.textContent?.trim() ?? '')));
      return { shown, engine };
    };
    await expectShownAsMeasured(rowsAsMeasured, { timeout: 10_000 });
    // The instances' sessions are ours on the server too.
    await expect.poll(() => page.locator('[data-testid="server-session"][data-kind="ours"]').count(), { timeout: 5_000 }).toBeGreaterThanOrEqual(6);
    // Each instance's lane counts the sessions the server lists under its pool's name.
    const lanesAsMeasured = async () => {
      const s = snapshot();
      const ids = s.instances?.poolIds ?? [];
      const engine = ids.map((id) => `${(s.server?.sessions ?? []).filter((x) => x.application === sideApplication(id)).length} on the server`);
      const shown = await Promise.all(ids.map(async (id) => (await page.locator(`[data-testid="pool-lane"][data-pool-id="${id}"] .db`).textContent({ timeout: 1_000 }))?.replace(/\s+/g, ' ').trim()));
      return { shown, engine };
    };
    await expectShownAsMeasured(lanesAsMeasured, { timeout: 10_000, ready: (engine) => engine.length === 3 && engine.every((x) => x === '2 on the server') });

    await page.getByTestId('control-instances-stop').click();
    // Stop waits for the 500 ms requests in flight and ends each pool: 546-711 ms measured,
    // too close to vitest's default 1 s poll.
    await expect.poll(() => page.getByTestId('instances-state').textContent(), { timeout: 5_000 }).toBe('stopped');
  });

  it('sweeps pool sizes and marks the best one', async () => {
    await page.getByTestId('control-sweep-sizes').fill('1, 4');
    await page.getByTestId('control-sweep-seconds').fill('1');
    await page.getByTestId('control-sweep-clients').fill('8');
    await page.getByTestId('control-sweep-query').selectOption('select1');
    await page.getByTestId('control-sweep-start').click();
    await expect.poll(() => sent.filter((c) => c.cmd === 'sweep.start').at(-1), { timeout: 5_000 }).toEqual({ cmd: 'sweep.start', req: { sizes: [1, 4], secondsEach: 1, clients: 8, query: 'select1' } });
    await expect.poll(() => page.getByTestId('sweep-state').textContent(), { timeout: 20_000 }).toBe('2 sizes measured');
    expect(await page.getByTestId('sweep-point').evaluateAll((els) => els.map((el) => el.getAttribute('data-size')))).toEqual(['1', '4']);
    // The mark is the sweet spot: the smallest size within 95% of the best throughput measured.
    const spot = sweetSpot(snapshot().sweep?.points ?? []);
    expect(spot).not.toBeNull();
    expect(await page.getByTestId('sweep-best').getAttribute('data-size')).toBe(String(spot?.size));
    expect(await page.getByTestId('sweep-best').locator('strong').textContent()).toBe(String(spot?.size));
    expect(await page.getByTestId('sweep-best').textContent()).toContain(`${formatCount(spot?.throughput)} req/s`);
    // Each size's row as the engine measured it.
    const points = (snapshot().sweep?.points ?? []).map((p) => [String(p.size), formatCount(p.throughput), formatMs(p.p50Ms), formatMs(p.p99Ms), String(p.failed)]);
    expect(await page.getByTestId('sweep-point').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((x) => x.textContent?.trim() ?? '')))).toEqual(points);
  });
});
