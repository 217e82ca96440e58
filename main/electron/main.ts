import { join } from 'node:path';
import { app, BrowserWindow, session } from 'electron';

// Same policy as the meta tag in renderer/index.html. The header is the one that counts for
// frame-ancestors, which browsers ignore in a meta tag.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

function lockDownSession(): void {
  const ses = session.defaultSession;
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  // The UI needs no camera, notifications, clipboard, ...: refuse requests and checks alike.
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
}

// Applies to every webContents, so a frame or a future window cannot escape the app either.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'Poolscope',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  win.loadFile(join(import.meta.dirname, '../renderer/index.html')).catch((error: unknown) => {
    console.error(`poolscope: could not load the UI: ${String(error)}`);
    app.exit(1);
  });
}

app.on('window-all-closed', () => app.quit());

app
  .whenReady()
  .then(() => {
    lockDownSession();
    createWindow();
  })
  .catch((error: unknown) => {
    console.error(`poolscope: ${String(error)}`);
    app.exit(1);
  });
