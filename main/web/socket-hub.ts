import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { type Batch, CLOSE_TOKEN_REFUSED, type ServerMessage } from '../../shared/api';
import type { PoolscopeService } from '../engine/service';
import { toApiError } from '../engine/service';

/** A request larger than this closes the socket (1009): no command needs more than a few KB. */
export const MAX_PAYLOAD = 1024 * 1024;
/** Requests one client may have in flight; beyond, replies say 'busy' instead of queueing. */
export const MAX_IN_FLIGHT = 64;

const MiB = 1024 * 1024;

export interface SocketLimits {
  /**
   * Sockets open at once, with their token or still without: a workshop's projector and a
   * few laptops, each with a tab or two. Past it a new socket is closed (1013) with the reason.
   */
  maxClients: number;
  /** How long a new socket has to send its token before it is closed (1008). */
  helloMs: number;
  /** Batches are skipped while more than this is unsent: the client sees the gap and rebases. */
  highWater: number;
  /** A client that stays over `highWater` this long is closed: it is not keeping up. */
  slowMs: number;
  /** A send (batch or reply) that would leave more than this unsent closes the client instead. */
  hardLimit: number;
}

export const SOCKET_LIMITS: SocketLimits = { maxClients: 16, helloMs: 3_000, highWater: 4 * MiB, slowMs: 5_000, hardLimit: 16 * MiB };

const HEARTBEAT_MS = 15_000;
const CLOSE_GRACE_MS = 1_000;

interface Client {
  readonly ws: WebSocket;
  /** Its hello held the token: it gets batches and its requests are handled. */
  ready: boolean;
  alive: boolean;
  inFlight: number;
  /** Since when more than `highWater` has been unsent; null while under it. */
  overSince: number | null;
  hello: NodeJS.Timeout | null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const mib = (bytes: number) => (bytes / MiB).toFixed(1);

/**
 * The WebSocket side of the browser host. A socket's first message must be `{token}` with
 * the run's token (`isToken`); before that nothing is read, sent or subscribed, and without
 * it the socket is closed. Then its JSON requests `{id, cmd, req}` go to `service.handle` and
 * come back as `{id, ok, res | error}`, and the batches arrive as `{batch}`: one subscription
 * for all clients, each batch serialised once and the same bytes sent to every socket.
 */
export class SocketHub {
  readonly #service: PoolscopeService;
  readonly #isToken: (candidate: unknown) => boolean;
  readonly #limits: SocketLimits;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, perMessageDeflate: false, clientTracking: false });
  readonly #clients = new Set<Client>();
  readonly #heartbeat: NodeJS.Timeout;
  #ready = 0;
  #unsubscribe: (() => void) | null = null;

  constructor(service: PoolscopeService, isToken: (candidate: unknown) => boolean, limits: Partial<SocketLimits> = {}) {
    this.#service = service;
    this.#isToken = isToken;
    this.#limits = { ...SOCKET_LIMITS, ...limits };
    // A client that did not answer the previous ping is gone (sleeping laptop, killed tab
    // behind a proxy): drop it so that it no longer holds a place.
    this.#heartbeat = setInterval(() => {
      for (const c of this.#clients) {
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }, HEARTBEAT_MS).unref();
  }

