import net from 'node:net';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../main/engine/faults/fault-proxy';
import { mysqlAvailable, mysqlUrl, pgUrl } from './helpers/servers';
import { sleep } from './helpers/start';

// Machines are noisy: only lower bounds on time, which the proxy guarantees, are asserted.

const upstreamOf = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

/** The same URL, through the proxy. */
function via(proxy: FaultProxy, url: string): string {
  const u = new URL(url);
  u.hostname = proxy.host;
  u.port = String(proxy.port);
  return u.toString();
}

const proxies: FaultProxy[] = [];
const clients: pg.Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function proxyTo(upstream: { host: string; port: number }): Promise<FaultProxy> {
  const proxy = await FaultProxy.start(upstream);
  proxies.push(proxy);
  return proxy;
}

/** A pg client through the proxy; its 'error' events (resets) are collected, not thrown. */
function pgClient(proxy: FaultProxy, config: Partial<pg.ClientConfig> = {}) {
  const client = new pg.Client({ connectionString: via(proxy, pgUrl()), ...config });
  const errors: Error[] = [];
  client.on('error', (err) => errors.push(err));
  clients.push(client);
  return { client, errors };
}

async function connectedPg(proxy: FaultProxy, config: Partial<pg.ClientConfig> = {}) {
  const c = pgClient(proxy, config);
  await c.client.connect();
  return c;
}

/** 'pending' if `p` has not settled within `ms`. */
async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  const pending = Symbol('pending');
  p.catch(() => undefined);
  return (await Promise.race([p.then(() => 'settled', () => 'settled'), sleep(ms).then(() => pending)])) === pending;
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await sleep(25);
  if (!ok()) throw new Error(`timed out waiting until ${what}`);
}

