import { type ErrorCode, PoolscopeError, messageOf } from './errors';
import { describeTlsError, isTlsError, isTlsRequiredByServer } from './link/tls';
import type { TargetSpec } from './target-spec';
import { specScrubber, where } from './target-spec';

interface DriverError {
  code?: unknown;
  errno?: unknown;
}

const AUTH_PG = new Set(['28P01', '28000']);
const AUTH_MYSQL = new Set([1044, 1045, 1698]);

function serverName(spec: TargetSpec): string {
  return spec.engine === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB';
}

const NETWORK_CODES = new Set<ErrorCode>(['connection-refused', 'connect-timeout', 'connection-lost']);

/**
 * Turns a driver's connect error into a message that says what failed and what to check.
 * With `via` (the fault proxy), network failures also point at the faults set on it.
 */
export function describeConnectError(err: unknown, spec: TargetSpec, via: { host: string; port: number } | null = null): PoolscopeError {
  const described = describe(err, spec);
  if (!via || !NETWORK_CODES.has(described.code)) return described;
  return new PoolscopeError(described.code, `${described.message} The pool connects through Poolscope's fault proxy at ${via.host}:${via.port}: check the faults set on it.`);
}

function describe(err: unknown, spec: TargetSpec): PoolscopeError {
  if (err instanceof PoolscopeError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as DriverError;
  const code = typeof e.code === 'string' ? e.code : '';
  const errno = typeof e.errno === 'number' ? e.errno : null;
  const said = specScrubber(spec)(messageOf(err));
  const at = where(spec);
  if (isTlsError(err)) return describeTlsError(err, { at, host: spec.host, spec: spec.tls, engineName: serverName(spec), cert: null, scrub: specScrubber(spec) });
  if (isTlsRequiredByServer(err)) {
    return new PoolscopeError(
      'tls-required',
      `The server at ${at} refuses connections without TLS (${said}). Use sslmode=require or, better, verify-full with the server's CA (ssl-mode=REQUIRED / VERIFY_IDENTITY for MySQL).`,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return new PoolscopeError('host-not-found', `Cannot find host "${spec.host}": the name does not resolve. Check the host name of the target.`);
  }
  if (code === 'ECONNREFUSED' && spec.ssh) {
    return new PoolscopeError(
      'connection-refused',
      `Connection refused at ${at}, as the SSH host ${spec.ssh.host} tried it: nothing is listening there. Check that the ${serverName(spec)} server is running, and its host and port as seen from the SSH host.`,
    );
  }
  if (code === 'ECONNREFUSED') {
    return new PoolscopeError(
      'connection-refused',
      `Connection refused at ${at}: nothing is listening there. Check that the ${serverName(spec)} server is running and that the port is right.`,
    );
  }
  if (code === 'ETIMEDOUT' || /timeout (expired|exceeded)|connection timeout|connect ETIMEDOUT/i.test(said)) {
    return new PoolscopeError(
      'connect-timeout',
      `No answer from ${at} in time (${said}). Check the host and port, and any firewall or proxy in between.`,
    );
  }
  if (AUTH_PG.has(code) || (errno !== null && AUTH_MYSQL.has(errno)) || /client password must be a string/i.test(said)) {
    return new PoolscopeError(
      'auth-failed',
      `Authentication failed for user "${spec.user}" at ${at}${spec.password ? '' : ' (no password was given)'}. Check the user name and password${spec.tls.cert ? '' : ', and whether this user must connect with TLS or a client certificate (sslcert and sslkey)'}. The server said: ${said}`,
    );
  }
  if (code === '3D000' || errno === 1049) {
    return new PoolscopeError(
      'unknown-database',
      `Database "${spec.database}" does not exist at ${at}. Check the database name, or create it first.`,
    );
  }
  if (code === '53300' || errno === 1040) {
    return new PoolscopeError(
      'too-many-connections',
      `The server at ${at} refused a new connection: too many connections. Lower the pool size or the number of app instances, or raise max_connections. The server said: ${said}`,
    );
  }
  if (code === '57P03' || code === '57P01') {
    return new PoolscopeError(
      'server-unavailable',
      `The server at ${at} is shutting down, starting up or restarting, and takes no new connections now: ${said}. Wait for it to be up; the pool connects again by itself.`,
    );
  }
  if (/Queue limit reached|No connections available/i.test(said)) {
    return new PoolscopeError(
      'pool-refused',
      `mysql2's pool refused the borrower without waiting: ${said} Check queueLimit and waitForConnections.`,
    );
  }
  if (code === 'ECONNRESET' || code === 'PROTOCOL_CONNECTION_LOST' || /terminated unexpectedly|Connection lost/i.test(said)) {
    return new PoolscopeError('connection-lost', `The connection to ${at} was lost: ${said}. Check that the server is up and reachable.`);
  }
  return new PoolscopeError('server-error', `Could not use the ${serverName(spec)} server at ${at}: ${said}`);
}
