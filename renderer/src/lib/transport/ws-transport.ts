import type { ApiError, Batch, CommandName, Commands, ServerMessage, Transport } from '../../../../shared/api';

// The renderer's Transport over the browser host's WebSocket (main/web/). Wire format:
// we send {id, cmd, req}; the host answers {id, ok, res | error} and pushes {batch}.
//
// Reconnection and rebasing, the contract with the store:
// - When the socket drops, requests already sent are rejected (code 'disconnected': we
//   cannot know whether they ran); requests made while disconnected wait and are sent
//   once the socket is open again.
// - The socket is reopened with backoff (0.25 s doubling to 5 s, with jitter). Events
//   that happened meanwhile were never sent, so on every reconnect, before any new batch,
//   subscribers receive a reconnect gap (isReconnectGap): a batch with no events whose
//   `from` (-1) is never the previous `to` + 1. A store that calls `snapshot.get` whenever
//   `batch.from !== lastTo + 1` therefore rebases; it must not apply the gap itself.
// - The host subscribes a client as soon as the socket opens, so batches can arrive
//   before the `snapshot.get` reply: the store keeps (or drops) them and skips those
//   with `to <= snapshot.seq` once the snapshot is in.
// - The host refuses the socket (HTTP 403) when the cookie no longer matches, e.g. after
//   Poolscope was restarted with a new token; the browser only sees the socket fail, so
//   the state stays 'reconnecting': show "open the URL Poolscope printed" after a while.

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A failed request: `code` is the ApiError code ('bad-request', 'acquire-timeout', ...) or 'disconnected'. */
export class TransportError extends Error {
  readonly code: string;
  /** With an SSH host key refusal: the key, for the user to check and accept. */
  readonly hostKey: ApiError['hostKey'];

  constructor(error: ApiError) {
    super(error.message);
    this.name = 'TransportError';
    this.code = error.code;
    this.hostKey = error.hostKey;
  }
}

const RECONNECT_FROM = -1;

/** What subscribers receive on every reconnect: a gap that forces a rebase; it holds no events. */
export function isReconnectGap(batch: Batch): boolean {
  return batch.from === RECONNECT_FROM;
}

const OPEN = 1; // WebSocket.OPEN, without relying on the constructor's statics

export interface WsTransport extends Transport {
  readonly state: ConnectionState;
  /** Called with every state change (not with the current state); returns an unsubscribe. */
  onState(listener: (state: ConnectionState) => void): () => void;
  /** Closes for good: pending and queued requests are rejected, no reconnect. */
  close(): void;
}

// Plain TypeScript on purpose: no Svelte, and only the DOM types Node's also declares
// (WebSocket, MessageEvent), so tests in Node can drive it with the `ws` package.

export interface WsTransportOptions {
  /** For tests outside a browser: a WebSocket constructor (default: globalThis.WebSocket). */
  WebSocket?: new (url: string) => WebSocket;
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** The page's own socket URL (pass `location`): same origin, /ws; the host's cookie authenticates it. */
export function wsUrlFromLocation(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

interface Pending {
  resolve: (res: unknown) => void;
  reject: (err: Error) => void;
}

export function createWsTransport(url: string, options: WsTransportOptions = {}): WsTransport {
  const Socket = options.WebSocket ?? globalThis.WebSocket;
  const minDelay = options.minDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5_000;

  let state: ConnectionState = 'connecting';
  let socket: WebSocket | null = null;
  let nextId = 1;
  let attempt = 0;
  let everOpened = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const sent = new Map<number, Pending>();
  const queued = new Map<number, Pending & { text: string }>();
  const batchListeners = new Set<(batch: Batch) => void>();
  const stateListeners = new Set<(state: ConnectionState) => void>();

  const setState = (next: ConnectionState) => {
    if (next === state) return;
    state = next;
    for (const l of [...stateListeners]) call(l, next);
  };

  const deliver = (batch: Batch) => {
    for (const l of [...batchListeners]) call(l, batch);
  };

  const flushQueue = (ws: WebSocket) => {
    for (const [id, q] of queued) {
      queued.delete(id);
      sent.set(id, q);
      ws.send(q.text);
    }
  };

  const connect = () => {
    timer = null;
    const ws = new Socket(url);
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      setState('open');
      if (everOpened) deliver({ from: RECONNECT_FROM, to: RECONNECT_FROM, events: [] });
      everOpened = true;
      flushQueue(ws);
    };
    ws.onmessage = (ev: MessageEvent) => {
      let msg: ServerMessage;
      try {
        msg = JSON.parse(String(ev.data)) as ServerMessage;
      } catch {
        return; // the host only sends JSON; nothing sensible to do with anything else
      }
      if ('batch' in msg) return deliver(msg.batch);
      const p = sent.get(msg.id);
      if (!p) return;
      sent.delete(msg.id);
      if (msg.ok) p.resolve(msg.res);
      else p.reject(new TransportError(msg.error));
    };
    // An error event is always followed by close: handle both there.
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      for (const p of sent.values()) p.reject(new TransportError({ code: 'disconnected', message: 'The connection to Poolscope was lost before it answered.' }));
      sent.clear();
      if (state === 'closed') return;
      setState('reconnecting');
      const delay = Math.min(maxDelay, minDelay * 2 ** attempt++);
      timer = setTimeout(connect, delay * (0.75 + Math.random() / 2));
    };
  };

  connect();

  return {
    get state() {
      return state;
    },

    invoke<K extends CommandName>(cmd: K, req: Commands[K]['req']): Promise<Commands[K]['res']> {
      if (state === 'closed') return Promise.reject(new TransportError({ code: 'disconnected', message: 'The transport is closed.' }));
      const id = nextId++;
      const text = JSON.stringify({ id, cmd, req });
      return new Promise<Commands[K]['res']>((resolve, reject) => {
        const p: Pending = { resolve: resolve as (res: unknown) => void, reject };
        if (socket && socket.readyState === OPEN) {
          sent.set(id, p);
          socket.send(text);
        } else {
          queued.set(id, { ...p, text });
        }
      });
    },

    subscribe(onBatch: (batch: Batch) => void): () => void {
      // Wrapped so that subscribing the same function twice gives two subscriptions.
      const l = (b: Batch) => onBatch(b);
      batchListeners.add(l);
      return () => batchListeners.delete(l);
    },

    onState(listener: (state: ConnectionState) => void): () => void {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },

    close(): void {
      if (state === 'closed') return;
      setState('closed');
      if (timer !== null) clearTimeout(timer);
      timer = null;
      const ws = socket;
      socket = null;
      ws?.close(1000);
      const closed = new TransportError({ code: 'disconnected', message: 'The transport is closed.' });
      for (const p of [...sent.values(), ...queued.values()]) p.reject(closed);
      sent.clear();
      queued.clear();
    },
  };
}

// One listener that throws must not keep the others (or the socket handler) from running.
function call<T>(listener: (value: T) => void, value: T): void {
  try {
    listener(value);
  } catch (err) {
    console.error('poolscope: a transport listener failed', err);
  }
}
