import { readFile } from 'node:fs/promises';
import type net from 'node:net';
import ssh2, { type ClientChannel, type ConnectConfig } from 'ssh2';

const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;
import { PoolscopeError, type Scrubber, messageOf } from '../errors';
import type { SshSpec } from '../target-spec';
import { ChannelSocket } from './channel-socket';
import { type KnownHosts, fingerprintOf, keyTypeOf } from './known-hosts';

/** The host key a refusal is about, for the UI to show and the user to accept. */
export interface HostKeyInfo {
  host: string;
  port: number;
  keyType: string;
  fingerprint: string;
}

/** An unknown or changed SSH host key: the message says which, `hostKey` carries the fingerprint. */
export class HostKeyError extends PoolscopeError {
  readonly hostKey: HostKeyInfo;

  constructor(code: 'ssh-host-key-unknown' | 'ssh-host-key-changed', message: string, hostKey: HostKeyInfo) {
    super(code, message);
    this.hostKey = hostKey;
  }
}

const READY_TIMEOUT_MS = 10_000;
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

type Listener = (up: boolean, message: string) => void;

/**
 * An SSH session to a bastion (the ssh2 package, not a spawned ssh) and a channel through it
 * for every connection of the target. The host key is checked on every (re)connect: the one
 * the user pinned, else known_hosts, else the user is asked (HostKeyError with the
 * fingerprint); a key other than the first session's is refused. A session that drops is
 * reported and re-established with backoff; while it is down, a new channel fails at once
 * with the reason instead of waiting.
 */
export class SshTunnel {
  readonly #spec: SshSpec;
  readonly #known: KnownHosts;
  readonly #scrub: Scrubber;
  readonly #timeoutMs: number;
  #fingerprint: string | null = null;
  #client: Client | null = null;
  #connecting: Promise<Client> | null = null;
  #lastError: Error | null = null;
  #retryMs = RETRY_FIRST_MS;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #listeners = new Set<Listener>();

  private constructor(spec: SshSpec, known: KnownHosts, scrub: Scrubber, timeoutMs: number) {
    this.#spec = spec;
    this.#known = known;
    this.#scrub = scrub;
    this.#timeoutMs = timeoutMs;
  }

  /** Connects (checking the host key) and resolves once the session is up. */
  static async open(spec: SshSpec, known: KnownHosts, scrub: Scrubber, opts: { timeoutMs?: number } = {}): Promise<SshTunnel> {
    const tunnel = new SshTunnel(spec, known, scrub, opts.timeoutMs ?? READY_TIMEOUT_MS);
    tunnel.#client = await tunnel.#connect();
    return tunnel;
  }

  get where(): string {
    return `${this.#spec.user}@${this.#spec.host}:${this.#spec.port}`;
  }

  /** The host key checked (SHA256:…). */
  get fingerprint(): string | null {
    return this.#fingerprint;
  }

  get up(): boolean {
    return this.#client !== null;
  }

  /** Called when the session drops (up false) and when it is back (up true). */
  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** An unconnected socket whose connect() opens a channel to host:port through the bastion. */
  socket(host: string, port: number, opts: { allowHalfOpen?: boolean } = {}): net.Socket {
    const lost = () => (this.#client ? null : Object.assign(new Error(`the SSH tunnel through ${this.where} dropped`), { code: 'ECONNRESET' }));
    return new ChannelSocket(() => this.#channel(host, port), lost, opts).asSocket();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#listeners.clear();
    const client = this.#client ?? (await this.#connecting?.catch(() => null)) ?? null;
    this.#client = null;
    if (!client) return;
    await new Promise<void>((resolve) => {
      client.once('close', () => resolve());
      client.end();
      setTimeout(resolve, 1_000).unref();
    });
  }

  async #channel(host: string, port: number): Promise<ClientChannel> {
    const client = this.#client ?? (await this.#session());
    return new Promise((resolve, reject) => {
      client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => {
        if (!err) return resolve(channel);
        const refused = /refused/i.test(err.message);
        reject(
          Object.assign(new Error(`the SSH host ${this.#spec.host} could not open a connection to ${host}:${port} (${err.message}). Check the database's host and port as the bastion sees them`), {
            code: refused ? 'ECONNREFUSED' : 'ECONNRESET',
          }),
        );
      });
    });
  }

