import mysql from 'mysql2/promise';
import pg from 'pg';
import { inject } from 'vitest';
import type { EngineKind } from '../../../shared/events';
import { parseTargetUrl } from '../../../main/engine/target-spec';

export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';

export interface ServerUnderTest {
  engine: EngineKind;
  url: string;
  /** Runs SQL on a separate admin connection, outside any pool under test. */
  admin<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

async function pgServer(url: string): Promise<ServerUnderTest> {
  const client = new pg.Client({ connectionString: url, application_name: 'poolscope-test-admin' });
  await client.connect();
  return {
    engine: 'postgres',
    url,
    admin: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    close: () => client.end(),
  };
}

async function mysqlServer(url: string): Promise<ServerUnderTest> {
  const s = parseTargetUrl(url);
  const conn = await mysql.createConnection({
    host: s.host,
    port: s.port,
    user: s.user,
    password: s.password ?? undefined,
    database: s.database,
    connectTimeout: 3_000,
  });
  return {
    engine: 'mysql',
    url,
    admin: async <T>(sql: string, params?: unknown[]) => (await conn.query(sql, params))[0] as T[],
    close: () => conn.end(),
  };
}

/** The embedded PostgreSQL that the integration run's global setup started. */
export function pgUrl(): string {
  return inject('pgUrl');
}

export const mysqlUrl = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;

/**
 * Whether MySQL/MariaDB answers at MYSQL_URL. Unreachable: one loud line and the
 * MySQL suites skip, unless POOLSCOPE_REQUIRE_MYSQL=1 (CI), when the run fails.
 */
async function probeMysql(): Promise<boolean> {
  try {
    const s = await mysqlServer(mysqlUrl);
    await s.close();
    return true;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const shown = mysqlUrl.replace(/:\/\/([^:@/]*):[^@]*@/, '://$1:***@');
    if (process.env.POOLSCOPE_REQUIRE_MYSQL === '1') {
      throw new Error(`MySQL/MariaDB is required (POOLSCOPE_REQUIRE_MYSQL=1) but ${shown} cannot be reached: ${why}`);
    }
    console.warn(`\n*** MySQL SUITE SKIPPED: cannot reach ${shown} (${why}). Set MYSQL_URL, or POOLSCOPE_REQUIRE_MYSQL=1 to fail instead. ***\n`);
    return false;
  }
}

export const mysqlAvailable = await probeMysql();

/** An admin connection to the run's server of `engine`, or to the one at `url`. */
export function openServer(engine: EngineKind, url = engine === 'postgres' ? pgUrl() : mysqlUrl): Promise<ServerUnderTest> {
  return engine === 'postgres' ? pgServer(url) : mysqlServer(url);
}

/** The engines a suite runs on: PostgreSQL always, MySQL when reachable. */
export const ENGINES: { engine: EngineKind; skip: boolean }[] = [
  { engine: 'postgres', skip: false },
  { engine: 'mysql', skip: !mysqlAvailable },
];

export function sleepSql(engine: EngineKind, seconds: number): string {
  return engine === 'postgres' ? `SELECT pg_sleep(${seconds})` : `SELECT SLEEP(${seconds})`;
}

export function serverIdSql(engine: EngineKind): string {
  return engine === 'postgres' ? 'SELECT pg_backend_pid() AS id' : 'SELECT CONNECTION_ID() AS id';
}

export function killSql(engine: EngineKind, serverId: number): string {
  return engine === 'postgres' ? `SELECT pg_terminate_backend(${serverId})` : `KILL ${serverId}`;
}
