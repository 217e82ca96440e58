import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import type { Batch, Reply, ServerMessage } from '../../shared/api';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { type WebHost, WebHostError, startWebHost } from '../../main/web/web-host';
import { type ConnectionState, TransportError, createWsTransport, isReconnectGap } from '../../renderer/src/lib/transport/ws-transport';

// The host serves a fixture directory rather than out/renderer: the test does not depend on
// (or race with) a build, and the fixture holds what a build does not: one file of each
// content type, a dot-file, a symbolic link that leads outside, and a secret next door.
// That the real build uses relative asset URLs is checked by the end-to-end suite.

const SECRET = 'the-secret-next-to-the-root';
const NEEDS_TOKEN = /this URL needs the token printed at start/;

let tmp: string;
let root: string;
let engine: Engine;
let service: PoolscopeService;
let host: WebHost;
let cookie: string;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP request: the path goes out as written (fetch would normalize `..`) and Host can be set. */
function request(pathAsIs: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: host.port, path: pathAsIs, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

const withCookie = (headers: Record<string, string> = {}) => ({ headers: { Cookie: cookie, ...headers } });

/** Opens a socket; resolves with it once open, or with the HTTP status that refused the upgrade. */
function openSocket(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; status?: undefined } | { ws?: undefined; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    ws.once('error', reject);
  });
}

/** A socket with request/reply and the batches it received. */
class Client {
  readonly ws: WebSocket;
  readonly batches: Batch[] = [];
  #nextId = 1;
  readonly #pending = new Map<number, (m: { id: number } & Reply<unknown>) => void>();

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as ServerMessage;
      if ('batch' in msg) this.batches.push(msg.batch);
      else this.#pending.get(msg.id)?.(msg);
    });
  }

  static async open(url = `ws://127.0.0.1:${host.port}/ws?token=${host.token}`): Promise<Client> {
    const r = await openSocket(url);
    if (!r.ws) throw new Error(`upgrade refused: ${r.status}`);
    return new Client(r.ws);
  }

  call(cmd: string, req?: unknown): Promise<{ id: number } & Reply<unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, cmd, req }));
    });
  }

  closed(): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  async waitForBatch(pred: (b: Batch) => boolean, timeoutMs = 10_000): Promise<Batch> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.batches.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching batch within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'poolscope-web-'));
  root = path.join(tmp, 'renderer');
  await mkdir(path.join(root, 'assets'), { recursive: true });
  await writeFile(path.join(tmp, 'secret.txt'), SECRET);
  await writeFile(path.join(root, 'index.html'), '<!doctype html><title>Poolscope</title><script type="module" src="./assets/app.js"></script>');
  await writeFile(path.join(root, '.env'), SECRET);
  const assets: Record<string, string> = { 'app.js': 'export {};', 'app.css': 'body{}', 'logo.svg': '<svg/>', 'logo.png': 'png', 'font.woff2': 'woff2', 'data.json': '{}' };
  for (const [name, body] of Object.entries(assets)) await writeFile(path.join(root, 'assets', name), body);
  await symlink(path.join(tmp, 'secret.txt'), path.join(root, 'assets', 'escape.txt'));

  engine = await Engine.start({ target: inject('pgUrl') });
  service = new PoolscopeService(engine);
  host = await startWebHost({ service, root });
  const login = await request(`/?token=${host.token}`);
  cookie = (login.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
});

