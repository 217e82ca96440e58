import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile } from 'node:fs/promises';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ElectronApplication, type Page, _electron } from 'playwright';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Batch, Reply } from '../../shared/api';
import type { Snapshot } from '../../shared/snapshot';
import type { PoolscopeBridge } from '../../renderer/src/lib/transport/bridge';

// Smoke test of the Electron shell (main/electron): the built app in Electron itself, driven by
// Playwright. It runs only where Electron's binary is installed; offline installs have none
// (its download is denied), and there it says so in one line and skips.

const ROOT = resolve(import.meta.dirname, '../..');
const APP_URL = 'app://poolscope/index.html';

/** The executable `require('electron')` names, or null when it is not there. */
function electronBinary(): string | null {
  try {
    const path: unknown = createRequire(import.meta.url)('electron');
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null; // electron's index.js throws when path.txt is missing
  }
}

const binary = electronBinary();
const noDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
if (!binary) console.log("electron smoke test skipped: Electron's binary is not installed (offline install)");
else if (noDisplay) console.log('electron smoke test skipped: no display (DISPLAY and WAYLAND_DISPLAY are unset; run it under xvfb-run)');

// The page's globals, typed for this file (it is compiled without the DOM library). Functions
// passed to page.evaluate run in the page: they can use nothing from this file's scope.
type PageGlobals = {
  poolscope?: PoolscopeBridge;
  open(url: string): unknown;
  location: { href: string };
  require?: unknown;
  process?: unknown;
  __marker?: number;
};

