import { join } from 'node:path';
import { app, BrowserWindow, Menu, session } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp';
import { messageOf } from '../engine/errors';
import { APP_URL, registerAppScheme, serveApp } from './app-protocol';
import { EngineHost } from './engine-host';
import { attachWindow, handleCaptures, handleInvokes } from './ipc';
import { menuTemplate } from './menu';

// The Electron shell: one secure window on app://poolscope/, the engine service behind IPC.
//
//   electron . [--target URL]      (or POOLSCOPE_TARGET=URL; neither: embedded PostgreSQL)
//
// Prefer POOLSCOPE_TARGET for a URL with a password: command lines are visible to every user
// of the machine (ps). Messages never show it (the engine scrubs them).
// POOLSCOPE_DEVTOOLS=1 (an unpacked app only) brings back DevTools and Reload for development.

const RENDERER_DIR = join(import.meta.dirname, '../renderer');
const PRELOAD = join(import.meta.dirname, '../preload/preload.cjs');
const STOP_LIMIT_MS = 10_000;

// Chromium refuses to start as root unless its process sandbox is off, and Electron checks
// that before any JavaScript runs: whoever launches us as root must pass --no-sandbox, and
// app.commandLine.appendSwitch('no-sandbox') from here would come too late to matter.
// So if we run as root, the sandbox is already off: say so, once. The renderers keep
// sandbox: true (sandboxed preload, no Node), contextIsolation and the rest; only the OS-level
// jail around the processes is gone.
if (process.platform === 'linux' && process.getuid?.() === 0) {
  console.warn("poolscope: running as root, so Chromium's process sandbox is off (--no-sandbox); run as a normal user to keep it.");
}

/** --target URL, --target=URL, else POOLSCOPE_TARGET; undefined: the embedded PostgreSQL. */
function targetOption(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--target') {
      const value = argv[i + 1];
      if (!value || value.startsWith('--')) {
        console.error('poolscope: --target needs a URL, e.g. --target postgres://user@localhost:5432/db');
        app.exit(2);
        return undefined;
      }
      return value;
    }
    if (arg.startsWith('--target=')) return arg.slice('--target='.length);
  }
  return env.POOLSCOPE_TARGET || undefined;
}

const target = targetOption(process.argv, process.env);

// One Poolscope window per user (per userData dir): a second launch hands over to the running
// one, which comes to the front, and exits without starting an engine (it would meet the
// first's embedded database, which the data dir lock refuses anyway). Its --target is not
// applied to the running window: switch targets there.
const primary = app.requestSingleInstanceLock();
if (!primary) {
  console.log('poolscope: Poolscope is already running; its window is brought to the front.');
  app.exit(0);
}
app.on('second-instance', () => {
  const win = BrowserWindow.getAllWindows()[0];
  if (!win) return;
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
});

// DevTools only for a developer who asks, in an unpacked app; never in a packaged one.
const devTools = !app.isPackaged && process.env.POOLSCOPE_DEVTOOLS === '1';

// Before ready: app:// must be privileged (standard, secure) before any session exists.
registerAppScheme();

function lockDownSession(): void {
  const ses = session.defaultSession;
  // app:// responses carry the CSP themselves (app-protocol.ts); this covers anything else.
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  // The UI needs no camera, notifications, clipboard, ...: refuse requests and checks alike.
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
}

// Applies to every webContents, so a frame or a future window cannot escape the app either:
// no navigation (the page is a single document), no webviews, no new windows (window.open,
// target=_blank, middle-click).
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('render-process-gone', (_e, details) => console.error(`poolscope: the window's renderer is gone (${details.reason}).`));
});

let host: EngineHost | null = null;

function createWindow(engine: EngineHost): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'Poolscope',
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      devTools,
    },
  });
  attachWindow(win.webContents, engine);
  win.loadURL(APP_URL).catch((error: unknown) => fatal(`could not load the UI: ${messageOf(error)}`));
}

/** Stops the engine (load, pool, embedded database), giving up after STOP_LIMIT_MS. */
async function stopEngine(): Promise<void> {
  if (!host) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), STOP_LIMIT_MS);
  });
  try {
    const how = await Promise.race([host.stop().then(() => 'stopped' as const), late]);
    if (how === 'late') console.error(`poolscope: the engine did not stop within ${STOP_LIMIT_MS / 1000} s; quitting anyway.`);
  } catch (error) {
    console.error(`poolscope: while stopping: ${messageOf(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

let exiting = false;

/** Exits with status 1 after stopping the engine: app.exit() alone would skip before-quit. */
function fatal(message: string): void {
  console.error(`poolscope: ${message}`);
  if (exiting) return;
  exiting = true;
  void stopEngine().finally(() => app.exit(1));
}

// Quit (last window closed, Cmd+Q, a signal) waits for the engine to stop: the embedded
// PostgreSQL must not outlive us. The first before-quit is cancelled, the stop runs once, and
// the quit resumes when it is done (or after STOP_LIMIT_MS).
let quitting: 'no' | 'stopping' | 'done' = 'no';
app.on('before-quit', (event) => {
  if (quitting === 'done' || !host) return;
  event.preventDefault();
  if (quitting === 'stopping') return;
  quitting = 'stopping';
  void stopEngine().finally(() => {
    quitting = 'done';
    app.quit();
  });
});

app.on('window-all-closed', () => app.quit());

// Ctrl+C in the terminal, or `kill`: the same clean quit as closing the window. A second
// signal while the engine stops exits at once (an embedded database may then be left running).
let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  if (++signals === 1) return app.quit();
  console.error(`poolscope: ${signal} again, exiting without waiting for the engine to stop.`);
  app.exit(1);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

app
  .whenReady()
  .then(() => {
    if (!primary) return;
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(process.platform, devTools)));
    lockDownSession();
    serveApp(session.defaultSession, RENDERER_DIR);
    // The engine starts now and the window loads meanwhile: the page shows the start's progress
    // (snapshot.get answers at once; other commands say 'starting' until the pool is up).
    host = new EngineHost(target, join(app.getPath('userData'), 'saved-targets.json'), join(app.getPath('userData'), 'known_hosts'));
    handleInvokes(host);
    handleCaptures();
    createWindow(host);
  })
  .catch((error: unknown) => fatal(messageOf(error)));
