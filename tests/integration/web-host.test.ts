import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { type Batch, CLOSE_TOKEN_REFUSED, type Reply, type ServerMessage } from '../../shared/api';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { SOCKET_LIMITS } from '../../main/web/socket-hub';
import { type WebHost, WebHostError, startWebHost } from '../../main/web/web-host';
import { type ConnectionState, TransportError, createWsTransport, isReconnectGap } from '../../renderer/src/lib/transport/ws-transport';

// The host serves a fixture directory rather than out/renderer: the test does not depend on
// (or race with) a build, and the fixture holds what a build does not: one file of each
// content type, a dot-file, a symbolic link that leads outside, and a secret next door.
// That the real build uses relative asset URLs is checked by the end-to-end suite.

const SECRET = 'the-secret-next-to-the-root';

let tmp: string;
let root: string;
let engine: Engine;
let service: PoolscopeService;
let host: WebHost;

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

const wsUrl = (h: WebHost = host) => `ws://127.0.0.1:${h.port}/ws`;

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

/** A socket with every message it received, request/reply, and its close. */
class Client {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextId = 1;
  readonly #pending = new Map<number, (m: { id: number } & Reply<unknown>) => void>();

  constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as ServerMessage;
      this.messages.push(msg);
      if ('id' in msg) this.#pending.get(msg.id)?.(msg);
    });
  }

  get batches(): Batch[] {
    return this.messages.flatMap((m) => ('batch' in m ? [m.batch] : []));
  }

  /** A socket that is open but has not said anything yet. */
  static async connect(h: WebHost = host, headers: Record<string, string> = {}): Promise<Client> {
    const r = await openSocket(wsUrl(h), headers);
    if (!r.ws) throw new Error(`upgrade refused: ${r.status}`);
    return new Client(r.ws);
  }

  /** A socket whose token the host accepted. */
  static async open(h: WebHost = host, headers: Record<string, string> = {}): Promise<Client> {
    const c = await Client.connect(h, headers);
    c.ws.send(JSON.stringify({ token: h.token }));
    await c.until((m) => 'ready' in m, 5_000);
    return c;
  }

  call(cmd: string, req?: unknown): Promise<{ id: number } & Reply<unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, cmd, req }));
    });
  }

  async until(pred: (m: ServerMessage) => boolean, timeoutMs = 10_000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching message within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  waitForBatch(pred: (b: Batch) => boolean, timeoutMs = 10_000): Promise<ServerMessage> {
    return this.until((m) => 'batch' in m && pred(m.batch), timeoutMs);
  }
}

/** Runs `fn` with the pool busy, so that a client that was sent batches would have some. */
async function underLoad<T>(fn: () => Promise<T>): Promise<T> {
  const started = await service.handle('load.start', { concurrency: 2, query: 'select1' });
  expect(started).toMatchObject({ ok: true });
  try {
    return await fn();
  } finally {
    await service.handle('load.stop', undefined);
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
});