describe.skipIf(!binary || noDisplay)('electron shell', () => {
  let app: ElectronApplication;
  let page: Page;
  let dataDir: string | null = null;
  let args: string[] = [];
  let launchEnv: Record<string, string> = {};
  let attachFile = '';

  beforeAll(async () => {
    // Always build: main/electron and the preload are not covered by the e2e build check.
    execFileSync(process.execPath, [join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });

    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    delete env.ELECTRON_RUN_AS_NODE; // would run our main script as plain Node
    // The e2e project's global setup runs one embedded PostgreSQL: point the app at it. Without
    // it the app starts its own embedded database, in a throwaway data dir.
    const pgUrl = inject('pgUrl') as string | undefined;
    if (pgUrl) env.POOLSCOPE_TARGET = pgUrl;
    else {
      delete env.POOLSCOPE_TARGET;
      dataDir = mkdtempSync(join(tmpdir(), 'poolscope-electron-e2e-'));
      env.POOLSCOPE_DATA_DIR = dataDir;
    }
    // As root, Chromium starts only without its process sandbox, and Electron checks that before
    // our main script runs, so the switch must come from the command line.
    args = process.getuid?.() === 0 ? ['--no-sandbox', ROOT] : [ROOT];
    attachFile = join(mkdtempSync(join(tmpdir(), 'poolscope-electron-attach-')), 'attach.json');
    env.POOLSCOPE_ATTACH_FILE = attachFile;
    launchEnv = env;
    app = await _electron.launch({ executablePath: binary!, args, cwd: ROOT, env, timeout: 60_000 });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });

  afterAll(async () => {
    // close() quits: before-quit stops the engine (and an embedded database) before exiting.
    await app?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('loads the UI from app://poolscope/', () => {
    expect(page.url()).toBe(APP_URL);
  });

  it('receives attached apps: the attach file names its loopback port, readable by the user only', async () => {
    await expect.poll(() => existsSync(attachFile), { timeout: 10_000 }).toBe(true);
    const file = JSON.parse(readFileSync(attachFile, 'utf8')) as { port?: unknown; token?: unknown };
    expect(file.port).toEqual(expect.any(Number));
    expect(file.token).toEqual(expect.any(String));
    expect(statSync(attachFile).mode & 0o077).toBe(0);
  });

  it('keeps the secure webPreferences', async () => {
    const prefs = await app.evaluate(({ BrowserWindow }) => {
      const contents = BrowserWindow.getAllWindows()[0]?.webContents as unknown as { getLastWebPreferences?: () => Record<string, unknown> | null };
      // Undocumented but present (Electron's own code uses it); null if it ever goes away.
      const p = contents.getLastWebPreferences?.() ?? null;
      return p && { contextIsolation: p.contextIsolation, sandbox: p.sandbox, nodeIntegration: p.nodeIntegration, webSecurity: p.webSecurity };
    });
    expect(prefs).toEqual({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    // The same, seen from the page: no Node in the main world.
    const fromPage = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return [typeof g.require, typeof g.process];
    });
    expect(fromPage).toEqual(['undefined', 'undefined']);
  });

  it('refuses window.open', async () => {
    const opened = await page.evaluate(() => (globalThis as unknown as PageGlobals).open('https://example.com/'));
    expect(opened).toBeNull();
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
  });

  it('refuses to navigate to another origin', async () => {
    await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      g.__marker = 42;
      g.location.href = 'https://example.com/';
    });
    await page.waitForTimeout(500);
    const url = await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]?.webContents.getURL());
    expect(url).toBe(APP_URL);
    // Still the same document, not a reload of it.
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__marker)).toBe(42);
  });

  it('exposes only version, invoke, subscribe and capturePage', async () => {
    const shape = await page.evaluate(() => {
      const bridge = (globalThis as unknown as PageGlobals).poolscope;
      return bridge && { keys: Object.keys(bridge).sort(), frozen: Object.isFrozen(bridge), version: bridge.version };
    });
    expect(shape).toEqual({ keys: ['capturePage', 'invoke', 'subscribe', 'version'], frozen: true, version: expect.any(String) });
  });

  it('has a menu without DevTools or reload, and DevTools cannot be opened', async () => {
    const menu = await app.evaluate(({ BrowserWindow, Menu }) => {
      const roles: string[] = [];
      const walk = (items: Electron.MenuItem[]) => {
        for (const i of items) {
          if (i.role) roles.push(i.role);
          if (i.submenu) walk(i.submenu.items);
        }
      };
      walk(Menu.getApplicationMenu()?.items ?? []);
      const contents = BrowserWindow.getAllWindows()[0]?.webContents;
      contents?.openDevTools();
      return { roles, devTools: contents?.isDevToolsOpened() ?? null };
    });
    expect(menu.roles.map((r) => r.toLowerCase())).not.toContain('toggledevtools');
    expect(menu.roles.map((r) => r.toLowerCase())).not.toContain('reload');
    expect(menu.roles.map((r) => r.toLowerCase())).toContain('editmenu');
    expect(menu.devTools).toBe(false);
  });

  it('a second launch hands over to the running window and exits', async () => {
    const second = spawn(binary!, args, { cwd: ROOT, env: launchEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    second.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = (await once(second, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(out).toContain('Poolscope is already running');
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
  });

  it('answers snapshot.get, refuses a bad request and streams batches', async () => {
    // snapshot.get answers while the engine starts; wait until it has a pool (or gave up).
    let snapshot: Snapshot | null = null;
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await page.waitForTimeout(250)) {
      const reply = await page.evaluate(() => (globalThis as unknown as PageGlobals).poolscope!.invoke('snapshot.get'));
      expect(reply.ok).toBe(true);
      snapshot = (reply as Extract<Reply<{ seq: number; snapshot: Snapshot }>, { ok: true }>).res.snapshot;
      if (snapshot.activePoolId !== null || snapshot.targetError !== null) break;
    }
    expect(snapshot?.targetError ?? null).toBeNull();
    expect(snapshot?.activePoolId).not.toBeNull();

    const bad = await page.evaluate(() => (globalThis as unknown as PageGlobals).poolscope!.invoke('no.such.command'));
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad-request' } });

    const streamed = await page.evaluate(async () => {
      const bridge = (globalThis as unknown as PageGlobals).poolscope!;
      const batches: Batch[] = [];
      const off = bridge.subscribe((b) => batches.push(b));
      const started = await bridge.invoke('load.start', { concurrency: 1, query: 'select1' });
      for (let i = 0; i < 100 && batches.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      const stopped = await bridge.invoke('load.stop');
      off();
      return { started: started.ok, stopped: stopped.ok, batches: batches.length, events: batches[0]?.events.length ?? 0 };
    });
    expect(streamed).toMatchObject({ started: true, stopped: true });
    expect(streamed.batches).toBeGreaterThan(0);
    expect(streamed.events).toBeGreaterThan(0);
  }, 120_000);
});

// The fuses the packaged app ships with, flipped on a copy of the real executable and read back
// (scripts/electron-fuses.ts). No display needed: the copy is not run.
describe.skipIf(!binary)('electron fuses on the real binary', () => {
  it('flips every fuse to its chosen value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'poolscope-fuses-e2e-'));
    try {
      const copy = join(dir, 'electron');
      await copyFile(binary!, copy);
      const { applyFuses } = await import('../../scripts/electron-fuses');
      expect(await applyFuses(copy)).toMatchObject({ RunAsNode: false, EnableNodeOptionsEnvironmentVariable: false, EnableNodeCliInspectArguments: false, OnlyLoadAppFromAsar: true, EnableEmbeddedAsarIntegrityValidation: true, EnableCookieEncryption: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
