import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../../main/engine/embedded/embedded-postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

/**
 * One embedded PostgreSQL for the whole integration run, in a fresh temp dir
 * (under /tmp, which the 'postgres' OS user can traverse when we run as root).
 * POOLSCOPE_PG_URL points the run at an existing server instead.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.POOLSCOPE_PG_URL;
  if (external) {
    project.provide('pgUrl', external);
    return undefined;
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-it-pg-'));
  try {
    const server = await startEmbeddedPostgres({ dataDir });
    const { user, password, host, port, database } = server.connection;
    project.provide('pgUrl', `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${database}`);
    return async () => {
      try {
        await server.stop();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
