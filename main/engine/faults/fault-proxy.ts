// A TCP proxy that injects network faults between a pool and its database, in the spirit
// of Toxiproxy's toxics, with plain node:net. Time is real here (performance.now and
// setTimeout, not the injected Clock): the sockets it shapes are real, so a manual clock
// could only stall them.
import net, { type Server, type Socket } from 'node:net';
import { NO_TOXICS, type Toxics } from '../../../shared/faults';
import { DelayedPipe } from './delayed-pipe';

export interface ProxyStats {
  /** Client connections accepted. */
  accepted: number;
  /**
   * Client connections reset because the upstream could not be reached (refused,
   * unreachable). Connections turned away by the `refuse` toxic are not counted: nothing
   * listens then, the kernel answers them, and the proxy never sees them.
   */
  refused: number;
  /** Bytes written to the upstream / to clients. */
  bytesUp: number;
  bytesDown: number;
}

const HOST = '127.0.0.1';

/**
 * Where the proxy forwards to: an address, or a function that opens each upstream socket
 * (the target's link: straight, or a channel through its SSH tunnel, half-open allowed).
 */
export type Upstream = { host: string; port: number } | (() => Socket);

function dialer(upstream: Upstream): () => Socket {
  if (typeof upstream === 'function') return upstream;
  const to = { host: upstream.host, port: upstream.port };
  return () => net.connect({ ...to, allowHalfOpen: true });
}

/** RST if the socket is connected (the peer sees ECONNRESET), else just close it. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  // resetAndDestroy() on a socket still connecting waits for the connection to finish
  // before resetting it; an upstream that never answers would keep it open.
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

/** One client connection and its upstream, each direction through a DelayedPipe. */
class Connection {
  readonly closed: Promise<void>;
  readonly #client: Socket;
  readonly #dial: () => Socket;
  readonly #toxics: () => Toxics;
  readonly #stats: ProxyStats;
  readonly #up: DelayedPipe;
  #upstream: Socket | null = null;
  #down: DelayedPipe | null = null;
  #openSockets = 1;
  #onClosed!: () => void;
  #tornDown = false;