/** Resolves with the error a plain TCP connect gets, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const elapsed = async (fn: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

describe('FaultProxy on PostgreSQL', () => {
  it('forwards a session untouched without toxics, counts bytes, and ends with no socket open', async () => {
    const proxy = await proxyTo(upstreamOf(pgUrl()));
    const { client } = await connectedPg(proxy);
    const { rows } = await client.query('SELECT 41 + 1 AS answer');
    expect(rows[0].answer).toBe(42);
    expect(proxy.openConnections).toBe(1);
    await client.end();
    await until('the connection is closed', () => proxy.openConnections === 0);
    const stats = proxy.stats;
    expect(stats.accepted).toBe(1);
    expect(stats.refused).toBe(0);
    expect(stats.bytesUp).toBeGreaterThan(0);
    expect(stats.bytesDown).toBeGreaterThan(0);
  });

  it('adds latency in each direction, live, to chunks arriving from then on', async () => {
    const proxy = await proxyTo(upstreamOf(pgUrl()));
    const { client } = await connectedPg(proxy);
    await proxy.set({ latencyMs: 40 });
    expect(proxy.toxics.latencyMs).toBe(40);
    expect(await elapsed(() => client.query('SELECT 1'))).toBeGreaterThanOrEqual(80);
    await proxy.set({ latencyMs: 0 });
    await expect(client.query('SELECT 2 AS two')).resolves.toMatchObject({ rows: [{ two: 2 }] });
  });

  it('keeps byte order under jitter: a large result arrives intact', async () => {
    const proxy = await proxyTo(upstreamOf(pgUrl()));
    const { client } = await connectedPg(proxy);
    await proxy.set({ latencyMs: 10, jitterMs: 10 });
    // Many chunks, each with its own delay: any reordering would corrupt the protocol stream.
    const { rows } = await client.query("SELECT repeat('ab', 100000) AS s");
    expect(rows[0].s).toBe('ab'.repeat(100_000));
  });

  it('limits bandwidth per direction, and a change applies at once', async () => {
    const proxy = await proxyTo(upstreamOf(pgUrl()));
    const { client } = await connectedPg(proxy);
    await proxy.set({ bandwidthKbps: 20 });
    // 30 kB up (the parameter), then 30 kB down (the result): at 20 kB/s each direction
    // takes >= (30 000 - one 50 ms burst of 1 000 bytes) / 20 000 s.
    const payload = 'x'.repeat(30_000);
    const ms = await elapsed(() => client.query('SELECT $1::text AS s', [payload]));
    expect(ms).toBeGreaterThanOrEqual(2 * 1_450);

    await proxy.set({ bandwidthKbps: 2 });
    const slow = client.query("SELECT repeat('y', 100000) AS s"); // 50 s at 2 kB/s
    expect(await stillPending(slow, 500)).toBe(true);
    await proxy.set({ bandwidthKbps: 0 });
    expect((await slow).rows[0].s).toHaveLength(100_000);
  });

  it('blackhole holds both directions and new connects; lifted, everything proceeds in order', async () => {
    const proxy = await proxyTo(upstreamOf(pgUrl()));
    const { client } = await connectedPg(proxy);
    await proxy.set({ blackhole: true });
    const held = client.query('SELECT 1 AS one');
    const late = pgClient(proxy).client;
    const connecting = late.connect();
    // Both watched over the same 400 ms: a connect that got through would finish well within it.
    expect(await Promise.all([stillPending(held, 400), stillPending(connecting, 400)])).toEqual([true, true]);
    expect(proxy.openConnections).toBe(2);

    await proxy.set({ blackhole: false });
    expect((await held).rows[0].one).toBe(1);
    await connecting;
    expect((await late.query('SELECT 2 AS two')).rows[0].two).toBe(2);
  });

  it('a client that gives up during a blackhole leaves no socket open', async () => {
    const proxy = await proxyTo(upstreamOf(pgUrl()));
    const { client } = await connectedPg(proxy, { query_timeout: 300 });
    await proxy.set({ blackhole: true });
    await expect(client.query('SELECT 1')).rejects.toThrow(/Query read timeout/);
    // Never connected upstream: the connect times out and pg destroys its socket.
    const late = pgClient(proxy, { connectionTimeoutMillis: 300 }).client;
    await expect(late.connect()).rejects.toThrow(/timeout/);
    await client.end();
    await until('both connections are closed', () => proxy.openConnections === 0);
    expect(proxy.stats.accepted).toBe(2);
  });

  it('blackhole pushes back instead of buffering without bound', async () => {
    const proxy = await proxyTo(upstreamOf(pgUrl()));
    await proxy.set({ blackhole: true });
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.alloc(32 * 1024 * 1024));
    await sleep(500);
    // The kernel buffers take some megabytes; the rest must still wait in the client.
    expect(socket.writableLength).toBeGreaterThan(0);
    // A paused reader cannot see the client's end behind the unread bytes (nor can any
    // TCP proxy): the connection closes once the bytes flow again.
    socket.destroy();
    await proxy.set({ blackhole: false });
    await until('the connection is closed', () => proxy.openConnections === 0);
  });

  it('resetAll sends RST both ways: clients see ECONNRESET and nothing stays open', async () => {
    const proxy = await proxyTo(upstreamOf(pgUrl()));
    const busy = await connectedPg(proxy);
    const idle = await connectedPg(proxy);
    const sleeping = busy.client.query('SELECT pg_sleep(10)');
    await sleep(100);
    expect(proxy.resetAll()).toBe(2);
    await expect(sleeping).rejects.toMatchObject({ code: 'ECONNRESET' });
    await until('the idle client sees the reset', () => idle.errors.length > 0);
    expect(idle.errors[0]).toMatchObject({ code: 'ECONNRESET' });
    await until('the connections are closed', () => proxy.openConnections === 0);
    // The proxy itself keeps working.
    const { client } = await connectedPg(proxy);
    expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('refuse gives new connects ECONNREFUSED, keeps existing ones, and re-listens on the same port', async () => {
    const proxy = await proxyTo(upstreamOf(pgUrl()));
    const port = proxy.port;
    const { client } = await connectedPg(proxy);
    await proxy.set({ refuse: true });
    await expect(pgClient(proxy).client.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);

    await proxy.set({ refuse: false });
    expect(proxy.port).toBe(port);
    const { client: again } = await connectedPg(proxy);
    expect((await again.query('SELECT 2 AS two')).rows[0].two).toBe(2);
  });

  it('an upstream that is down resets the client promptly, counted as refused', async () => {
    const proxy = await proxyTo({ host: '127.0.0.1', port: await closedPort() });
    await expect(pgClient(proxy).client.connect()).rejects.toMatchObject({ code: 'ECONNRESET' });
    await until('the connection is closed', () => proxy.openConnections === 0);
    expect(proxy.stats).toMatchObject({ accepted: 1, refused: 1 });
  });

  it('propagates a half-close after delayed data, then closes both sides', async () => {
    // An echo server that answers the client's end with its own (PostgreSQL never half-closes).
    const echo = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const proxy = await proxyTo({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
      await proxy.set({ latencyMs: 20 });
      const socket = net.connect({ host: proxy.host, port: proxy.port, allowHalfOpen: true });
      const received: Buffer[] = [];
      socket.on('data', (b) => received.push(b));
      const ended = new Promise((resolve) => socket.once('end', resolve));
      socket.end('hello, ');
      await ended;
      expect(Buffer.concat(received).toString()).toBe('hello, ');
      await until('the connection is closed', () => proxy.openConnections === 0);
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
  });

  it('close() ends every connection and the port, and may be called twice', async () => {
    const proxy = await proxyTo(upstreamOf(pgUrl()));
    const { client } = await connectedPg(proxy);
    await proxy.set({ latencyMs: 30 });
    const pending = client.query('SELECT 1');
    await proxy.close();
    expect(proxy.openConnections).toBe(0);
    await expect(pending).rejects.toThrow();
    expect(await tryConnect(proxy.port)).toBe('ECONNREFUSED');
    await proxy.close();
  });
});

describe.skipIf(!mysqlAvailable)('FaultProxy on MySQL/MariaDB (mysql2)', () => {
  it('adds latency and resets an in-flight query', async () => {
    const proxy = await proxyTo(upstreamOf(mysqlUrl));
    const conn = await mysql.createConnection(via(proxy, mysqlUrl));
    conn.on('error', () => {});
    try {
      await proxy.set({ latencyMs: 30 });
      expect(await elapsed(() => conn.query('SELECT 1'))).toBeGreaterThanOrEqual(60);
      const sleeping = conn.query('SELECT SLEEP(10)');
      await sleep(150);
      expect(proxy.resetAll()).toBe(1);
      await expect(sleeping).rejects.toMatchObject({ code: 'ECONNRESET' });
      await until('the connection is closed', () => proxy.openConnections === 0);
    } finally {
      conn.destroy();
    }
  });
});