afterAll(async () => {
  await host?.close();
  await service?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('browser host: HTTP', () => {
  it('listens on 127.0.0.1 only', async () => {
    expect(host.origin).toBe(`http://127.0.0.1:${host.port}`);
    expect(host.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${host.port}/\\?token=[A-Za-z0-9_-]{32}$`));
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal)
      .map((a) => a!.address);
    for (const address of ['::1', ...others]) {
      const reached = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: address, port: host.port });
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      expect(reached, `reachable on ${address}`).toBe(false);
    }
  });

  it('refuses the page without the token, or with a wrong one', async () => {
    for (const p of ['/', '/index.html', '/?token=', `/?token=${host.token.slice(0, -1)}x`, `/?token=${host.token}x`]) {
      const r = await request(p);
      expect(r.status, p).toBe(403);
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      expect(r.body).toMatch(NEEDS_TOKEN);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    expect((await request('/', { headers: { Cookie: `poolscope-${host.port}=nope` } })).status).toBe(403);
  });

  it('trades the token for an HttpOnly SameSite=Strict cookie, then serves the page with its headers', async () => {
    const login = await request(`/?token=${host.token}`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    expect(login.headers['set-cookie']).toEqual([`poolscope-${host.port}=${host.token}; HttpOnly; SameSite=Strict; Path=/`]);
    expect(login.headers['cache-control']).toBe('no-store');

    const page = await request('/', withCookie());
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<title>Poolscope</title>');
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-store');

    const head = await request('/', { method: 'HEAD', ...withCookie() });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(page.body));
  });

  it('serves assets with the cookie only, each with its content type', async () => {
    expect((await request('/assets/app.js')).status).toBe(403);
    const types: Record<string, string> = {
      'app.js': 'text/javascript; charset=utf-8',
      'app.css': 'text/css; charset=utf-8',
      'logo.svg': 'image/svg+xml',
      'logo.png': 'image/png',
      'font.woff2': 'font/woff2',
      'data.json': 'application/json; charset=utf-8',
    };
    for (const [name, type] of Object.entries(types)) {
      const r = await request(`/assets/${name}`, withCookie());
      expect(r.status, name).toBe(200);
      expect(r.headers['content-type'], name).toBe(type);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('never leaves the root: traversal, encoded traversal, symbolic links, dot-files, directories', async () => {
    const paths = [
      '/../secret.txt',
      '/../package.json',
      '/assets/../../secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '/assets/%2e%2e%5c%2e%2e%5csecret.txt',
      '/assets/escape.txt',
      '/.env',
      '/assets/',
      '/assets',
      '/%00',
      '/%E0%A4%A',
      `/${encodeURIComponent(path.join(tmp, 'secret.txt'))}`,
      '//etc/passwd',
    ];
    for (const p of paths) {
      const r = await request(p, withCookie());
      expect([400, 403, 404], `${p} → ${r.status}`).toContain(r.status);
      expect(r.body, p).not.toContain(SECRET);
    }
  });

  it('refuses other Host headers (DNS rebinding) and methods other than GET and HEAD', async () => {
    const evil = await request('/', withCookie({ Host: 'evil.example' }));
    expect(evil.status).toBe(403);
    expect(evil.body).toMatch(/only answers to 127\.0\.0\.1/);
    expect((await request('/', withCookie({ Host: `evil.example:${host.port}` }))).status).toBe(403);
    expect((await request('/', withCookie({ Host: `localhost:${host.port}` }))).status).toBe(200);
    const post = await request('/', { method: 'POST', ...withCookie() });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });
});

describe('browser host: WebSocket', () => {
  const wsUrl = () => `ws://127.0.0.1:${host.port}/ws`;

  it('refuses the upgrade with 403 without a valid token, from another origin or another host', async () => {
    const cases: [string, Record<string, string>][] = [
      [wsUrl(), {}],
      [`${wsUrl()}?token=wrong`, {}],
      [wsUrl(), { Cookie: `poolscope-${host.port}=wrong` }],
      [`${wsUrl()}?token=${host.token}`, { Origin: 'http://evil.example' }],
      [`${wsUrl()}?token=${host.token}`, { Origin: `http://localhost:${host.port + 1}` }],
      [`${wsUrl()}?token=${host.token}`, { Host: 'evil.example' }],
    ];
    for (const [url, headers] of cases) {
      const r = await openSocket(url, headers);
      expect(r.ws, `${url} ${JSON.stringify(headers)} was accepted`).toBeUndefined();
      expect(r.status).toBe(403);
    }
    const none = await openSocket(wsUrl());
    expect(none.status === 403 && none.body).toMatch(NEEDS_TOKEN);
  });

  it('accepts the cookie from the page, with the page as Origin', async () => {
    const r = await openSocket(wsUrl(), { Cookie: cookie, Origin: host.origin });
    expect(r.status).toBeUndefined();
    r.ws?.close();
  });

  it('answers snapshot.get with a snapshot that has the active pool', async () => {
    const c = await Client.open();
    const reply = await c.call('snapshot.get');
    expect(reply.ok).toBe(true);
    const { seq, snapshot } = (reply as { res: { seq: number; snapshot: { activePoolId: string; pools: Record<string, unknown>; seq: number } } }).res;
    expect(snapshot.activePoolId).toBe(engine.pool.id);
    expect(snapshot.pools[engine.pool.id]).toBeDefined();
    expect(seq).toBe(snapshot.seq);
    c.ws.close();
  });

  it('refuses an invalid command with a message naming the field', async () => {
    const c = await Client.open();
    const bad = await c.call('load.start', { concurrency: -1, query: 'select1' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(bad.ok === false && bad.error.message).toMatch(/concurrency/);
    const unknown = await c.call('drop.everything');
    expect(unknown).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    c.ws.close();
  });

  it('sends batches of events after load.start, then stops with load.stop', async () => {
    const c = await Client.open();
    expect(await c.call('load.start', { concurrency: 2, query: 'select1' })).toMatchObject({ ok: true });
    const batch = await c.waitForBatch((b) => b.events.some((e) => e.type === 'borrower.acquired'));
    expect(batch.from).toBeLessThanOrEqual(batch.to);
    expect(c.batches.some((b) => b.events.some((e) => e.type === 'load.changed'))).toBe(true);
    // Consecutive batches follow each other: no gap for a client that keeps up.
    for (let i = 1; i < c.batches.length; i++) expect(c.batches[i]!.from).toBe(c.batches[i - 1]!.to + 1);
    expect(await c.call('load.stop')).toMatchObject({ ok: true });
    await c.waitForBatch((b) => b.events.some((e) => e.type === 'load.changed' && !e.running));
    c.ws.close();
  });

  it('closes with a clear reason on malformed messages, and keeps serving others', async () => {
    const cases: [string | Buffer, number, RegExp][] = [
      ['{not json', 1007, /not valid JSON/],
      ['[1,2]', 1008, /expected a JSON object/],
      ['{"cmd":"snapshot.get"}', 1008, /expected a JSON object/],
      [Buffer.from([1, 2, 3]), 1003, /not binary/],
    ];
    for (const [data, code, reason] of cases) {
      const c = await Client.open();
      const closed = c.closed();
      c.ws.send(data, { binary: Buffer.isBuffer(data) });
      const got = await closed;
      expect(got.code, String(data)).toBe(code);
      expect(got.reason).toMatch(reason);
    }
    const big = await Client.open();
    const closed = big.closed();
    big.ws.send(JSON.stringify({ id: 1, cmd: 'snapshot.get', req: 'x'.repeat(1_100_000) }));
    expect((await closed).code).toBe(1009);

    const c = await Client.open();
    expect(await c.call('snapshot.get')).toMatchObject({ ok: true });
    c.ws.close();
  });
});

describe('renderer WebSocket transport against the host', () => {
  it('invokes, rejects with a code, receives batches, and after a drop reconnects with a gap', async () => {
    const url = `ws://127.0.0.1:${host.port}/ws?token=${host.token}`;
    const t = createWsTransport(url, { WebSocket: WebSocket as unknown as new (url: string) => globalThis.WebSocket, minDelayMs: 50, maxDelayMs: 200 });
    const states: ConnectionState[] = [];
    t.onState((s) => states.push(s));
    const batches: Batch[] = [];
    t.subscribe((b) => batches.push(b));
    try {
      // Sent before the socket opens: queued, then answered.
      const first = await t.invoke('snapshot.get', undefined);
      expect(first.snapshot.activePoolId).toBe(engine.pool.id);
      expect(t.state).toBe('open');

      const err = await t.invoke('load.start', { concurrency: -1, query: 'select1' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransportError);
      expect(err).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/concurrency/) });

      await t.invoke('load.start', { concurrency: 1, query: 'select1' });
      await expect.poll(() => batches.length, { timeout: 10_000 }).toBeGreaterThan(0);
      await t.invoke('load.stop', undefined);

      // The host goes away and comes back on the same port with the same token.
      const { port, token } = host;
      await host.close();
      await expect.poll(() => t.state).toBe('reconnecting');
      host = await startWebHost({ service, root, port, token });
      await expect.poll(() => t.state, { timeout: 10_000 }).toBe('open');
      expect(batches.some(isReconnectGap)).toBe(true);
      expect((await t.invoke('snapshot.get', undefined)).snapshot.activePoolId).toBe(engine.pool.id);
      expect(states).toEqual(['open', 'reconnecting', 'open']);
    } finally {
      t.close();
    }
    expect(t.state).toBe('closed');
    await expect(t.invoke('snapshot.get', undefined)).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('says what to do when the UI is not built or the port is taken', async () => {
    await expect(startWebHost({ service, root: path.join(tmp, 'nowhere') })).rejects.toThrow(/run npm run build first/);
    const err = await startWebHost({ service, root, port: host.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebHostError);
    expect((err as Error).message).toMatch(new RegExp(`port ${host.port} is in use`));
  });
});
