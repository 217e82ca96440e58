// The two servers every part runs on: a fresh embedded PostgreSQL (its own temp data dir,
// seeded with the demo schema) and MariaDB/MySQL at MYSQL_URL, where the demo schema is
// installed when missing (never dropped: other suites share that database).

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

export async function startServers(): Promise<BenchServers> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-bench-pg-'));
  const embedded = await startEmbeddedPostgres({ dataDir });
  const stop = async () => {
    try {
      await embedded.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  };
  try {
    const c = embedded.connection;
    const pgSpec: TargetSpec = { engine: 'postgres', host: c.host, port: c.port, database: c.database, user: c.user, password: c.password, tls: { ...NO_TLS }, ssh: null, embedded: true };
    const mysqlSpec = parseTargetUrl(process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL);
    const postgres: BenchServer = { engine: 'postgres', spec: pgSpec, version: await prepare(pgSpec, false) };
    const mysql: BenchServer = { engine: 'mysql', spec: mysqlSpec, version: await prepare(mysqlSpec, true) };
    return { postgres, mysql, list: [postgres, mysql], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