afterAll(async () => {
  await host?.close();
  await service?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('browser host: HTTP', () => {
  it('listens on 127.0.0.1 only, and its URL carries the token in the fragment (never sent to a server)', async () => {
    expect(host.origin).toBe(`http://127.0.0.1:${host.port}`);
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/#token=${host.token}`);
    expect(host.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
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

  it('serves the page with its headers and sets no cookie, token or not', async () => {
    for (const p of ['/', '/index.html', `/?token=${host.token}`, '/?token=wrong']) {
      const page = await request(p);
      expect(page.status, p).toBe(200);
      expect(page.headers['set-cookie'], p).toBeUndefined();
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.body).toContain('<title>Poolscope</title>');
      expect(page.body).not.toContain(host.token);
      expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['referrer-policy']).toBe('no-referrer');
      expect(page.headers['cache-control']).toBe('no-store');
    }
    const page = await request('/');
    const head = await request('/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(page.body));
  });

  it('serves assets, each with its content type', async () => {
    const types: Record<string, string> = {
      'app.js': 'text/javascript; charset=utf-8',
      'app.css': 'text/css; charset=utf-8',
      'logo.svg': 'image/svg+xml',
      'logo.png': 'image/png',
      'font.woff2': 'font/woff2',
      'data.json': 'application/json; charset=utf-8',
    };
    for (const [name, type] of Object.entries(types)) {
      const r = await request(`/assets/${name}`);
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
      const r = await request(p);
      expect([400, 403, 404], `${p} → ${r.status}`).toContain(r.status);
      expect(r.body, p).not.toContain(SECRET);
    }
  });

  it('refuses other Host headers (DNS rebinding) and methods other than GET and HEAD', async () => {
    const evil = await request('/', { headers: { Host: 'evil.example' } });
    expect(evil.status).toBe(403);
    expect(evil.body).toMatch(/only answers to 127\.0\.0\.1/);
    expect((await request('/', { headers: { Host: `evil.example:${host.port}` } })).status).toBe(403);
    expect((await request('/', { headers: { Host: `localhost:${host.port}` } })).status).toBe(200);
    const post = await request('/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });
});

describe('browser host: WebSocket', () => {
  it('refuses the upgrade with 403 from another origin or another host', async () => {
    const cases: Record<string, string>[] = [{ Origin: 'http://evil.example' }, { Origin: `http://localhost:${host.port + 1}` }, { Origin: `http://127.0.0.1:${host.port + 1}` }, { Host: 'evil.example' }];
    for (const headers of cases) {
      const r = await openSocket(wsUrl(), headers);
      expect(r.ws, `${JSON.stringify(headers)} was accepted`).toBeUndefined();
      expect(r.status).toBe(403);
    }
  });

  it('a socket that never sends its token gets nothing and is closed', async () => {
    const c = await Client.connect();
    const closed = await underLoad(() => c.closed);
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/no token within 3 s/);
    expect(c.messages).toEqual([]);
  });

  it('refuses a wrong token (4401): no reply, no batch', async () => {
    for (const token of ['wrong', `${host.token}x`, host.token.slice(0, -1), '']) {
      const c = await Client.connect();
      c.ws.send(JSON.stringify({ token }));
      c.ws.send(JSON.stringify({ id: 1, cmd: 'snapshot.get' }));
      const closed = await underLoad(() => c.closed);
      expect(closed.code, token).toBe(CLOSE_TOKEN_REFUSED);
      expect(closed.reason).toMatch(/wrong token\. Open the URL Poolscope printed at start/);
      expect(c.messages).toEqual([]);
    }
  });

  it('gives a client without an Origin header and without the token nothing: its requests are not read', async () => {
    const firsts: (string | Buffer)[] = [JSON.stringify({ id: 1, cmd: 'snapshot.get' }), JSON.stringify({ id: 1, cmd: 'load.start', req: { concurrency: 50, query: 'select1' } }), '{not json', Buffer.from([1, 2, 3])];
    for (const first of firsts) {
      const c = await Client.connect(); // the ws package sends no Origin
      c.ws.send(first, { binary: Buffer.isBuffer(first) });
      c.ws.send(JSON.stringify({ token: host.token })); // too late: the first message decides
      const closed = await c.closed;
      expect(closed.code, String(first)).toBe(CLOSE_TOKEN_REFUSED);
      expect(closed.reason).toMatch(/the first message must be \{"token": "…"\}/);
      expect(c.messages).toEqual([]);
    }
    expect(engine.log.live.load?.running ?? false).toBe(false);
  });

  it('accepts the token with or without the page as Origin, then answers snapshot.get', async () => {
    const cases: Record<string, string>[] = [{}, { Origin: host.origin }, { Origin: `http://localhost:${host.port}`, Host: `localhost:${host.port}` }];
    for (const headers of cases) {
      const c = await Client.open(host, headers);
      const reply = await c.call('snapshot.get');
      expect(reply.ok).toBe(true);
      const { seq, snapshot } = (reply as { res: { seq: number; snapshot: { activePoolId: string; pools: Record<string, unknown>; seq: number } } }).res;
      expect(snapshot.activePoolId).toBe(engine.pool.id);
      expect(snapshot.pools[engine.pool.id]).toBeDefined();
      expect(seq).toBe(snapshot.seq);
      c.ws.close();
    }
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

  it('sends batches of events after load.start, then stops with load.stop; every client gets the same batches', async () => {
    const [c, other] = [await Client.open(), await Client.open()];
    expect(await c.call('load.start', { concurrency: 2, query: 'select1' })).toMatchObject({ ok: true });
    await c.waitForBatch((b) => b.events.some((e) => e.type === 'borrower.acquired'));
    expect(c.batches.some((b) => b.events.some((e) => e.type === 'load.changed'))).toBe(true);
    expect(await c.call('load.stop')).toMatchObject({ ok: true });
    await c.waitForBatch((b) => b.events.some((e) => e.type === 'load.changed' && !e.running));
    await other.waitForBatch((b) => b.events.some((e) => e.type === 'load.changed' && !e.running));
    // Consecutive batches follow each other: no gap for a client that keeps up.
    for (const x of [c, other]) for (let i = 1; i < x.batches.length; i++) expect(x.batches[i]!.from).toBe(x.batches[i - 1]!.to + 1);
    // The monitor's events flow all the time: c may have one batch before other connected, and
    // either may have one more at the end. Over the span both were connected, they are the same.
    const from = Math.max(c.batches[0]!.from, other.batches[0]!.from);
    const to = Math.min(c.batches.at(-1)!.to, other.batches.at(-1)!.to);
    const span = (x: Client) => x.batches.filter((b) => b.from >= from && b.to <= to);
    expect(span(c).some((b) => b.events.some((e) => e.type === 'load.changed' && !e.running))).toBe(true);
    expect(span(other)).toEqual(span(c));
    c.ws.close();
    other.ws.close();
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
      c.ws.send(data, { binary: Buffer.isBuffer(data) });
      const got = await c.closed;
      expect(got.code, String(data)).toBe(code);
      expect(got.reason).toMatch(reason);
    }
    for (const hello of [false, true]) {
      const big = hello ? await Client.open() : await Client.connect();
      big.ws.send(JSON.stringify({ id: 1, cmd: 'snapshot.get', token: 'x'.repeat(1_100_000) }));
      expect((await big.closed).code).toBe(1009);
    }

    const c = await Client.open();
    expect(await c.call('snapshot.get')).toMatchObject({ ok: true });
    c.ws.close();
  });
});

describe('browser host: how many clients, and how slow', () => {
  it(`serves ${SOCKET_LIMITS.maxClients} sockets at most: the next is closed (1013) saying why; once one leaves, a new one gets in`, async () => {
    await expect.poll(() => host.clients, { timeout: 5_000 }).toBe(0);
    const max = SOCKET_LIMITS.maxClients;
    const open: Client[] = [];
    for (let i = 0; i < max - 1; i++) open.push(await Client.open());
    // A socket without its token yet holds a place too: it is closed within seconds anyway.
    const silent = await Client.connect();
    expect(host.clients).toBe(max - 1);
    for (const tokenToo of [false, true]) {
      const refused = await Client.connect();
      if (tokenToo) refused.ws.send(JSON.stringify({ token: host.token }));
      const closed = await refused.closed;
      expect(closed.code).toBe(1013);
      expect(closed.reason).toBe(`Poolscope serves ${max} connections at most, and ${max} are open: close a tab to let this one in.`);
      expect(refused.messages).toEqual([]);
    }
    expect((await silent.closed).code).toBe(1008);
    const next = await Client.open();
    expect(await next.call('snapshot.get')).toMatchObject({ ok: true });
    expect(host.clients).toBe(max);
    for (const c of [...open, next]) c.ws.close();
    await expect.poll(() => host.clients, { timeout: 5_000 }).toBe(0);
  });

  // A client that does not read: its replies pile up on the host until the hard limit.
  // The kernel's socket buffers take some megabytes first (about 10 MiB here); the host's share is what counts.
  async function floodUntilClosed(h: WebHost, slow: Client, maxBytes: number): Promise<number> {
    const size = Buffer.byteLength(JSON.stringify(await slow.call('snapshot.get')));
    slow.ws.pause();
    let asked = 0;
    while (h.clients > 1 && asked * size < maxBytes) {
      for (let i = 0; i < 50; i++) slow.ws.send(JSON.stringify({ id: 1_000 + asked++, cmd: 'snapshot.get' }));
      await new Promise((r) => setTimeout(r, 20));
    }
    return asked * size;
  }

  it('closes a client whose replies would leave more than the hard limit unsent; the others keep their batches', async () => {
    const h = await startWebHost({ service, root, limits: { hardLimit: 1024 * 1024, slowMs: 60_000 } });
    try {
      const [keeps, slow] = [await Client.open(h), await Client.open(h)];
      const asked = await floodUntilClosed(h, slow, 64 * 1024 * 1024);
      expect(h.clients, `still open after ${(asked / 2 ** 20).toFixed(0)} MiB of replies`).toBe(1);
      slow.ws.resume();
      const closed = await slow.closed;
      // The close frame waits behind the unread bytes; the host cuts the socket a second later.
      expect([1008, 1006]).toContain(closed.code);
      if (closed.code === 1008) expect(closed.reason).toMatch(/not reading \(\d+\.\d MiB unsent\)/);
      const seen = keeps.batches.length;
      await underLoad(() => keeps.waitForBatch(() => keeps.batches.length > seen));
      expect(await keeps.call('snapshot.get')).toMatchObject({ ok: true });
    } finally {
      await h.close();
    }
  });

  it('closes a client that stays over the high-water mark, though under the hard limit', async () => {
    const h = await startWebHost({ service, root, limits: { highWater: 64 * 1024, slowMs: 500, hardLimit: 1024 ** 3 } });
    try {
      const [keeps, slow] = [await Client.open(h), await Client.open(h)];
      const asked = await floodUntilClosed(h, slow, 64 * 1024 * 1024);
      expect(h.clients, `still open after ${(asked / 2 ** 20).toFixed(0)} MiB of replies`).toBe(1);
      slow.ws.resume();
      const closed = await slow.closed;
      expect([1008, 1006]).toContain(closed.code);
      if (closed.code === 1008) expect(closed.reason).toMatch(/stayed \d+\.\d MiB behind for 0\.5 s/);
      expect(await keeps.call('snapshot.get')).toMatchObject({ ok: true });
    } finally {
      await h.close();
    }
  });
});

describe('renderer WebSocket transport against the host', () => {
  const Socket = WebSocket as unknown as new (url: string) => globalThis.WebSocket;

  it('invokes, rejects with a code, receives batches, and after a drop reconnects with a gap', async () => {
    const t = createWsTransport(wsUrl(), { token: host.token, WebSocket: Socket, minDelayMs: 50, maxDelayMs: 200 });
    const states: ConnectionState[] = [];
    t.onState((s) => states.push(s));
    const batches: Batch[] = [];
    t.subscribe((b) => batches.push(b));
    try {
      // Sent before the host accepted the token: queued, then answered.
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
      await expect.poll(() => t.state, { timeout: 10_000 }).toBe('reconnecting');
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

  it('ends with the reason when the host refuses its token (a restarted Poolscope), and opens nothing without one', async () => {
    const t = createWsTransport(wsUrl(), { token: 'from-an-earlier-run', WebSocket: Socket, minDelayMs: 50, maxDelayMs: 200 });
    const pending = t.invoke('snapshot.get', undefined);
    await expect(pending).rejects.toMatchObject({ code: 'disconnected', message: expect.stringMatching(/wrong token/) });
    expect(t.state).toBe('closed');
    expect(t.reason).toMatch(/wrong token\. Open the URL Poolscope printed at start/);

    const none = createWsTransport(wsUrl(), { token: null, WebSocket: Socket });
    expect(none.state).toBe('closed');
    expect(none.reason).toMatch(/no token: open the URL Poolscope printed/);
    await expect(none.invoke('snapshot.get', undefined)).rejects.toMatchObject({ code: 'disconnected' });
  });

  it('past the cap, keeps retrying with the host\'s reason, and gets in once a place is free', async () => {
    const h = await startWebHost({ service, root, limits: { maxClients: 1 } });
    const first = await Client.open(h);
    const t = createWsTransport(wsUrl(h), { token: h.token, WebSocket: Socket, minDelayMs: 50, maxDelayMs: 200 });
    try {
      await expect.poll(() => t.reason, { timeout: 5_000 }).toMatch(/Poolscope serves 1 connections at most/);
      expect(t.state).toBe('reconnecting');
      first.ws.close();
      await expect.poll(() => t.state, { timeout: 5_000 }).toBe('open');
      expect(t.reason).toBeNull();
      expect((await t.invoke('snapshot.get', undefined)).snapshot.activePoolId).toBe(engine.pool.id);
    } finally {
      t.close();
      await h.close();
    }
  });

  it('says what to do when the UI is not built or the port is taken', async () => {
    await expect(startWebHost({ service, root: path.join(tmp, 'nowhere') })).rejects.toThrow(/run npm run build first/);
    const err = await startWebHost({ service, root, port: host.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebHostError);
    expect((err as Error).message).toMatch(new RegExp(`port ${host.port} is in use`));
  });
});
