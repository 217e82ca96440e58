import type { EngineKind, TargetInfo } from '../../shared/events';
import { targetFieldsSchema, type TargetFields } from '../../shared/target-schema';
import { PoolscopeError, maskTarget } from './errors';

/** Everything needed to connect. Holds the password: never put one in an event or a message. */
export interface TargetSpec {
  engine: EngineKind;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | null;
  tls: boolean;
  embedded: boolean;
}

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

export function parseTargetUrl(url: string): TargetSpec {
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
  const port = u.port ? Number(u.port) : DEFAULT_PORT[engine];
  const user = decode(u.username, 'user name', shown) || (engine === 'postgres' ? 'postgres' : 'root');
  const sslmode = u.searchParams.get('sslmode');
  const ssl = u.searchParams.get('ssl');
  return {
    engine,
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    database,
    user,
    password: u.password ? decode(u.password, 'password', shown) : null,
    tls: (sslmode !== null && sslmode !== 'disable') || ssl === 'true' || ssl === '1',
    embedded: false,
  };
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
    tls: f.tls ?? false,
    embedded: false,
  };
}

export function parseTarget(input: string | unknown): TargetSpec {
  return typeof input === 'string' ? parseTargetUrl(input) : parseTargetFields(input);
}

export function targetInfo(spec: TargetSpec): TargetInfo {
  const scheme = spec.engine === 'postgres' ? 'postgres' : 'mysql';
  const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
  return {
    engine: spec.engine,
    host: spec.host,
    port: spec.port,
    database: spec.database,
    user: spec.user,
    tls: spec.tls,
    display: `${scheme}://${encodeURIComponent(spec.user)}@${host}:${spec.port}/${encodeURIComponent(spec.database)}`,
    embedded: spec.embedded,
  };
}

/** Where, in a message: `host:port` (and the database when it matters). */
export function where(spec: TargetSpec): string {
  return `${spec.host}:${spec.port}`;
}
