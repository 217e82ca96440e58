import type { EngineKind, TargetInfo, TlsUse } from '../../shared/events';
import { type SshAuth, type TargetFields, type TlsMode, targetFieldsSchema } from '../../shared/target-schema';
import { PoolscopeError, maskTarget, scrubberFor, type Scrubber } from './errors';
import { readTlsParams } from './link/tls-params';

export interface TlsSpec {
  mode: TlsMode;
  /** PEM file paths; ca null: the public roots Node ships. */
  ca: string | null;
  cert: string | null;
  key: string | null;
}

export interface SshSpec {
  host: string;
  port: number;
  user: string;
  auth: SshAuth;
  keyFile: string | null;
  /** Secrets, like the database password. */
  passphrase: string | null;
  password: string | null;
  /** A fingerprint accepted for this host (SHA256:…), checked before any known_hosts file. */
  hostKey: string | null;
}

/** Everything needed to connect. Holds secrets: never put one in an event or a message. */
export interface TargetSpec {
  engine: EngineKind;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | null;
  tls: TlsSpec;
  ssh: SshSpec | null;
  embedded: boolean;
}

export const NO_TLS: TlsSpec = Object.freeze({ mode: 'disable', ca: null, cert: null, key: null });

const DEFAULT_PORT: Record<EngineKind, number> = { postgres: 5432, mysql: 3306 };

const SCHEMES: Record<string, EngineKind> = {
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mysql:': 'mysql',
  'mariadb:': 'mysql',
};

const EXPECTED = 'Expected a URL such as postgres://user:password@host:5432/database or mysql://user:password@host:3306/database.';

function decode(part: string, what: string, shown: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new PoolscopeError('bad-target', `The ${what} in ${shown} is not valid percent-encoding. ${EXPECTED}`);
  }
}

/**
 * A URL as target fields: the TLS parameters read (or refused, naming the one at fault),
 * the password kept. Importing a profile from a URL is this.
 */
export function urlToFields(url: string): TargetFields {
  const shown = maskTarget(url);
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new PoolscopeError('bad-target', `Cannot read the database URL "${shown}". ${EXPECTED}`);
  }
  const engine = SCHEMES[u.protocol];
  if (!engine) {
    throw new PoolscopeError(
      'unknown-engine',
      `Unknown database engine "${u.protocol.replace(/:$/, '')}" in "${shown}". Poolscope supports postgres:// (or postgresql://) and mysql:// (or mariadb://).`,
    );
  }
  if (!u.hostname) throw new PoolscopeError('bad-target', `The URL "${shown}" has no host. ${EXPECTED}`);
  // The parser ends the host at the first / or ?: an @ after it means the password held one, unencoded.
  if (`${u.pathname}${u.search}`.includes('@')) throw new PoolscopeError('bad-target', `The URL "${shown}" has an @ after its host: a password with / ? # or @ in it must be percent-encoded (%2F %3F %23 %40).`);
  const database = decode(u.pathname.replace(/^\//, ''), 'database name', shown);
  if (!database) throw new PoolscopeError('bad-target', `The URL "${shown}" names no database. ${EXPECTED}`);
  const tls = readTlsParams(u.searchParams, shown);
  const password = u.password ? decode(u.password, 'password', shown) : undefined;
  return {
    engine,
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : DEFAULT_PORT[engine],
    database,
    user: decode(u.username, 'user name', shown) || (engine === 'postgres' ? 'postgres' : 'root'),
    ...(password === undefined ? {} : { password }),
    ...(tls ? { tls } : {}),
  };
}

export function parseTargetUrl(url: string): TargetSpec {
  return parseTargetFields(urlToFields(url));
}

export function parseTargetFields(fields: unknown): TargetSpec {
  const r = targetFieldsSchema.safeParse(fields);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.join('.') || 'target';
    throw new PoolscopeError('bad-target', `The target's ${where} is not valid: ${issue?.message ?? 'unknown problem'}.`);
  }
  const f: TargetFields = r.data;
  return {
    engine: f.engine,
    host: f.host,
    port: f.port ?? DEFAULT_PORT[f.engine],
    database: f.database,
    user: f.user,
    password: f.password ?? null,
    tls: f.tls ? { mode: f.tls.mode, ca: f.tls.ca ?? null, cert: f.tls.cert ?? null, key: f.tls.key ?? null } : { ...NO_TLS },
    ssh: f.ssh
      ? {
          host: f.ssh.host,
          port: f.ssh.port ?? 22,
          user: f.ssh.user,
          auth: f.ssh.auth,
          keyFile: f.ssh.keyFile ?? null,
          passphrase: f.ssh.passphrase ?? null,
          password: f.ssh.password ?? null,
          hostKey: f.ssh.hostKey ?? null,
        }
      : null,
    embedded: false,
  };
}

