import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../shared/events';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { parseTargetUrl } from '../../main/engine/target-spec';
import { MALFORMED_TARGETS, leaks } from '../unit/helpers/malformed-targets';
import { mysqlAvailable, mysqlUrl, pgUrl } from './helpers/servers';

// A password typed into a malformed URL (a space, ?password=, no // after the scheme...) never
// reaches an output: the API's reply, the target.failed event, a recording, `poolscope run
// --json` (stdout and stderr) and the plain run's stderr. Besides the malformed forms (refused
// before any connection), targets that parse and then fail to connect: refused, and refused
// by the server's authentication (the embedded PostgreSQL's scram, MariaDB's).

const ROOT = path.resolve(import.meta.dirname, '../..');

function failingTargets(): { url: string; secret: string }[] {
  const pg = parseTargetUrl(pgUrl());
  const my = parseTargetUrl(mysqlUrl);
  return [
    { url: 'postgres://user:S3cret Pass@127.0.0.1:1/db', secret: 'S3cret Pass' },
    { url: `postgres://${pg.user}:S3cret%20Pass@${pg.host}:${pg.port}/${pg.database}?password=S3cret Pass`, secret: 'S3cret Pass' },
    ...(mysqlAvailable ? [{ url: `mysql://${my.user}:S3cretPass@${my.host}:${my.port}/${my.database}?password=S3cretPass`, secret: 'S3cretPass' }] : []),
  ];
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/poolscope.mjs', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `fn` over `items`, `n` at a time (the CLI takes a second or two to start). */
async function inBatches<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(fn));
}

describe('a password in a malformed or failing target reaches no output', () => {
  let service: PoolscopeService;
  const events: PoolEvent[] = [];

  beforeAll(async () => {
    service = new PoolscopeService(await Engine.start({ target: pgUrl() }));
    service.engine.log.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('the API reply, the target.failed event and a recording, for every form', async () => {
    const forms = [...MALFORMED_TARGETS, ...failingTargets()];
    expect((await service.handle('record.start', undefined)).ok).toBe(true);
    for (const { url, secret } of forms) {
      const before = events.length;
      const reply = await service.handle('target.connect', { kind: 'url', url });
      expect(reply.ok, url).toBe(false);
      expect(leaks(JSON.stringify(reply), secret, url), JSON.stringify(reply)).toBeNull();
      service.engine.log.deliver();
      const failed = events.slice(before).filter((e) => e.type === 'target.failed');
      expect(failed, url).toHaveLength(1);
      expect(leaks(JSON.stringify(failed), secret, url), JSON.stringify(failed)).toBeNull();
    }
    const stopped = await service.handle('record.stop', undefined);
    expect(stopped.ok).toBe(true);
    const recording = stopped.ok ? (stopped.res as string) : '';
    expect(recording.match(/"target\.failed"/g)).toHaveLength(forms.length);
    for (const { url, secret } of forms) expect(leaks(recording, secret, url), url).toBeNull();
    // The pool it had keeps serving.
    await expect(service.engine.pool.query('SELECT 1')).resolves.toBeDefined();
  });

  it('poolscope run --json: stdout and stderr, for every form', async () => {
    const forms = [...MALFORMED_TARGETS, ...failingTargets()];
    await inBatches(forms, 4, async ({ url, secret }) => {
      const r = await cli(['run', 'leak', '--target', url, '--json']);
      expect(r.code, `${url}: ${r.stderr}`).toBe(2);
      const report = JSON.parse(r.stdout) as { error: string | null; target: string };
      expect(report.error, url).toMatch(/could not be reached/);
      expect(leaks(r.stdout, secret, url), r.stdout).toBeNull();
      expect(leaks(r.stderr, secret, url), r.stderr).toBeNull();
    });
  }, 240_000);

  it('poolscope run (plain): stdout and stderr, for the forms of the issue and a failed login', async () => {
    const forms = [...MALFORMED_TARGETS.slice(0, 4), ...failingTargets().slice(1)];
    await inBatches(forms, 4, async ({ url, secret }) => {
      const r = await cli(['run', 'leak', '--target', url]);
      expect(r.code, url).toBe(2);
      expect(r.stderr, url).toMatch(/could not be reached/);
      expect(leaks(r.stdout, secret, url), r.stdout).toBeNull();
      expect(leaks(r.stderr, secret, url), r.stderr).toBeNull();
    });
  }, 120_000);
});
