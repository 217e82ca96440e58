import mysql from 'mysql2/promise';
import pg from 'pg';
import { PoolscopeError, messageOf, scrubber } from '../errors';
import { type TargetSpec, targetInfo } from '../target-spec';

/**
 * Ends one server session from outside its pool, on a short-lived connection of its own
 * (never a pooled one, never through the fault proxy): pg_terminate_backend, or KILL.
 * The caller has checked that the session is Poolscope's.
 */
export async function terminateSession(spec: TargetSpec, serverId: number): Promise<void> {
  const scrub = scrubber(spec.password);
  try {
    if (spec.engine === 'postgres') {
      const client = new pg.Client({ host: spec.host, port: spec.port, user: spec.user, password: spec.password ?? undefined, database: spec.database, application_name: 'poolscope-admin', ssl: spec.tls ? { rejectUnauthorized: false } : undefined });
      client.on('error', () => undefined);
      await client.connect();
      try {
        const r = await client.query('SELECT pg_terminate_backend($1) AS done', [serverId]);
        if ((r.rows[0] as { done: boolean } | undefined)?.done !== true) throw new Error(`no session with pid ${serverId} is running`);
      } finally {
        await client.end().catch(() => undefined);
      }
    } else {
      const conn = await mysql.createConnection({ host: spec.host, port: spec.port, user: spec.user, password: spec.password ?? undefined, database: spec.database, ssl: spec.tls ? { rejectUnauthorized: false } : undefined });
      conn.on('error', () => undefined);
      try {
        await conn.query(`KILL ${Math.trunc(serverId)}`);
      } finally {
        await conn.end().catch(() => undefined);
      }
    }
  } catch (err) {
    const how = spec.engine === 'postgres' ? 'pg_terminate_backend' : 'KILL';
    throw new PoolscopeError('server-error', `Could not terminate session ${serverId} on ${targetInfo(spec).display} (${how}): ${scrub(messageOf(err))}. Check that the user may end its own sessions.`);
  }
}
