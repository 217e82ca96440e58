import { existsSync, realpathSync } from 'node:fs';
import { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse, STATUS_CODES, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp';
import { messageOf } from '../engine/errors';
import type { PoolscopeService } from '../engine/service';
import { Gate, newToken, tokenCheck } from './gate';
import { SocketHub, type SocketLimits } from './socket-hub';
import { findFile } from './static-files';

/** The browser host listens on the loopback interface only, whatever else the machine has. */
export const HOST = '127.0.0.1';
export const WS_PATH = '/ws';

export interface WebHostOptions {
  service: PoolscopeService;
  /** The built renderer: out/renderer (index.html + assets/, relative URLs). */
  root: string;
  /** 0 or absent: a free port the OS picks. */
  port?: number;
  /** Absent: a fresh random token (tests may pass one). */
  token?: string;
  /** Absent: SOCKET_LIMITS (tests may lower them). */
  limits?: Partial<SocketLimits>;
}

export interface WebHost {
  readonly port: number;
  readonly token: string;
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  /**
   * The URL to open: http://127.0.0.1:PORT/#token=TOKEN. Browsers never send a fragment to a
   * server; the page keeps the token in its tab's sessionStorage and proves it on the socket.
   */
  readonly url: string;
  /** Sockets whose token matched. */
  readonly clients: number;
  /** Closes the sockets (1001) and the server. Does not stop the service. */
  close(): Promise<void>;
}

/** A startup failure a person can act on (the CLI prints the message alone). */
export class WebHostError extends Error {
  override readonly name = 'WebHostError';
}

/** Throws unless `root` holds a built renderer. */
export function assertBuilt(root: string): void {
  if (!existsSync(path.join(root, 'index.html'))) {
    throw new WebHostError(`the UI is not built (${path.join(root, 'index.html')} is missing): run npm run build first.`);
  }
}

// Sent with every response, refusals included.
const COMMON_HEADERS: OutgoingHttpHeaders = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // A rebuild changes the files behind the same names: nothing of it belongs in a cache.
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

function send(res: ServerResponse, status: number, body: string | Buffer, headers: OutgoingHttpHeaders = {}): void {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': data.length,
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : data);
}

/** Refuses a WebSocket handshake with a plain HTTP answer: the socket is never accepted. */
function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  const body = Buffer.from(text);
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${body.length}\r\n` +
      'Cache-Control: no-store\r\n' +
      'X-Content-Type-Options: nosniff\r\n\r\n' +
      text,
  );
}

const wrongHost = (port: number) => `Poolscope: this server only answers to 127.0.0.1:${port} or localhost:${port}.\n`;

/** Path and query of an origin-form request target, or null when it is not one. */
function parseTarget(raw: string | undefined): URL | null {
  if (!raw?.startsWith('/') || raw.startsWith('//')) return null;
  try {
    return new URL(raw, `http://${HOST}`);
  } catch {
    return null;
  }
}

/**
 * Serves the built renderer and the typed API over a WebSocket at /ws, on 127.0.0.1 only.
 * The printed URL carries a per-run token in its fragment; the socket does nothing until its
 * first message holds it. The page and its assets need no token: they are the same files for
 * everyone (the built renderer holds no secret), and without the token they can do nothing.
 */
export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  assertBuilt(opts.root);
  const root = realpathSync(opts.root);
  const token = opts.token ?? newToken();
  const hub = new SocketHub(opts.service, tokenCheck(token), opts.limits);
  let gate: Gate | null = null; // known once listening (the port may be the OS's choice)

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `Poolscope: ${messageOf(err)}\n`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!gate) return send(res, 503, 'Poolscope: starting.\n');
    if (!gate.hostAllowed(req.headers.host)) return send(res, 403, wrongHost(gate.port));
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Poolscope: only GET and HEAD.\n', { Allow: 'GET, HEAD' });
    const url = parseTarget(req.url);
    if (!url) return send(res, 400, 'Poolscope: bad request target.\n');
    if (url.pathname === WS_PATH) return send(res, 426, 'Poolscope: this is the WebSocket endpoint.\n', { Upgrade: 'websocket', Connection: 'Upgrade' });

    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'Poolscope: bad request target.\n');
    }
    const found = await findFile(root, pathname);
    if (!found && pathname === '/favicon.ico') return send(res, 204, ''); // browsers ask; none is not an error
    if (!found) return send(res, 404, 'Poolscope: not found.\n');
    send(res, 200, found.body, { 'Content-Type': found.type });
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      if (!gate) return refuseUpgrade(socket, 503, 'Poolscope: starting.\n');
      if (!gate.hostAllowed(req.headers.host)) return refuseUpgrade(socket, 403, wrongHost(gate.port));
      if (!gate.originAllowed(req.headers)) return refuseUpgrade(socket, 403, 'Poolscope: WebSocket connections are only accepted from the Poolscope page itself.\n');
      const url = parseTarget(req.url);
      if (!url || url.pathname !== WS_PATH) return refuseUpgrade(socket, 404, 'Poolscope: not found.\n');
      hub.upgrade(req, socket, head);
    } catch {
      socket.destroy();
    }
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  const requested = opts.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${HOST}:${requested}`;
      const why =
        err.code === 'EADDRINUSE'
          ? `port ${requested} is in use: choose another with --port, or leave --port out to take a free one.`
          : err.code === 'EACCES'
            ? `not allowed to listen on ${where} (ports below 1024 need privileges): choose another with --port.`
            : `cannot listen on ${where}: ${err.message}`;
      reject(new WebHostError(why));
    };
    server.once('error', onError);
    server.listen(requested, HOST, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  gate = new Gate(port);
  const origin = `http://${HOST}:${port}`;

  let closing: Promise<void> | null = null;
  return {
    port,
    token,
    origin,
    url: `${origin}/#token=${token}`,
    get clients() {
      return hub.clients;
    },
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await hub.close();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
