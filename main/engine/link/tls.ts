import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls, { type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { TlsSession, TlsUse } from '../../../shared/events';
import { PoolscopeError, type Scrubber, messageOf } from '../errors';
import type { TlsSpec } from '../target-spec';

// TLS for every connection of a target: the files read once, the options both drivers pass
// to Node's tls.connect, the session read back, and failures explained.

/** The PEM files of a target, read once per connect. Never shown: only their paths are. */
export interface TlsMaterial {
  ca: Buffer | null;
  cert: Buffer | null;
  key: Buffer | null;
}

const WHAT = { ca: 'CA file (sslrootcert / ssl-ca)', cert: 'client certificate (sslcert / ssl-cert)', key: 'client key (sslkey / ssl-key)' } as const;

export async function loadTlsMaterial(spec: TlsSpec): Promise<TlsMaterial> {
  const read = async (which: keyof typeof WHAT): Promise<Buffer | null> => {
    const file = spec[which];
    if (!file) return null;
    try {
      return await readFile(file);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : messageOf(err);
      throw new PoolscopeError('tls-failed', `Cannot read the ${WHAT[which]} ${file}: ${why}. Check the path.`);
    }
  };
  const [ca, cert, key] = await Promise.all([read('ca'), read('cert'), read('key')]);
  try {
    // Parse now: a broken file is named before any connection is tried.
    tls.createSecureContext({ ca: ca ?? undefined, cert: cert ?? undefined, key: key ?? undefined });
  } catch (err) {
    const which = /key/i.test(messageOf(err)) && key ? 'key' : /cert/i.test(messageOf(err)) && cert ? 'cert' : ca ? 'ca' : 'cert';
    throw new PoolscopeError('tls-failed', `The ${WHAT[which]} ${spec[which] ?? ''} is not a usable PEM file (${messageOf(err)}). Check that it is the right file, in PEM format, and that the key belongs to the certificate.`);
  }
  return { ca, cert, key };
}

/** What a connection's TLS checked, kept to explain a refusal. */
export interface IdentityCheck {
  /** The certificate seen by the host name check, when it failed there. */
  refused: PeerCertificate | null;
}

/**
 * Node TLS options for one connection to `host` (the target's own host, whatever the socket
 * dials: the fault proxy or an SSH tunnel). verify-ca checks the chain only; verify-full the
 * host name too; encrypt checks nothing (and says so wherever the target is shown).
 */
export function secureOptions(material: TlsMaterial, use: Exclude<TlsUse, 'off'>, host: string): ConnectionOptions {
  const verify = use !== 'encrypt';
  return {
    ca: material.ca ?? undefined,
    cert: material.cert ?? undefined,
    key: material.key ?? undefined,
    rejectUnauthorized: verify,
    // SNI must not be an IP address (RFC 6066); the identity check below gets the host either way.
    servername: net.isIP(host) === 0 ? host : undefined,
    checkServerIdentity: use === 'verify-full' ? (_name, cert) => tls.checkServerIdentity(host, cert) : () => undefined,
  };
}

function names(o: Record<string, unknown> | undefined): string {
  if (!o) return '';
  return Object.entries(o)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ');
}

export function sessionOf(socket: TLSSocket): TlsSession {
  const cert = socket.getPeerCertificate();
  return {
    protocol: socket.getProtocol(),
    subject: names(cert.subject as unknown as Record<string, unknown>),
    issuer: names(cert.issuer as unknown as Record<string, unknown>),
    altNames: cert.subjectaltname ?? null,
    validFrom: Date.parse(cert.valid_from),
    validTo: Date.parse(cert.valid_to),
  };
}

const UNKNOWN_CA = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
]);

const day = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : 'unknown');

/** The certificate in a few words: subject, names, issuer, dates. */
function described(cert: TlsSession): string {
  return `the server's certificate is for ${cert.subject || 'no subject'}${cert.altNames ? ` (${cert.altNames})` : ''}, issued by ${cert.issuer || 'an unnamed issuer'}, valid from ${day(cert.validFrom)} to ${day(cert.validTo)}`;
}

export function sessionFromCert(cert: PeerCertificate): TlsSession {
  return {
    protocol: null,
    subject: names(cert.subject as unknown as Record<string, unknown>),
    issuer: names(cert.issuer as unknown as Record<string, unknown>),
    altNames: cert.subjectaltname ?? null,
    validFrom: Date.parse(cert.valid_from),
    validTo: Date.parse(cert.valid_to),
  };
}