  /** The session while it is (re)connecting; while it waits to retry, the last failure at once. */
  async #session(): Promise<Client> {
    if (this.#closed) throw new PoolscopeError('ssh-failed', `The SSH tunnel through ${this.where} is closed.`);
    if (this.#connecting) return this.#connecting;
    throw new PoolscopeError('ssh-failed', `The SSH tunnel through ${this.where} is down and reconnecting: ${messageOf(this.#lastError)}`);
  }

  #dropped(client: Client, why: string): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = null;
    this.#lastError = new Error(why);
    this.#emit(false, `The SSH tunnel through ${this.where} dropped (${why}); every connection through it is lost. Reconnecting.`);
    this.#retryMs = RETRY_FIRST_MS;
    this.#reconnect();
  }

  #reconnect(): void {
    if (this.#closed) return;
    const attempt = this.#connect();
    this.#connecting = attempt;
    attempt.then(
      (client) => {
        this.#connecting = null;
        if (this.#closed) return void client.end();
        this.#client = client;
        this.#emit(true, `The SSH tunnel through ${this.where} is up again.`);
      },
      (err: Error) => {
        this.#connecting = null;
        this.#lastError = err;
        // A host key that changed is not retried: it stays refused until the user acts.
        if (this.#closed || err instanceof HostKeyError) return;
        this.#retry = setTimeout(() => this.#reconnect(), this.#retryMs);
        this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
      },
    );
  }

  #emit(up: boolean, message: string): void {
    for (const l of this.#listeners) l(up, message);
  }

  async #connect(): Promise<Client> {
    const config = await this.#auth();
    const client = new Client();
    let refusal: PoolscopeError | null = null;
    let presented: Buffer | null = null;
    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      client.on('error', (err) => {
        if (ready) return; // the 'close' after it reports the drop
        reject(refusal ?? this.#describe(err));
      });
      client.once('ready', () => {
        ready = true;
        const key = presented as Buffer;
        // A key the user accepted in this request is remembered where Poolscope keeps its own.
        const remember = this.#fingerprint === null && this.#spec.hostKey !== null;
        this.#fingerprint = fingerprintOf(key);
        client.on('close', () => this.#dropped(client, 'the connection closed'));
        // Written before the connect resolves: the next connect finds it.
        const remembered = remember
          ? this.#known.check(this.#spec.host, this.#spec.port, key).then((v) => (v.kind === 'unknown' ? this.#known.remember(this.#spec.host, this.#spec.port, key) : undefined))
          : Promise.resolve();
        remembered.catch(() => undefined).then(() => resolve(client));
      });
      client.connect({
        ...config,
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          presented = key;
          this.#checkHostKey(key).then(
            (err) => {
              refusal = err;
              verify(err === null);
            },
            (err: unknown) => {
              refusal = new PoolscopeError('ssh-failed', `Cannot check the SSH host key of ${this.#spec.host}: ${messageOf(err)}`);
              verify(false);
            },
          );
        },
      } as ConnectConfig);
    });
  }

  /** null when the key may be used; else why not. */
  async #checkHostKey(key: Buffer): Promise<PoolscopeError | null> {
    const { host, port } = this.#spec;
    const info: HostKeyInfo = { host, port, keyType: keyTypeOf(key), fingerprint: fingerprintOf(key) };
    const at = `${host}:${port}`;
    const pinned = this.#fingerprint ?? this.#spec.hostKey;
    if (pinned !== null) {
      if (pinned === info.fingerprint) return null;
      const since = this.#fingerprint !== null ? 'the key this tunnel connected with' : 'the key accepted for this target';
      return new HostKeyError(
        'ssh-host-key-changed',
        `The SSH host key of ${at} has changed: it presented ${info.keyType} ${info.fingerprint}, not ${pinned} (${since}). Someone may be intercepting the connection, or the host was reinstalled: Poolscope refuses it. Check the new key with the host's administrator before accepting it.`,
        info,
      );
    }
    const verdict = await this.#known.check(host, port, key);
    if (verdict.kind === 'known') return null;
    if (verdict.kind === 'revoked') {
      return new HostKeyError('ssh-host-key-changed', `The SSH host key ${info.fingerprint} of ${at} is marked @revoked in ${verdict.file}: Poolscope refuses it.`, info);
    }
    if (verdict.kind === 'changed') {
      return new HostKeyError(
        'ssh-host-key-changed',
        `The SSH host key of ${at} has changed: it presented ${info.keyType} ${info.fingerprint}, and ${verdict.file} (line ${verdict.line}) holds another ${info.keyType} key for it. Someone may be intercepting the connection, or the host was reinstalled: Poolscope refuses it. If the change is expected, remove that line (ssh-keygen -R) and connect again.`,
        info,
      );
    }
    return new HostKeyError(
      'ssh-host-key-unknown',
      `The SSH host ${at} is not known yet. Its ${info.keyType} host key has the fingerprint ${info.fingerprint}. Check it with the host's administrator (ssh-keygen -lf on the host's key), then accept it to connect.`,
      info,
    );
  }

  async #auth(): Promise<Partial<ConnectConfig>> {
    const s = this.#spec;
    const base: Partial<ConnectConfig> = { host: s.host, port: s.port, username: s.user, readyTimeout: this.#timeoutMs, keepaliveInterval: 5_000, keepaliveCountMax: 3 };
    if (s.auth === 'password') {
      if (!s.password) throw new PoolscopeError('ssh-failed', `The SSH login ${this.where} uses a password, and none was given: enter it to connect.`);
      return { ...base, password: s.password, tryKeyboard: false };
    }
    if (s.auth === 'agent') {
      const agent = process.platform === 'win32' ? 'pageant' : process.env.SSH_AUTH_SOCK;
      if (!agent) throw new PoolscopeError('ssh-failed', `The SSH login ${this.where} uses the SSH agent, but no agent is running here (SSH_AUTH_SOCK is not set). Start one (ssh-agent, ssh-add) or use a key file.`);
      return { ...base, agent };
    }
    const file = s.keyFile as string;
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new PoolscopeError('ssh-failed', `Cannot read the SSH key ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : messageOf(err)}. Check the path.`);
    }
    const parsed = utils.parseKey(data, s.passphrase ?? undefined);
    if (parsed instanceof Error) {
      const m = parsed.message;
      if (/no passphrase/i.test(m)) throw new PoolscopeError('ssh-failed', `The SSH key ${file} is protected by a passphrase: give it to connect.`);
      if (/passphrase|decrypt|bad decrypt|integrity/i.test(m)) throw new PoolscopeError('ssh-failed', `The passphrase for the SSH key ${file} is wrong.`);
      throw new PoolscopeError('ssh-failed', `${file} is not a private key Poolscope can use (${this.#scrub(m)}). Give an OpenSSH or PEM private key file.`);
    }
    return { ...base, privateKey: data, passphrase: s.passphrase ?? undefined };
  }

  #describe(err: Error & { level?: string; code?: unknown }): PoolscopeError {
    const s = this.#spec;
    const at = `${s.host}:${s.port}`;
    const said = this.#scrub(err.message);
    if (err.level === 'client-authentication') {
      const how = s.auth === 'key' ? `the key ${s.keyFile}` : s.auth === 'password' ? 'the password given' : "the SSH agent's keys";
      return new PoolscopeError('ssh-failed', `The SSH host ${at} refused user "${s.user}" with ${how}. Check the user name and that the host accepts it (authorized_keys, or the password).`);
    }
    if (err.code === 'ECONNREFUSED') return new PoolscopeError('ssh-failed', `Connection refused at the SSH host ${at}: no SSH server listens there. Check the SSH host and port.`);
    if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return new PoolscopeError('ssh-failed', `Cannot find the SSH host "${s.host}": the name does not resolve.`);
    if (err.level === 'client-timeout' || /timed out/i.test(said)) {
      return new PoolscopeError('ssh-failed', `No SSH handshake from ${at} within ${Math.round(this.#timeoutMs / 1000)} s. Check the SSH host and port, and any firewall in between.`);
    }
    return new PoolscopeError('ssh-failed', `The SSH connection to ${at} failed: ${said}`);
  }
}
