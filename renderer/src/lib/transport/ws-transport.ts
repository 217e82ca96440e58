import { type ApiError, type Batch, CLOSE_TOKEN_REFUSED, type ClientHello, type CommandName, type Commands, type ServerMessage, type Transport } from '../../../../shared/api';

// The renderer's Transport over the browser host's WebSocket (main/web/). Wire format:
// our first message is {token}; the host answers {ready: true} (or closes the socket), then
// we send {id, cmd, req}, it answers {id, ok, res | error} and pushes {batch}. The link is
// 'open' from the host's {ready}: requests made before wait for it.
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
// - The host subscribes a client as soon as its token matched, so batches can arrive
//   before the `snapshot.get` reply: the store keeps (or drops) them and skips those
//   with `to <= snapshot.seq` once the snapshot is in.
// - The host says why it closed a socket (too many clients, a client that fell behind):
//   `reason` holds it while reconnecting. A token it refused (CLOSE_TOKEN_REFUSED, e.g.
//   Poolscope was restarted with a new one) ends the transport: 'closed', with the reason.

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
  /** Why the host closed the last socket (its close reason), or why there is none; null once open. */
  readonly reason: string | null;
  /** Called with every change of state or reason (not with the current ones); returns an unsubscribe. */
  onState(listener: (state: ConnectionState, reason: string | null) => void): () => void;
  /** Closes for good: pending and queued requests are rejected, no reconnect. */
  close(): void;
}

// Plain TypeScript on purpose: no Svelte, and only the DOM types Node's also declares
// (WebSocket, MessageEvent), so tests in Node can drive it with the `ws` package.

export interface WsTransportOptions {
  /** The run's token (the page's: takePageToken). Without one nothing is opened: the transport is 'closed', saying why. */
  token: string | null;
  /** For tests outside a browser: a WebSocket constructor (default: globalThis.WebSocket). */
  WebSocket?: new (url: string) => WebSocket;
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** The page's own socket URL (pass `location`): same origin, /ws. */
export function wsUrlFromLocation(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

interface Pending {
  resolve: (res: unknown) => void;
  reject: (err: Error) => void;
}

const NO_TOKEN = 'This page has no token: open the URL Poolscope printed at start (it ends in #token=…).';

export function createWsTransport(url: string, options: WsTransportOptions): WsTransport {
  const Socket = options.WebSocket ?? globalThis.WebSocket;
  const minDelay = options.minDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5_000;

  let state: ConnectionState = 'connecting';
  let reason: string | null = null;
  let socket: WebSocket | null = null;
  let nextId = 1;
  let attempt = 0;
  let everOpened = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const sent = new Map<number, Pending>();
  const queued = new Map<number, Pending & { text: string }>();
  const batchListeners = new Set<(batch: Batch) => void>();
  const stateListeners = new Set<(state: ConnectionState, reason: string | null) => void>();

  const setState = (next: ConnectionState, why: string | null = null) => {
    if (next === state && why === reason) return;
    state = next;
    reason = why;
    for (const l of [...stateListeners]) call(() => l(next, why));
  };

  const deliver = (batch: Batch) => {
    for (const l of [...batchListeners]) call(() => l(batch));
  };

  const flushQueue = (ws: WebSocket) => {
    for (const [id, q] of queued) {
      queued.delete(id);
      sent.set(id, q);
      ws.send(q.text);
    }
  };

  const rejectAll = (error: ApiError) => {
    for (const p of [...sent.values(), ...queued.values()]) p.reject(new TransportError(error));
    sent.clear();
    queued.clear();
  };

  const connect = (token: string) => {
    timer = null;
    const ws = new Socket(url);
    socket = ws;
    ws.onopen = () => ws.send(JSON.stringify({ token } satisfies ClientHello));
    ws.onmessage = (ev: MessageEvent) => {
      let msg: ServerMessage;
      try {
        msg = JSON.parse(String(ev.data)) as ServerMessage;
      } catch {
        return; // the host only sends JSON; nothing sensible to do with anything else
      }
      if ('batch' in msg) return deliver(msg.batch);
      if ('ready' in msg) {
        attempt = 0;
        setState('open');
        if (everOpened) deliver({ from: RECONNECT_FROM, to: RECONNECT_FROM, events: [] });
        everOpened = true;
        return flushQueue(ws);
      }
      const p = sent.get(msg.id);
      if (!p) return;
      sent.delete(msg.id);
      if (msg.ok) p.resolve(msg.res);
      else p.reject(new TransportError(msg.error));
    };
    // An error event is always followed by close: handle both there.
    ws.onclose = (ev: { code: number; reason: string }) => {
      if (socket !== ws) return;
      socket = null;
      for (const p of sent.values()) p.reject(new TransportError({ code: 'disconnected', message: 'The connection to Poolscope was lost before it answered.' }));
      sent.clear();
      if (state === 'closed') return;
      if (ev.code === CLOSE_TOKEN_REFUSED) {
        setState('closed', ev.reason);
        return rejectAll({ code: 'disconnected', message: ev.reason });
      }
      setState('reconnecting', ev.reason || null);
      const delay = Math.min(maxDelay, minDelay * 2 ** attempt++);
      timer = setTimeout(() => connect(token), delay * (0.75 + Math.random() / 2));
    };
  };

  if (options.token) connect(options.token);
  else setState('closed', NO_TOKEN);

  return {
    get state() {
      return state;
    },

    get reason() {
      return reason;
    },

    invoke<K extends CommandName>(cmd: K, req: Commands[K]['req']): Promise<Commands[K]['res']> {
      if (state === 'closed') return Promise.reject(new TransportError({ code: 'disconnected', message: reason ?? 'The transport is closed.' }));
      const id = nextId++;
      const text = JSON.stringify({ id, cmd, req });
      return new Promise<Commands[K]['res']>((resolve, reject) => {
        const p: Pending = { resolve: resolve as (res: unknown) => void, reject };
        if (state === 'open' && socket?.readyState === OPEN) {
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

    onState(listener: (state: ConnectionState, reason: string | null) => void): () => void {
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
      rejectAll({ code: 'disconnected', message: 'The transport is closed.' });
    },
  };
}

// One listener that throws must not keep the others (or the socket handler) from running.
function call(listener: () => void): void {
  try {
    listener();
  } catch (err) {
    console.error('poolscope: a transport listener failed', err);
  }
}
