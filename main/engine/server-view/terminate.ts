import pg from 'pg';
import { PoolscopeError, messageOf } from '../errors';
import type { TargetLink } from '../link/target-link';
import { connectMysql } from '../pool/mysql-driver';
import { pgClientConfig } from '../pool/pg-driver';

/**
 * Ends one server session from outside its pool, on a short-lived connection of its own
 * (never a pooled one, never through the fault proxy): pg_terminate_backend, or KILL.
 * The caller has checked that the session is Poolscope's.
 */
export async function terminateSession(link: TargetLink, serverId: number): Promise<void> {
  const spec = link.spec;
  try {
    if (spec.engine === 'postgres') {
      const client = new pg.Client({ ...pgClientConfig(link, null), application_name: 'poolscope-admin' });
      client.on('error', () => undefined);
      await client.connect();
      try {
        const r = await client.query('SELECT pg_terminate_backend($1) AS done', [serverId]);
        if ((r.rows[0] as { done: boolean } | undefined)?.done !== true) throw new Error(`no session with pid ${serverId} is running`);
      } finally {
        await client.end().catch(() => undefined);
      }
    } else {
      const conn = await connectMysql(link, 'poolscope-admin');
      conn.on('error', () => undefined);
      try {
        await conn.query(`KILL ${Math.trunc(serverId)}`);
      } finally {
        await conn.end().catch(() => undefined);
      }
    }
  } catch (err) {
    const how = spec.engine === 'postgres' ? 'pg_terminate_backend' : 'KILL';
    throw new PoolscopeError('server-error', `Could not terminate session ${serverId} on ${link.info().display} (${how}): ${link.scrub(messageOf(err))}. Check that the user may end its own sessions.`);
  }
}
