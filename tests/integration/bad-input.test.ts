import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../shared/events';
import { Engine } from '../../main/engine/engine';
import type { PoolscopeError } from '../../main/engine/errors';
import { ENGINES, mysqlUrl, pgUrl } from './helpers/servers';

const SECRET = 'hunter2-not-the-password';

/** Starts an engine that must fail; returns the error and every event it emitted. */
async function failToStart(target: string | object, settings = {}): Promise<PoolscopeError> {
  const err = await Engine.start({ target, settings }).then(
    () => {
      throw new Error('the engine started on a bad target');
    },
    (e: PoolscopeError) => e,
  );
  expect(err.name).toBe('PoolscopeError');
  expect(err.message).not.toContain(SECRET);
  return err;
}

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

function withPath(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

describe('bad targets, whatever the engine', () => {
  it('refuses a malformed URL and says what a good one looks like, without echoing the password', async () => {
    const err = await failToStart(`postgres://me:${SECRET}@`);
    expect(err.code).toBe('bad-target');
    expect(err.message).toMatch(/Cannot read the database URL|has no host/);
    expect(err.message).toContain('postgres://user:password@host:5432/database');
  });

  it('names an unknown engine and the ones it supports', async () => {
    const err = await failToStart(`oracle://me:${SECRET}@db.example:1521/orcl`);
    expect(err.code).toBe('unknown-engine');
    expect(err.message).toMatch(/Unknown database engine "oracle".*postgres:\/\/.*mysql:\/\//);
    expect(err.message).toContain('oracle://me:***@db.example');
  });

  it('refuses fields that are not a target, naming the field', async () => {
    const err = await failToStart({ engine: 'postgres', host: 'localhost', port: 70000, database: 'x', user: 'u', password: SECRET });
    expect(err.code).toBe('bad-target');
    expect(err.message).toMatch(/port/);
  });

  it('says when the host name does not resolve', async () => {
    const err = await failToStart(`postgres://me:${SECRET}@no-such-host.invalid:5432/db`);
    expect(err.code).toBe('host-not-found');
    expect(err.message).toContain('"no-such-host.invalid"');
  });

  describe('a server that accepts and never answers', () => {
    let silent: net.Server;
    let port = 0;
    const sockets: net.Socket[] = [];
    beforeAll(async () => {
      silent = net.createServer((s) => sockets.push(s));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      port = (silent.address() as net.AddressInfo).port;
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    });

    it.each(['postgres', 'mysql'])('%s: gives up within the acquire timeout and says where it waited', async (scheme) => {
      const t0 = performance.now();
      const err = await failToStart(`${scheme}://me:${SECRET}@127.0.0.1:${port}/db`, { acquireTimeoutMs: 500 });
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(['connect-timeout', 'acquire-timeout']).toContain(err.code);
      expect(err.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}|connecting 1`));
    });
  });
});

describe.each(ENGINES)('bad targets on $engine', ({ engine, skip }) => {
  const url = () => (engine === 'postgres' ? pgUrl() : mysqlUrl);

  it.skipIf(skip)('says a wrong password failed authentication, naming the user and never the password', async () => {
    const err = await failToStart(withPassword(url(), SECRET));
    expect(err.code).toBe('auth-failed');
    expect(err.message).toMatch(/Authentication failed for user "\w+" at 127\.0\.0\.1:\d+/);
    expect(err.message).toContain('Check the user name and password');
  });

  it.skipIf(skip)('says an unknown database does not exist', async () => {
    const err = await failToStart(withPath(url(), 'no_such_database_xyz'));
    expect(err.code).toBe('unknown-database');
    expect(err.message).toContain('Database "no_such_database_xyz" does not exist');
  });

  it.skipIf(skip)('says a refused port is refused, naming host and port', async () => {
    const u = new URL(withPassword(url(), SECRET));
    u.port = '1';
    const err = await failToStart(u.toString());
    expect(err.code).toBe('connection-refused');
    expect(err.message).toMatch(/Connection refused at 127\.0\.0\.1:1\b.*Check that the .* server is running/);
  });

  it.skipIf(skip)('reports an SQL error to the borrower and keeps the pool serving', async () => {
    const e = await Engine.start({ target: url() });
    try {
      await expect(e.pool.query('SELEKT nonsense')).rejects.toThrow(/syntax/i);
      expect(e.log.live.counters.statementErrors).toBe(1);
      const { rows } = await e.pool.query('SELECT 1 AS one');
      expect(Number((rows[0] as { one: unknown }).one)).toBe(1);
    } finally {
      await e.stop();
    }
  });
});

describe('passwords', () => {
  it('never appear in any event, even around errors', async () => {
    const password = new URL(pgUrl()).password;
    expect(password.length).toBeGreaterThan(8);
    const e = new Engine({ target: pgUrl() });
    const events: PoolEvent[] = [];
    e.log.subscribe((ev) => events.push(ev));
    try {
      await e.start();
      await e.pool.query(`SELECT '${password}'::int`).catch(() => undefined);
      await e.pool.query('SELECT 1');
      expect(events.length).toBeGreaterThan(5);
      expect(JSON.stringify(events)).not.toContain(password);
    } finally {
      await e.stop();
    }
  });
});