  constructor(client: Socket, dial: () => Socket, toxics: () => Toxics, stats: ProxyStats) {
    this.#client = client;
    this.#dial = dial;
    this.#toxics = toxics;
    this.#stats = stats;
    this.closed = new Promise((resolve) => (this.#onClosed = resolve));
    client.setNoDelay(true);
    // Every socket gets an error listener; the 'close' that follows decides what to do.
    client.on('error', () => {});
    client.on('close', (hadError) => {
      this.#socketClosed();
      // A client that vanished abruptly is mirrored upstream; one that never got an
      // upstream (it gave up during a blackhole) must not get one later.
      if (hadError || !this.#upstream) this.#teardown(reset);
    });
    this.#up = new DelayedPipe(client, null, toxics, (n) => (stats.bytesUp += n));
    // After the pipe's own 'end' listener, which queues the end this looks at.
    client.on('end', () => this.#abandonIfGivenUp());
    if (!toxics().blackhole) this.#connectUpstream();
  }

  /** Applies changed toxics: rates, held data, and a blackhole's pending upstream connect. */
  retune(): void {
    if (this.#tornDown) return;
    if (this.#abandonIfGivenUp()) return;
    this.#up.retune();
    this.#down?.retune();
    if (!this.#upstream && !this.#toxics().blackhole) this.#connectUpstream();
  }

  /** RST both sides; false if the connection was already being closed. */
  reset(): boolean {
    return this.#teardown(reset);
  }

  destroy(): void {
    this.#teardown((s) => s.destroy());
  }

  #connectUpstream(): void {
    const upstream = this.#dial();
    this.#upstream = upstream;
    this.#openSockets++;
    upstream.setNoDelay(true);
    let connected = false;
    upstream.on('connect', () => (connected = true));
    upstream.on('error', () => {
      if (!connected) this.#stats.refused++;
    });
    upstream.on('close', (hadError) => {
      this.#socketClosed();
      // Upstream down, refused or reset: reset the client so its driver sees an error
      // now rather than at its next timeout. A clean close travels as an end instead.
      if (hadError) this.#teardown(reset);
    });
    this.#up.attach(upstream);
    this.#down = new DelayedPipe(upstream, this.#client, this.#toxics, (n) => (this.#stats.bytesDown += n));
  }

  /**
   * During a blackhole a client's end cannot be delivered; in these protocols it means
   * the client gave up and closed. Close the upstream and drop what is held rather than
   * keep half-open sockets until the blackhole lifts.
   */
  #abandonIfGivenUp(): boolean {
    if (!this.#toxics().blackhole || !this.#up.endPending) return false;
    this.#teardown((s) => s.destroy());
    return true;
  }

  #teardown(close: (socket: Socket) => void): boolean {
    if (this.#tornDown) return false;
    this.#tornDown = true;
    this.#up.drop();
    this.#down?.drop();
    close(this.#client);
    if (this.#upstream) close(this.#upstream);
    return true;
  }

  #socketClosed(): void {
    if (--this.#openSockets === 0) this.#onClosed();
  }
}

function listen(port: number, onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true }, onConnection);
    server.once('error', reject);
    server.listen({ host: HOST, port, exclusive: true }, () => {
      server.off('error', reject);
      // After listening, errors are failed accepts (EMFILE): that client's connection
      // fails, the server keeps listening.
      server.on('error', () => {});
      resolve(server);
    });
  });
}

function checked(toxics: Toxics): Toxics {
  for (const key of ['latencyMs', 'jitterMs', 'bandwidthKbps'] as const) {
    const v = toxics[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${key} must be a finite number >= 0, got ${String(v)}`);
  }
  for (const key of ['blackhole', 'refuse'] as const) {
    if (typeof toxics[key] !== 'boolean') throw new TypeError(`${key} must be a boolean`);
  }
  return Object.freeze(toxics);
}

export class FaultProxy {
  readonly host = HOST;
  readonly #upstream: () => Socket;
  readonly #connections = new Set<Connection>();
  readonly #stats: ProxyStats = { accepted: 0, refused: 0, bytesUp: 0, bytesDown: 0 };
  #port = 0;
  #toxics: Toxics = NO_TOXICS;
  #server: Server | null = null;
  // Listening changes (refuse, close) run one after another, each reconciling with the
  // toxics as they are when it runs.
  #ops: Promise<void> = Promise.resolve();
  #closing: Promise<void> | null = null;

  private constructor(upstream: Upstream) {
    this.#upstream = dialer(upstream);
  }

  /** Listens on 127.0.0.1 on a free port (or opts.port) and forwards to upstream. */
  static async start(upstream: Upstream, opts: { port?: number } = {}): Promise<FaultProxy> {
    const proxy = new FaultProxy(upstream);
    proxy.#server = await listen(opts.port ?? 0, proxy.#accept);
    proxy.#port = (proxy.#server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** The port, kept across refuse/unrefuse. */
  get port(): number {
    return this.#port;
  }

  get toxics(): Toxics {
    return this.#toxics;
  }

  /**
   * Live, in both directions, for current and new connections. Resolves once the
   * listening state matches `refuse`; rejects on invalid values (nothing changed then) or
   * when the port cannot be listened on again (another process took it).
   */
  async set(toxics: Partial<Toxics>): Promise<void> {
    const given = Object.fromEntries(Object.entries(toxics).filter(([k, v]) => k in NO_TOXICS && v !== undefined));
    this.#toxics = checked({ ...this.#toxics, ...given });
    for (const c of this.#connections) c.retune();
    await this.#serialize(() => this.#syncListening());
  }

  /** Resets (TCP RST) every current connection, both sides; returns how many. */
  resetAll(): number {
    let n = 0;
    for (const c of this.#connections) if (c.reset()) n++;
    return n;
  }

  /** Connections currently open through the proxy, each counted until both its sockets have closed. */
  get openConnections(): number {
    return this.#connections.size;
  }

  /** Counters so far (a copy). */
  get stats(): ProxyStats {
    return { ...this.#stats };
  }

  /** Destroys every connection and stops listening; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#serialize(async () => {
      const server = this.#server;
      this.#server = null;
      const stopped = server ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined;
      for (const c of this.#connections) c.destroy();
      await Promise.all([stopped, ...[...this.#connections].map((c) => c.closed)]);
    });
    return this.#closing;
  }

  #accept = (client: Socket): void => {
    if (this.#closing) {
      client.on('error', () => {});
      client.destroy();
      return;
    }
    this.#stats.accepted++;
    const conn = new Connection(client, this.#upstream, () => this.#toxics, this.#stats);
    this.#connections.add(conn);
    void conn.closed.then(() => this.#connections.delete(conn));
  };

  async #syncListening(): Promise<void> {
    if (this.#closing) return;
    if (this.#toxics.refuse && this.#server) {
      // close() stops accepting at once (the listening socket is closed synchronously);
      // its callback waits for accepted connections, which keep working, so don't await it.
      this.#server.close();
      this.#server = null;
    } else if (!this.#toxics.refuse && !this.#server) {
      this.#server = await listen(this.#port, this.#accept);
    }
  }

  #serialize(op: () => Promise<void>): Promise<void> {
    const run = this.#ops.then(op);
    this.#ops = run.catch(() => undefined);
    return run;
  }
}
