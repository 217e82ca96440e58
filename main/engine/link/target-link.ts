import net from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { TargetInfo, TlsUse } from '../../../shared/events';
import type { Scrubber } from '../errors';
import { type TargetSpec, specScrubber, targetInfo, tlsAttempts } from '../target-spec';
import type { KnownHosts } from './known-hosts';
import { SshTunnel } from './ssh-tunnel';
import { type TlsMaterial, inspectCertificate, loadTlsMaterial, secureOptions } from './tls';

/** Where a pool dials instead of the target: the fault proxy. */
export interface Via {
  host: string;
  port: number;
}

/** A TCP socket whose connect() dials a fixed address, whatever the driver passes. */
class RoutedSocket extends net.Socket {
  readonly #to: Via;

  constructor(to: Via, allowHalfOpen: boolean) {
    super({ allowHalfOpen });
    this.#to = to;
  }

  override connect(..._ignored: unknown[]): this {
    return super.connect(this.#to);
  }
}

const NO_MATERIAL: TlsMaterial = { ca: null, cert: null, key: null };

/**
 * How every connection of a target is made: the one place pools, side pools, the server
 * monitor, terminate and the fault proxy's upstream dial through, so none can bypass the
 * target's TLS or its SSH tunnel.
 *
 * - `socket()` gives an unconnected socket to the database (straight, or a channel through the
 *   SSH tunnel), or to the fault proxy when one is given. TLS always ends at the database:
 *   the proxy and the tunnel only carry bytes.
 * - `tls` holds the Node TLS options for `use`, checking the target's own host name whatever
 *   the socket dials.
 */
export class TargetLink {
  readonly spec: TargetSpec;
  readonly use: TlsUse;
  readonly tunnel: SshTunnel | null;
  readonly scrub: Scrubber;
  readonly tls: TlsConnectionOptions | null;
  readonly #material: TlsMaterial;

  private constructor(spec: TargetSpec, use: TlsUse, material: TlsMaterial, tunnel: SshTunnel | null) {
    this.spec = spec;
    this.use = use;
    this.tunnel = tunnel;
    this.#material = material;
    this.scrub = specScrubber(spec);
    this.tls = use === 'off' ? null : secureOptions(material, use, spec.host);
  }

  /**
   * Reads the TLS files and opens the SSH tunnel (its host key checked) for a target. The
   * link uses the mode's first choice; `attempts()` lists the others (prefer, allow).
   */
  static async open(spec: TargetSpec, knownHosts: KnownHosts): Promise<TargetLink> {
    const material = await loadTlsMaterial(spec.tls);
    const tunnel = spec.ssh ? await SshTunnel.open(spec.ssh, knownHosts, specScrubber(spec)) : null;
    return new TargetLink(spec, tlsAttempts(spec.tls)[0] as TlsUse, material, tunnel);
  }

  /** A target with neither TLS nor SSH (the embedded database, benches): nothing to read or open. */
  static plain(spec: TargetSpec): TargetLink {
    return new TargetLink(spec, 'off', NO_MATERIAL, null);
  }

  /** The TLS uses to try in order (prefer: encrypt, then off; allow: the reverse). */
  attempts(): TargetLink[] {
    return tlsAttempts(this.spec.tls).map((use) => (use === this.use ? this : new TargetLink(this.spec, use, this.#material, this.tunnel)));
  }

  info(): TargetInfo {
    return targetInfo(this.spec, { use: this.use, fingerprint: this.tunnel?.fingerprint ?? null });
  }

  /** 'ssh' when a socket's connect opens a tunnel channel (its time is the SSH leg), else 'socket'. */
  leg(via: Via | null): 'ssh' | 'socket' {
    return this.tunnel && !via ? 'ssh' : 'socket';
  }

  /** An unconnected socket to the database, through the tunnel if any; to `via` (the fault proxy) when given. */
  socket(via: Via | null = null, opts: { allowHalfOpen?: boolean } = {}): net.Socket {
    if (via) return new RoutedSocket({ host: via.host, port: via.port }, opts.allowHalfOpen ?? false);
    if (this.tunnel) return this.tunnel.socket(this.spec.host, this.spec.port, opts);
    return new RoutedSocket({ host: this.spec.host, port: this.spec.port }, opts.allowHalfOpen ?? false);
  }

  /** socket(), connecting. */
  dial(via: Via | null = null, opts: { allowHalfOpen?: boolean } = {}): net.Socket {
    const socket = this.socket(via, opts);
    (socket as unknown as { connect(): void }).connect();
    return socket;
  }

  /** The certificate the server presents, read without trusting it and without credentials (to explain a refusal). */
  inspectCertificate(): ReturnType<typeof inspectCertificate> {
    return inspectCertificate(this.spec.engine, this.dial(), this.spec.host);
  }
}