export function parseTarget(input: string | unknown): TargetSpec {
  return typeof input === 'string' ? parseTargetUrl(input) : parseTargetFields(input);
}

/** The spec as fields again (a saved profile, an export); `secrets: false` leaves every secret out. */
export function specToFields(spec: TargetSpec, opts: { secrets: boolean }): TargetFields {
  const { tls, ssh } = spec;
  const keep = (v: string | null) => (opts.secrets && v !== null ? v : undefined);
  const drop = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;
  return drop({
    engine: spec.engine,
    host: spec.host,
    port: spec.port,
    database: spec.database,
    user: spec.user,
    password: keep(spec.password),
    tls: tls.mode === 'disable' && !tls.ca && !tls.cert ? undefined : drop({ mode: tls.mode, ca: tls.ca ?? undefined, cert: tls.cert ?? undefined, key: tls.key ?? undefined }),
    ssh: ssh
      ? drop({
          host: ssh.host,
          port: ssh.port,
          user: ssh.user,
          auth: ssh.auth,
          keyFile: ssh.keyFile ?? undefined,
          passphrase: keep(ssh.passphrase),
          password: keep(ssh.password),
          hostKey: ssh.hostKey ?? undefined,
        })
      : undefined,
  });
}

/** Every secret a target holds: the scrubber removes each from any text shown. */
export function secretsOf(spec: TargetSpec): string[] {
  return [spec.password, spec.ssh?.passphrase, spec.ssh?.password].filter((s): s is string => typeof s === 'string' && s.length > 0);
}

export function specScrubber(spec: TargetSpec): Scrubber {
  return scrubberFor(secretsOf(spec));
}

/** The target as shown: `use` is how TLS is applied (prefer/allow decided), `fingerprint` the SSH host key checked. */
export function targetInfo(spec: TargetSpec, applied: { use?: TlsUse; fingerprint?: string | null } = {}): TargetInfo {
  const scheme = spec.engine === 'postgres' ? 'postgres' : 'mysql';
  const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
  const s = spec.ssh;
  return {
    engine: spec.engine,
    host: spec.host,
    port: spec.port,
    database: spec.database,
    user: spec.user,
    tls: { mode: spec.tls.mode, use: applied.use ?? plannedUse(spec.tls), ca: spec.tls.ca, cert: spec.tls.cert, key: spec.tls.key },
    ssh: s ? { host: s.host, port: s.port, user: s.user, auth: s.auth, keyFile: s.keyFile, fingerprint: applied.fingerprint ?? null } : null,
    display: `${scheme}://${encodeURIComponent(spec.user)}@${host}:${spec.port}/${encodeURIComponent(spec.database)}`,
    embedded: spec.embedded,
  };
}

/**
 * The TLS uses to try, in order, for a mode (libpq's meanings): allow tries plaintext
 * first, prefer TLS first; require with a CA file verifies against it, as libpq does.
 */
export function tlsAttempts(tls: TlsSpec): TlsUse[] {
  switch (tls.mode) {
    case 'disable':
      return ['off'];
    case 'allow':
      return ['off', 'encrypt'];
    case 'prefer':
      return ['encrypt', 'off'];
    case 'require':
      return [tls.ca ? 'verify-ca' : 'encrypt'];
    case 'verify-ca':
      return ['verify-ca'];
    case 'verify-full':
      return ['verify-full'];
  }
}

function plannedUse(tls: TlsSpec): TlsUse {
  return tlsAttempts(tls)[0] as TlsUse;
}

/** Where, in a message: `host:port` (and the database when it matters). */
export function where(spec: TargetSpec): string {
  return `${spec.host}:${spec.port}`;
}
