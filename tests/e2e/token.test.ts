import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SOCKET_LIMITS } from '../../main/web/socket-hub';
import { type App, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';

// The token must not travel to any other local server: browsers send cookies to every port
// of a host, so the browser host keeps none. The token comes in the URL's fragment (never
// sent), lives in the tab's sessionStorage (this origin only) and is proven on the socket.

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

describe.skipIf(!chromiumAvailable)('the browser host token in Chromium', () => {
  let app: App;
  let other: http.Server;
  let otherOrigin = '';
  const seen: Seen[] = [];

  beforeAll(async () => {
    // Another local web server, as a developer has a few: it keeps every request it gets.
    other = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<!doctype html><title>another local server</title><img src="/pixel.png">');
      });
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    app = await openApp({ settings: { max: 4 } });
  });

  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => other?.close(resolve));
  });

  const connected = (page = app.page) => page.getByTestId('target-summary').filter({ hasText: 'poolscope_demo' }).waitFor({ timeout: 15_000 });

  it('takes the token out of the address bar and keeps no cookie', async () => {
    const { page, host } = app;
    expect(page.url()).toBe(`${host.origin}/`);
    expect(await page.evaluate('document.cookie')).toBe('');
    expect((await page.context().cookies()).length).toBe(0);
    expect(await page.evaluate("sessionStorage.getItem('poolscope.token')")).toBe(app.host.token);
  });

  it('sends another server on 127.0.0.1 nothing of the token, and the app still works after a reload', async () => {
    const { page, host } = app;
    await page.goto(`${otherOrigin}/from-the-app`);
    // The other server's own page: what a script of it can read, and what its requests carry.
    // (Expressions as text: this file is not compiled with the DOM's types.)
    expect(await page.evaluate('[document.cookie, sessionStorage.length, localStorage.length]')).toEqual(['', 0, 0]);
    await page.evaluate("fetch('/fetched', { credentials: 'include' }).then(() => fetch('/posted', { method: 'POST', credentials: 'include', body: 'x' })).then(() => null)");
    await expect.poll(() => seen.map((s) => s.url), { timeout: 5_000 }).toEqual(expect.arrayContaining(['/from-the-app', '/pixel.png', '/fetched', '/posted']));
    for (const s of seen) {
      const names = s.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      expect(names, s.url).not.toContain('cookie');
      expect(JSON.stringify(s), s.url).not.toContain(host.token);
    }

    await page.goBack();
    await connected();
    await page.reload();
    await connected();
    expect(page.url()).toBe(`${host.origin}/`);
    await page.getByTestId('control-load-start').click();
    await expect.poll(() => app.service.engine.log.live.load?.running ?? false, { timeout: 5_000 }).toBe(true);
    await page.getByTestId('control-load-stop').click();
    await expect.poll(() => app.service.engine.log.live.load?.running ?? true, { timeout: 5_000 }).toBe(false);
  });

  it('a new tab without the printed URL connects nothing and says what to open', async () => {
    const tab = await app.browser.newPage();
    try {
      await tab.goto(`${app.host.origin}/`);
      const banner = tab.getByTestId('banner').filter({ hasText: 'Not connected to Poolscope.' });
      await banner.waitFor({ timeout: 10_000 });
      expect(await banner.textContent()).toContain('This page has no token: open the URL Poolscope printed at start');
      await expect.poll(() => app.host.clients, { timeout: 5_000 }).toBe(1);
    } finally {
      await tab.close();
    }
  });

  it(`past ${SOCKET_LIMITS.maxClients} connections, a page says why it waits, and gets in once one closes`, async () => {
    const max = SOCKET_LIMITS.maxClients;
    const others: WebSocket[] = [];
    for (let i = others.length + app.host.clients; i < max; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${app.host.port}/ws`);
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ token: app.host.token }));
      others.push(ws);
    }
    await expect.poll(() => app.host.clients, { timeout: 5_000 }).toBe(max);
    const tab = await app.browser.newPage();
    try {
      await tab.goto(app.host.url);
      const banner = tab.getByTestId('banner').filter({ hasText: 'Reconnecting' });
      await banner.waitFor({ timeout: 10_000 });
      expect(await banner.textContent()).toContain(`Poolscope serves ${max} connections at most, and ${max} are open: close a tab to let this one in.`);
      others.pop()?.close();
      // The page retries with backoff (at most 5 s apart).
      await connected(tab);
      await banner.waitFor({ state: 'detached', timeout: 10_000 });
    } finally {
      await tab.close();
      for (const ws of others) ws.close();
    }
  });
});
