// The two servers every part runs on: a fresh embedded PostgreSQL (its own temp data dir,
// seeded with the demo schema) and MariaDB/MySQL at MYSQL_URL, where the demo schema is
// installed when missing (never dropped: other suites share that database). A part that needs
// a server of its own starts one (startOwnServer).

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { installDemo } from '../../main/engine/demo/install-demo';
import { startEmbeddedPostgres } from '../../main/engine/embedded/embedded-postgres';
import { EventLog } from '../../main/engine/event-log';
import { systemClock } from '../../main/engine/clock';
import { openPool } from '../../main/engine/pool/open-pool';
import { TargetLink } from '../../main/engine/link/target-link';
import { NO_TLS, type TargetSpec, parseTargetUrl } from '../../main/engine/target-spec';
import type { EngineKind } from '../../shared/events';
import { startMariadb } from '../integration/helpers/mariadb';

export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';

export interface BenchServer {
  engine: EngineKind;
  spec: TargetSpec;
  version: string;
}

export interface BenchServers {
  postgres: BenchServer;
  mysql: BenchServer;
  list: BenchServer[];
  stop(): Promise<void>;
}

/** Opens a short-lived instrumented pool to read the version (and install the demo schema). */
async function prepare(spec: TargetSpec, install: boolean): Promise<string> {
  const pool = openPool({ id: 'setup', link: TargetLink.plain(spec), log: new EventLog(systemClock), clock: systemClock, settings: { max: 1 } });
  try {
    if (install) await installDemo(pool);
    return await pool.verify();
  } finally {
    await pool.end();
  }
}

/** An embedded PostgreSQL of its own (a fresh temp data dir) and the function that stops it. */
async function ownPostgres(): Promise<{ spec: TargetSpec; stop(): Promise<void> }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-bench-pg-'));
  const stop = () => rm(dataDir, { recursive: true, force: true });
  let embedded;
  try {
    embedded = await startEmbeddedPostgres({ dataDir });
  } catch (err) {
    await stop();
    throw err;
  }
  const c = embedded.connection;
  return {
    spec: { engine: 'postgres', host: c.host, port: c.port, database: c.database, user: c.user, password: c.password, tls: { ...NO_TLS }, ssh: null, embedded: true },
    async stop() {
      try {
        await embedded.stop();
      } finally {
        await stop();
      }
    },
  };
}

/** A throwaway mariadbd with a `bench` user (no password) and database. */
async function ownMariadb(): Promise<{ spec: TargetSpec; stop(): Promise<void> }> {
  const server = await startMariadb();
  try {
    const admin = await server.admin();
    for (const sql of ["CREATE USER bench@'127.0.0.1'", 'CREATE DATABASE bench', "GRANT ALL ON bench.* TO bench@'127.0.0.1'"]) await admin.query(sql);
    await admin.end();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { spec: parseTargetUrl(`mysql://bench@127.0.0.1:${server.port}/bench`), stop: server.stop };
}

export async function startServers(): Promise<BenchServers> {
  const pg = await ownPostgres();
  try {
    const mysqlSpec = parseTargetUrl(process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL);
    const postgres: BenchServer = { engine: 'postgres', spec: pg.spec, version: await prepare(pg.spec, false) };
    const mysql: BenchServer = { engine: 'mysql', spec: mysqlSpec, version: await prepare(mysqlSpec, true) };
    return { postgres, mysql, list: [postgres, mysql], stop: pg.stop };
  } catch (err) {
    await pg.stop();
    throw err;
  }
}

/**
 * A server of this engine for one part alone, started now, so it runs where this process may
 * run now (pinning.ts): an embedded PostgreSQL, or a throwaway mariadbd (the machine's MariaDB
 * is not the bench's to pin).
 */
export async function startOwnServer(engine: EngineKind): Promise<BenchServer & { stop(): Promise<void> }> {
  const own = engine === 'postgres' ? await ownPostgres() : await ownMariadb();
  try {
    return { engine, spec: own.spec, version: await prepare(own.spec, false), stop: own.stop };
  } catch (err) {
    await own.stop();
    throw err;
  }
}
