import type net from 'node:net';
import { Duplex } from 'node:stream';
import type { ClientChannel } from 'ssh2';

/**
 * One SSH channel (forwardOut) made to look like the unconnected net.Socket the drivers and
 * the fault proxy use: `connect()` opens it (whatever address is passed: the tunnel decides),
 * 'connect' fires once the bastion reached the database, writes before that wait.
 * A channel that closes because the tunnel dropped (`lost()` gives an error then) destroys
 * this socket with that error, so a driver reports the tunnel, not a clean close; otherwise
 * its close is the socket's end.
 */
export class ChannelSocket extends Duplex {
  connecting = false;
  readonly #open: () => Promise<ClientChannel>;
  readonly #lost: () => Error | null;
  #channel: ClientChannel | null = null;
  #started = false;
  #ended = false;
  #held: { chunk: Buffer; done: (err?: Error | null) => void } | null = null;
  #finalHeld: ((err?: Error | null) => void) | null = null;

  constructor(open: () => Promise<ClientChannel>, lost: () => Error | null, opts: { allowHalfOpen?: boolean } = {}) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false });
    this.#open = open;
    this.#lost = lost;
  }

  /** As a net.Socket for the drivers and the proxy: it implements the part of Socket they use. */
  asSocket(): net.Socket {
    return this as unknown as net.Socket;
  }

  connect(): this {
    if (this.#started) return this;
    this.#started = true;
    this.connecting = true;
    this.#open().then(
      (channel) => this.#attach(channel),
      (err: Error) => this.destroy(err),
    );
    return this;
  }

  #attach(channel: ClientChannel): void {
    if (this.destroyed) {
      channel.destroy();
      return;
    }
    this.#channel = channel;
    this.connecting = false;
    channel.on('data', (d: Buffer) => {
      if (!this.push(d)) channel.pause();
    });
    channel.on('error', (err: Error) => this.destroy(err));
    // ssh2 ends every channel of a dropped tunnel (after the tunnel said it closed): that end is a loss.
    const ended = () => {
      if (this.destroyed || this.#ended) return;
      const lost = this.#lost();
      if (lost) return void this.destroy(lost);
      this.#ended = true;
      this.push(null);
    };
    channel.on('end', ended);
    channel.on('close', () => {
      ended();
      if (!this.destroyed) setImmediate(() => this.destroy());
    });
    this.emit('connect');
    const held = this.#held;
    this.#held = null;
    if (held) this._write(held.chunk, 'binary', held.done);
    const fin = this.#finalHeld;
    this.#finalHeld = null;
    if (fin) this._final(fin);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    const ch = this.#channel;
    if (!ch) {
      this.#held = { chunk, done };
      return;
    }
    if (ch.write(chunk)) done();
    else ch.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.#channel) {
      this.#finalHeld = done;
      return;
    }
    this.#channel.end();
    done();
  }

  override _read(): void {
    this.#channel?.resume();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.connecting = false;
    this.#channel?.destroy();
    done(err);
  }

  // What net.Socket offers and the drivers or the proxy call; an SSH channel has no such knobs.
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** The fault proxy's reset: an SSH channel has no RST; closing it is the nearest. */
  resetAndDestroy(): this {
    return this.destroy();
  }
}
