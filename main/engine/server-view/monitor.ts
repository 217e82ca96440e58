import pg from 'pg';
import type { ServerSession } from '../../../shared/events';
import { type Clock, every } from '../clock';
import { messageOf } from '../errors';
import type { EventLog } from '../event-log';
import { statementTexts } from '../statement-text';
import type { TargetLink } from '../link/target-link';
import { connectMysql } from '../pool/mysql-driver';
import { pgClientConfig } from '../pool/pg-driver';

const POLL_MS = 250;
/**
 * How much of each session's query is read: shown masked and cut as our own statements are
 * (statement-text.ts). A literal this cuts is masked to the end, so reading less could not
 * leak it; reading more keeps the rest of the text readable.
 */
const QUERY_READ = 1_024;

interface Reading {
  sessions: ServerSession[];
  maxConnections: number | null;
  reserved: number | null;
  /** The monitor's own session: every reading taken lists it (a failed one, none: server-join.ts unreadable). */
  monitorId: number;
  note: string | null;
}

interface Reader {
  read(): Promise<Reading>;
  close(): Promise<void>;
}

const ms = (v: unknown): number | null => (v === null || v === undefined ? null : new Date(v as string).getTime());

async function pgReader(link: TargetLink, shown: (sql: string) => string): Promise<Reader> {
  const spec = link.spec;
  const client = new pg.Client({ ...pgClientConfig(link, null), application_name: 'poolscope-monitor' });
  client.on('error', () => undefined); // a lost monitor fails its next read, which is reported
  await client.connect();
  const limits = await client.query(
    "SELECT current_setting('max_connections')::int AS max, current_setting('superuser_reserved_connections')::int + coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved, pg_backend_pid() AS me, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees_all",
  );
  const l = limits.rows[0] as { max: number; reserved: number; me: number; sees_all: boolean };
  const note = l.sees_all ? null : `User "${spec.user}" may not read other users' sessions (needs pg_read_all_stats): their state and query show as hidden.`;
  return {
    async read() {
      const r = await client.query(
        `SELECT pid, usename, application_name, state, xact_start, wait_event_type, wait_event, left(query, ${QUERY_READ}) AS query FROM pg_stat_activity WHERE backend_type = 'client backend'`,
      );
      const sessions = r.rows.map((x: Record<string, unknown>) => ({
        id: Number(x.pid),
        user: (x.usename as string | null) ?? null,
        application: (x.application_name as string | null) || null,
        state: (x.state as string | null) ?? null,
        inTransaction: typeof x.state === 'string' && x.state.startsWith('idle in transaction') || (x.xact_start !== null && x.state === 'active'),
        transactionSince: ms(x.xact_start),
        waitEvent: x.wait_event ? `${x.wait_event_type}: ${x.wait_event}` : null,
        query: x.query ? shown(x.query as string) : null,
      }));
      return { sessions, maxConnections: l.max, reserved: l.reserved, monitorId: l.me, note };
    },
    close: () => client.end(),
  };
}

async function mysqlReader(link: TargetLink, shown: (sql: string) => string): Promise<Reader> {
  const spec = link.spec;
  const conn = await connectMysql(link, 'poolscope-monitor');
  conn.on('error', () => undefined);
  const [limits] = await conn.query('SELECT @@max_connections AS max, CONNECTION_ID() AS me');
  const l = (limits as { max: number; me: number }[])[0];
  if (!l) throw new Error('the server did not answer SELECT @@max_connections, CONNECTION_ID()');
  const [privs] = await conn.query("SELECT COUNT(*) AS n FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE IN ('PROCESS', 'SUPER')");
  const seesAll = Number((privs as { n: number }[])[0]?.n) > 0;
  // The pool's connections carry program_name=poolscope as a connect attribute; the server
  // shows attributes only in performance_schema, which MariaDB leaves off by default.
  const [ps] = await conn.query('SELECT @@performance_schema AS on_');
  const attrs = Number((ps as { on_: number }[])[0]?.on_) === 1;
  const notes = [
    seesAll ? null : `User "${spec.user}" lacks the PROCESS privilege: the server lists only this user's own sessions.`,
    attrs ? null : "performance_schema is off on this server, so connect attributes are not visible: the pool's sessions are joined by thread id, and a session of Poolscope's that its pool lost cannot be told from another client's.",
  ].filter(Boolean);
  const note = notes.length > 0 ? notes.join(' ') : null;
  const application = attrs
    ? "(SELECT a.ATTR_VALUE FROM performance_schema.session_connect_attrs a WHERE a.PROCESSLIST_ID = p.ID AND a.ATTR_NAME = 'program_name' LIMIT 1)"
    : 'NULL';
  return {
    async read() {
      const [rows] = await conn.query(
        `SELECT p.ID AS id, p.USER AS user, ${application} AS application, p.COMMAND AS command, p.STATE AS state, LEFT(p.INFO, ${QUERY_READ}) AS query, t.trx_started AS trx_started FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID`,
      );
      const sessions = (rows as Record<string, unknown>[])
        .filter((x) => x.command !== 'Daemon')
        .map((x) => ({
          id: Number(x.id),
          user: (x.user as string | null) ?? null,
          application: (x.application as string | null) ?? null,
          state: [x.command, x.state].filter(Boolean).join(': ') || null,
          inTransaction: x.trx_started !== null,
          transactionSince: ms(x.trx_started),
          waitEvent: null,
          query: x.query ? shown(x.query as string) : null,
        }));
      return { sessions, maxConnections: l.max, reserved: null, monitorId: l.me, note };
    },
    close: () => conn.end(),
  };
}

/**
 * The database's own view: a monitor connection outside every pool reads the server's
 * sessions about four times a second and emits them as server.observed. A failed read
 * (the server went away) is reported in the note, and the next tick connects again.
 */
export class ServerMonitor {
  readonly #link: TargetLink;
  readonly #log: EventLog;
  /** Every session's query, as our own statements are shown. */
  readonly #shown: (sql: string) => string;
  #reader: Reader | null = null;
  #busy = false;
  readonly #cancel: () => void;

  constructor(link: TargetLink, log: EventLog, clock: Clock) {
    this.#link = link;
    this.#log = log;
    this.#shown = statementTexts(link.spec.engine, link.scrub);
    this.#cancel = every(clock, POLL_MS, () => void this.#poll());
  }

  async stop(): Promise<void> {
    this.#cancel();
    const r = this.#reader;
    this.#reader = null;
    await r?.close().catch(() => undefined);
  }

  async #poll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      this.#reader ??= await (this.#link.spec.engine === 'postgres' ? pgReader(this.#link, this.#shown) : mysqlReader(this.#link, this.#shown));
      this.#log.emit({ type: 'server.observed', ...(await this.#reader.read()) });
    } catch (err) {
      const r = this.#reader;
      this.#reader = null;
      void r?.close().catch(() => undefined);
      const why = this.#link.scrub(messageOf(err));
      this.#log.emit({ type: 'server.observed', sessions: [], maxConnections: null, reserved: null, monitorId: null, note: `The monitor cannot read the server's sessions: ${why}` });
    } finally {
      this.#busy = false;
    }
  }
}
