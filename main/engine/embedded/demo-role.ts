import type pg from 'pg';
import { DEMO_DATABASE } from './demo-schema';

/**
 * The role the embedded demo's pools (and the monitor) log in as. It owns the demo
 * database and what is in it, and may read every session's activity (the Database
 * panel); nothing else: no superuser, no CREATEDB or CREATEROLE, no membership of
 * pg_execute_server_program or pg_read/write_server_files, so `COPY ... TO PROGRAM` or a
 * server file read in a scenario is refused by the server itself.
 */
export const DEMO_ROLE = 'poolscope_demo';

/** The only role the demo role may be a member of: pg_stat_activity of every session. */
const READ_STATS = 'pg_read_all_stats';

/**
 * Makes the demo role exactly what it may be, on the superuser's short-lived connection
 * to the demo database, in one transaction. Run at every start: a data dir from a version
 * without the role gets it (and its tables change owner), and a role that was given more
 * (by a scenario run when the pools were the superuser's) loses it again.
 */
export async function ensureDemoRole(admin: pg.Client, password: string): Promise<void> {
  const role = admin.escapeIdentifier(DEMO_ROLE);
  await admin.query('BEGIN');
  try {
    const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [DEMO_ROLE]);
    if (exists.rowCount === 0) await admin.query(`CREATE ROLE ${role}`);
    await admin.query(
      `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT -1 PASSWORD ${admin.escapeLiteral(password)}`,
    );
    const memberships = await admin.query<{ role: string; grantor: string }>(
      `SELECT r.rolname AS role, g.rolname AS grantor FROM pg_auth_members m
         JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles g ON g.oid = m.grantor
        WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1)`,
      [DEMO_ROLE],
    );
    for (const m of memberships.rows) {
      if (m.role !== READ_STATS) await admin.query(`REVOKE ${admin.escapeIdentifier(m.role)} FROM ${role} GRANTED BY ${admin.escapeIdentifier(m.grantor)} CASCADE`);
    }
    if (!memberships.rows.some((m) => m.role === READ_STATS)) await admin.query(`GRANT ${READ_STATS} TO ${role}`);
    // The demo database only: the others keep their default PUBLIC rights from no one but the superuser.
    for (const db of ['postgres', 'template1']) await admin.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${db} FROM PUBLIC`);
    await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(DEMO_DATABASE)} OWNER TO ${role}`);
    // Seeded by the superuser before the role existed: the tables (their identity sequences follow).
    const foreign = await admin.query<{ name: string; kind: string }>(
      `SELECT c.relname AS name, c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
          AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)`,
      [DEMO_ROLE],
    );
    const ALTER: Record<string, string> = { r: 'TABLE', p: 'TABLE', v: 'VIEW', m: 'MATERIALIZED VIEW' };
    for (const x of foreign.rows) await admin.query(`ALTER ${ALTER[x.kind]} public.${admin.escapeIdentifier(x.name)} OWNER TO ${role}`);
    await admin.query('COMMIT');
  } catch (err) {
    await admin.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
