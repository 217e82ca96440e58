import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { Batch, ServerMessage } from '../../shared/api';
import type { PoolscopeService } from '../engine/service';
import { toApiError } from '../engine/service';

/** A request larger than this closes the socket (1009): no command needs more than a few KB. */
export const MAX_PAYLOAD = 1024 * 1024;
/** Batches are dropped (the client sees the gap and rebases) while more than this is unsent. */
export const HIGH_WATER = 4 * 1024 * 1024;
/** Requests one client may have in flight; beyond, replies say 'busy' instead of queueing. */
export const MAX_IN_FLIGHT = 64;
const HEARTBEAT_MS = 15_000;
const CLOSE_GRACE_MS = 1_000;

interface Client {
  alive: boolean;
  inFlight: number;
  unsubscribe: () => void;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The WebSocket side of the browser host: each client's JSON requests `{id, cmd, req}`
 * go to `service.handle` and come back as `{id, ok, res | error}`; its batches of events
 * arrive as `{batch}`. The HTTP server authenticates the upgrade before `upgrade` is called.
 */
export class SocketHub {
  readonly #service: PoolscopeService;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, perMessageDeflate: false, clientTracking: false });
  readonly #clients = new Map<WebSocket, Client>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(service: PoolscopeService) {
    this.#service = service;
    // A client that did not answer the previous ping is gone (sleeping laptop, killed tab
    // behind a proxy): drop it so its coalescer stops.
    this.#heartbeat = setInterval(() => {
      for (const [ws, c] of this.#clients) {
        if (!c.alive) {
          ws.terminate();
          continue;
        }
        c.alive = false;
        ws.ping();
      }
    }, HEARTBEAT_MS).unref();
  }

  get clients(): number {
    return this.#clients.size;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
  }

  /** Closes every client (1001), waits briefly for them to go, then cuts the rest. */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    const gone = [...this.#clients.keys()].map(
      (ws) =>
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
    for (const c of this.#clients.values()) c.unsubscribe();
    this.#clients.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #accept(ws: WebSocket): void {
    const client: Client = {
      alive: true,
      inFlight: 0,
      unsubscribe: this.#service.subscribe((batch: Batch) => {
        // Backpressure: a client that cannot keep up loses batches, not memory; it sees the gap.
        if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > HIGH_WATER) return false;
        ws.send(JSON.stringify({ batch } satisfies ServerMessage));
        return true;
      }),
    };
    this.#clients.set(ws, client);
    ws.on('pong', () => (client.alive = true));
    // ws reports protocol errors (oversized or invalid frames) here, then closes the socket itself.
    ws.on('error', () => {});
    ws.on('close', () => {
      client.unsubscribe();
      this.#clients.delete(ws);
    });
    ws.on('message', (data, isBinary) => {
      client.alive = true;
      void this.#onMessage(ws, client, data, isBinary);
    });
  }

  async #onMessage(ws: WebSocket, client: Client, data: RawData, isBinary: boolean): Promise<void> {
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
      return reply(ws, { id, ok: false, error: { code: 'busy', message: `Too many requests in flight on this connection (${MAX_IN_FLIGHT}): wait for replies.` } });
    }
    client.inFlight++;
    try {
      reply(ws, { id, ...(await this.#service.handle(msg.cmd, msg.req)) });
    } catch (err) {
      reply(ws, { id, ok: false, error: toApiError(err) });
    } finally {
      client.inFlight--;
    }
  }
}

function reply(ws: WebSocket, message: ServerMessage): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  let text: string;
  try {
    text = JSON.stringify(message);
  } catch (err) {
    text = JSON.stringify({ id: 'id' in message ? message.id : 0, ok: false, error: toApiError(err) });
  }
  ws.send(text);
}