  /** Clients whose token matched. */
  get clients(): number {
    return this.#ready;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {}); // ws reports protocol errors (oversized or invalid frames) here, then closes the socket itself
      // Accepted, then closed with the reason: a browser shows the reason of a close, never a refused handshake's answer.
      const max = this.#limits.maxClients;
      if (this.#clients.size >= max) return closeSoon(ws, 1013, `Poolscope serves ${max} connections at most, and ${max} are open: close a tab to let this one in.`);
      this.#accept(ws);
    });
  }

  /** Closes every client (1001), waits briefly for them to go, then cuts the rest. */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    const gone = [...this.#clients].map(
      ({ ws }) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            ws.terminate();
            resolve();
          }, CLOSE_GRACE_MS);
          ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          ws.close(1001, 'Poolscope is shutting down');
        }),
    );
    await Promise.all(gone);
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#clients.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #accept(ws: WebSocket): void {
    const client: Client = { ws, ready: false, alive: true, inFlight: 0, overSince: null, hello: null };
    client.hello = setTimeout(() => closeSoon(ws, 1008, `Poolscope: no token within ${this.#limits.helloMs / 1_000} s.`), this.#limits.helloMs);
    this.#clients.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('close', () => {
      if (client.hello) clearTimeout(client.hello);
      this.#clients.delete(client);
      if (client.ready && --this.#ready === 0) {
        this.#unsubscribe?.();
        this.#unsubscribe = null;
      }
    });
    ws.on('message', (data, isBinary) => {
      client.alive = true;
      if (client.ready) void this.#onMessage(client, data, isBinary);
      else this.#onHello(client, data, isBinary);
    });
  }

  #onHello(client: Client, data: RawData, isBinary: boolean): void {
    let msg: unknown = null;
    try {
      if (!isBinary) msg = JSON.parse(data.toString());
    } catch {
      // not JSON: refused below like any other first message without the token
    }
    if (!isRecord(msg) || typeof msg.token !== 'string') {
      return closeSoon(client.ws, CLOSE_TOKEN_REFUSED, 'Poolscope: the first message must be {"token": "…"} with the token printed at start.');
    }
    if (!this.#isToken(msg.token)) {
      return closeSoon(client.ws, CLOSE_TOKEN_REFUSED, 'Poolscope: wrong token. Open the URL Poolscope printed at start (a new one each run).');
    }
    if (client.hello) clearTimeout(client.hello);
    client.hello = null;
    client.ready = true;
    if (this.#ready++ === 0) this.#unsubscribe = this.#service.subscribe((batch) => this.#broadcast(batch));
    this.#send(client, Buffer.from(JSON.stringify({ ready: true } satisfies ServerMessage)), true);
  }

  /** One serialisation per batch, whatever the number of clients: they all get the same bytes. */
  #broadcast(batch: Batch): boolean {
    const data = Buffer.from(JSON.stringify({ batch } satisfies ServerMessage));
    for (const c of this.#clients) if (c.ready) this.#send(c, data, false);
    return true;
  }

  /**
   * Backpressure: a client that cannot keep up loses batches (it sees the gap and rebases),
   * and is closed when it stays behind or when a send would leave more than the hard limit
   * unsent; replies count, since a snapshot can be megabytes.
   */
  #send(c: Client, data: Buffer, isReply: boolean): void {
    const { ws } = c;
    if (ws.readyState !== WebSocket.OPEN) return;
    const { highWater, slowMs, hardLimit } = this.#limits;
    const unsent = ws.bufferedAmount;
    if (unsent + data.length > hardLimit) {
      return closeSoon(ws, 1008, `Poolscope: closed, this connection was not reading (${mib(unsent + data.length)} MiB unsent).`);
    }
    if (unsent > highWater) {
      const now = performance.now();
      c.overSince ??= now;
      if (now - c.overSince >= slowMs) {
        return closeSoon(ws, 1008, `Poolscope: closed, this connection stayed ${mib(unsent)} MiB behind for ${slowMs / 1_000} s.`);
      }
      if (!isReply) return;
    } else {
      c.overSince = null;
    }
    ws.send(data, { binary: false });
  }

  async #onMessage(client: Client, data: RawData, isBinary: boolean): Promise<void> {
    const { ws } = client;
    if (isBinary) return ws.close(1003, 'Poolscope: send JSON text messages, not binary ones');
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return ws.close(1007, 'Poolscope: a message was not valid JSON');
    }
    // Without an id there is nobody to reply to: say what was expected and close.
    if (!isRecord(msg) || !Number.isSafeInteger(msg.id)) {
      return ws.close(1008, 'Poolscope: expected a JSON object {"id": integer, "cmd": string, "req": ...}');
    }
    const id = msg.id as number;
    if (client.inFlight >= MAX_IN_FLIGHT) {
      return this.#reply(client, { id, ok: false, error: { code: 'busy', message: `Too many requests in flight on this connection (${MAX_IN_FLIGHT}): wait for replies.` } });
    }
    client.inFlight++;
    try {
      this.#reply(client, { id, ...(await this.#service.handle(msg.cmd, msg.req)) });
    } catch (err) {
      this.#reply(client, { id, ok: false, error: toApiError(err) });
    } finally {
      client.inFlight--;
    }
  }

  #reply(client: Client, message: ServerMessage): void {
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (err) {
      text = JSON.stringify({ id: 'id' in message ? message.id : 0, ok: false, error: toApiError(err) });
    }
    this.#send(client, Buffer.from(text), true);
  }
}

/** Closes with a reason, and cuts the socket if the close does not get through in a moment (a client that is not reading). */
function closeSoon(ws: WebSocket, code: number, reason: string): void {
  const cut = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  ws.once('close', () => clearTimeout(cut));
  ws.close(code, reason);
}