// mysql2 replaces the code of every TLS failure with HANDSHAKE_SSL_ERROR; Node's message tells which it was.
const BY_MESSAGE: [RegExp, string][] = [
  [/certificate has expired/i, 'CERT_HAS_EXPIRED'],
  [/certificate is not yet valid/i, 'CERT_NOT_YET_VALID'],
  [/self[- ]signed certificate in certificate chain/i, 'SELF_SIGNED_CERT_IN_CHAIN'],
  [/self[- ]signed certificate/i, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  [/unable to verify the first certificate/i, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  [/unable to get local issuer certificate/i, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
  [/does not match certificate's altnames/i, 'ERR_TLS_CERT_ALTNAME_INVALID'],
];

/** Node's code for a TLS failure, also when a driver replaced it. */
export function tlsCode(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (code !== '' && code !== 'HANDSHAKE_SSL_ERROR') return code;
  const message = String(e.message ?? '');
  return BY_MESSAGE.find(([re]) => re.test(message))?.[1] ?? code;
}

/** Driver errors that are TLS failures, for describeTlsError. */
export function isTlsError(err: unknown): boolean {
  const e = err as { message?: unknown };
  const code = tlsCode(err);
  return (
    code === 'HANDSHAKE_SSL_ERROR' ||
    UNKNOWN_CA.has(code) ||
    code === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
    code === 'CERT_HAS_EXPIRED' ||
    code === 'CERT_NOT_YET_VALID' ||
    code === 'HANDSHAKE_NO_SSL_SUPPORT' ||
    code.startsWith('ERR_SSL_') ||
    /does not support SSL connections|error establishing an SSL connection|certificate required|valid client certificate|bad certificate|unknown ca|alert/i.test(String(e.message ?? ''))
  );
}

/** The server speaks no TLS (pg answered N to SSLRequest; MySQL's greeting lacks CLIENT_SSL). */
export function isNoTlsAtServer(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === 'HANDSHAKE_NO_SSL_SUPPORT' || /does not support SSL connections/i.test(String(e.message ?? ''));
}

/** The server refused a plaintext connection (pg_hba hostssl only, require_secure_transport). */
export function isTlsRequiredByServer(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  return (e.code === '28000' && /no encryption/i.test(String(e.message))) || e.errno === 3159 || /insecure transport|require_secure_transport|SSL (connection )?(is )?required/i.test(String(e.message ?? ''));
}

/**
 * What failed in a TLS handshake and what to check. `cert`: the server's certificate when it
 * could be read (the host name check keeps it; a refused chain needs inspectCertificate).
 */
interface TlsContext {
  at: string;
  host: string;
  spec: TlsSpec;
  engineName: string;
  cert: TlsSession | null;
  scrub: Scrubber;
}

/** Refusals described without the server's certificate, to describe again once it is read. */
const described_ = new WeakMap<PoolscopeError, { err: unknown; ctx: TlsContext }>();

/**
 * A refusal whose message lacks the certificate (an unknown CA, a date) described again
 * with it, as `inspect` reads it; anything else is returned as it is.
 */
export async function explainWithCertificate(err: unknown, inspect: () => Promise<TlsSession | null>): Promise<unknown> {
  const first = err instanceof PoolscopeError ? described_.get(err) : undefined;
  if (!first) return err;
  const code = tlsCode(first.err);
  if (!UNKNOWN_CA.has(code) && code !== 'CERT_HAS_EXPIRED' && code !== 'CERT_NOT_YET_VALID') return err;
  const cert = await inspect();
  return cert ? describeTlsError(first.err, { ...first.ctx, cert }) : err;
}

export function describeTlsError(err: unknown, ctx: TlsContext): PoolscopeError {
  const described = describeTls(err, ctx);
  const out = new PoolscopeError(described.code, ctx.scrub(described.message));
  if (!ctx.cert) described_.set(out, { err, ctx });
  return out;
}

function describeTls(err: unknown, ctx: TlsContext): PoolscopeError {
  const e = err as { cert?: PeerCertificate };
  const code = tlsCode(err);
  const said = messageOf(err);
  const cert = ctx.cert ?? (e.cert ? sessionFromCert(e.cert) : null);
  const about = cert ? ` (${described(cert)})` : '';
  if (isNoTlsAtServer(err)) {
    return new PoolscopeError(
      'tls-unsupported',
      `The ${ctx.engineName} server at ${ctx.at} does not support TLS, and the target asks for it (${ctx.spec.mode}). Turn TLS on at the server, or use sslmode=prefer (TLS when offered) or disable, knowing that the connection is then not encrypted.`,
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new PoolscopeError(
      'tls-failed',
      `TLS refused: the certificate at ${ctx.at} does not name the host Poolscope dialled, "${ctx.host}"; it names ${cert?.altNames ?? cert?.subject ?? 'no usable name'}${cert ? `, issued by ${cert.issuer}` : ''}. Connect by one of the certificate's names, or use sslmode=verify-ca to check the CA only.`,
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    const when = cert ? `valid from ${day(cert.validFrom)} to ${day(cert.validTo)}, and it is now ${day(Date.now())}` : said;
    return new PoolscopeError(
      'tls-failed',
      `TLS refused: the certificate at ${ctx.at} ${code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet'} (${when}). Renew the server's certificate, or check this machine's clock.`,
    );
  }
  if (UNKNOWN_CA.has(code)) {
    const ca = ctx.spec.ca ? `the CA file ${ctx.spec.ca}` : 'the public roots Node ships (no CA file was given)';
    return new PoolscopeError(
      'tls-failed',
      `TLS refused: the certificate at ${ctx.at} is not signed by a CA Poolscope trusts (${code})${about}. Poolscope checked it against ${ca}. Give the server's CA with sslrootcert (ssl-ca for MySQL), or use sslmode=require to encrypt without verifying.`,
    );
  }
  if (/certificate required|bad certificate|unknown ca|valid client certificate|ssl alert number 4[0-9]/i.test(said)) {
    return new PoolscopeError(
      'tls-failed',
      `TLS refused by the server at ${ctx.at}: it did not accept ${ctx.spec.cert ? `the client certificate ${ctx.spec.cert}` : 'a connection without a client certificate'} (${said}). ${ctx.spec.cert ? 'Check that the certificate is signed by a CA the server trusts, and its user (CN) is the one connecting.' : 'Give a client certificate and key (sslcert and sslkey, or ssl-cert and ssl-key).'}`,
    );
  }
  return new PoolscopeError('tls-failed', `The TLS handshake with ${ctx.at} failed: ${said}${about}. Check the TLS settings of the target and of the server.`);
}

/**
 * Reads the certificate a server presents without trusting it and without sending any
 * credential: only the protocol's TLS upgrade (pg's SSLRequest; MySQL's greeting and
 * SSLRequest) and a handshake that is then closed. Used only to explain a refusal.
 */
export async function inspectCertificate(engine: 'postgres' | 'mysql', socket: net.Socket, host: string, timeoutMs = 5_000): Promise<TlsSession | null> {
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      if (!socket.connecting) resolve();
      else socket.once('connect', () => resolve());
    });
    if (engine === 'postgres') {
      const req = Buffer.alloc(8);
      req.writeInt32BE(8, 0);
      req.writeInt32BE(80877103, 4);
      socket.write(req);
      const answer = await readBytes(socket, 1);
      if (answer.toString() !== 'S') return null;
    } else {
      const greeting = await readPacket(socket);
      const caps = mysqlCapabilities(greeting);
      if (caps === null || (caps & CLIENT_SSL) === 0) return null;
      const payload = Buffer.alloc(32);
      payload.writeUInt32LE(CLIENT_SSL | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION, 0);
      payload.writeUInt32LE(0xffffff, 4);
      payload[8] = 33;
      const header = Buffer.from([32, 0, 0, 1]);
      socket.write(Buffer.concat([header, payload]));
    }
    const secure = tls.connect({ socket, rejectUnauthorized: false, servername: net.isIP(host) === 0 ? host : undefined });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    const session = sessionOf(secure);
    secure.destroy();
    return session;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;

function readBytes(socket: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < n) return;
      socket.off('data', onData);
      socket.pause();
      if (got.length > n) socket.unshift(got.subarray(n));
      resolve(got.subarray(0, n));
    };
    socket.on('data', onData);
    socket.resume();
    socket.once('close', () => reject(new Error('closed')));
  });
}

async function readPacket(socket: net.Socket): Promise<Buffer> {
  const header = await readBytes(socket, 4);
  return readBytes(socket, header.readUIntLE(0, 3));
}

/** The greeting's capability flags (lower and upper 16 bits), or null when it is an error packet. */
function mysqlCapabilities(p: Buffer): number | null {
  if (p[0] !== 10) return null;
  let i = p.indexOf(0, 1) + 1; // server version, NUL-terminated
  i += 4 + 8 + 1; // connection id, auth data part 1, filler
  const lower = p.readUInt16LE(i);
  i += 2 + 1 + 2; // lower flags, charset, status
  const upper = p.length >= i + 2 ? p.readUInt16LE(i) : 0;
  return (upper << 16) | lower;
}
