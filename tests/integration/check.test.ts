import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mysqlAvailable, mysqlUrl, pgUrl } from './helpers/servers';

// `poolscope check` in front of real test runners (node --test, vitest) running small suites
// written for these tests (tests/integration/check-suites/) against the real servers: what a
// CI log shows (stderr), the exit code, and the --json / --junit files.

const ROOT = join(import.meta.dirname, '..', '..');
const SUITES = join(import.meta.dirname, 'check-suites');
const CLI = join(ROOT, 'bin', 'poolscope.mjs');
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const ORDERS = join(SUITES, 'orders.cjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The app file's line that holds `marker`, 1-based. */
function lineOf(file: string, marker: string): number {
  return readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(marker)) + 1;
}

/** The environment of a test command a user would run: none of this vitest run's own variables. */
function userEnv(dbUrl: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
  return { ...env, CHECK_DB_URL: dbUrl, FORCE_COLOR: '0', NO_COLOR: '1' };
}

function check(options: string[], command: string[], dbUrl: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'check', ...options, '--', ...command], { cwd: ROOT, env: userEnv(dbUrl) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Report {
  exitCode: number;
  commandExitCode: number;
  timedOut: boolean;
  verdict: { findings: { kind: string; site: string; allowed: boolean; pool: string }[] };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolscope-check-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const report = () => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;

const RUNNERS = [
  // --test-force-exit: the leaky file ends by process.exit() once its tests are done (its leaked connection would keep it alive).
  { name: 'node --test', suite: (file: string) => [process.execPath, '--test', '--test-force-exit', join(SUITES, 'node', `${file}.test.cjs`)], file: (f: string) => `node/${f}.test.cjs` },
  // vitest ends its workers with SIGTERM.
  { name: 'vitest', suite: (file: string) => [process.execPath, VITEST, 'run', '--root', join(SUITES, 'vitest'), `${file}.test.mjs`], file: (f: string) => `vitest/${f}.test.mjs` },
];

describe.each(RUNNERS)('poolscope check under $name, on postgres', ({ suite, file }) => {
  it('passes a clean suite (exit 0), having watched its pool', async () => {
    const r = await check(['--json', join(dir, 'report.json')], suite('clean'), pgUrl());
    expect(r.stderr).toContain('poolscope check: no pool findings in');
    expect(r.stderr).toMatch(/\(1 pool\)/);
    expect(r.code).toBe(0);
    expect(report().verdict.findings).toEqual([]);
  });

  it("fails a suite whose helper leaks a connection, naming the helper's line", async () => {
    const r = await check(['--json', join(dir, 'report.json'), '--junit', join(dir, 'report.xml')], suite('leaky'), pgUrl());
    const site = `orderTotal (check-suites/orders.cjs:${lineOf(ORDERS, 'LEAK-LINE')})`;
    expect(r.stderr).toContain(`leak  ${site}`);
    expect(r.stderr).toContain('a connection still borrowed when the process exited');
    expect(r.stderr).toContain('poolscope check: failed: 1 leak (exit 3)');
    expect(r.code).toBe(3);
    expect(report().verdict.findings).toEqual([expect.objectContaining({ kind: 'leak', site, allowed: false, pool: expect.stringMatching(/^postgres:\/\/.*@127\.0\.0\.1:\d+\//) })]);
    const junit = readFileSync(join(dir, 'report.xml'), 'utf8');
    expect(junit).toContain(`<testcase classname="poolscope.check.leak" name="${site}"><failure type="leak"`);
    expect(junit).toContain('failures="1"');
  });

  it('fails a suite that leaves its pool open, naming where the pool was created', async () => {
    const r = await check([], suite('open-pool'), pgUrl());
    const created = join(SUITES, file('open-pool'));
    expect(r.stderr).toContain(`unended-pool  ${file('open-pool')}:${lineOf(created, 'POOL-LINE')}`);
    expect(r.stderr).toContain('a pool never ended (end() not called)');
    expect(r.code).toBe(3);
  });

  it("keeps the command's own exit code when its tests fail, and still reports what it found", async () => {
    const r = await check([], suite('failing'), pgUrl());
    const failing = join(SUITES, file('failing'));
    expect(r.stderr).toContain(`dirty-return  ${file('failing')}:${lineOf(failing, 'DIRTY-LINE')}`);
    expect(r.stderr).toContain('the command failed (exit 1); pool check failed: 1 dirty-return (exit 1)');
    expect(r.code).toBe(1);
  });
});

describe('poolscope check: the options, on postgres', () => {
  const leaky = [process.execPath, '--test', '--test-force-exit', join(SUITES, 'node', 'leaky.test.cjs')];

  it('passes with the leak allowed (--max-leaks 1), listing it as allowed', async () => {
    const r = await check(['--max-leaks', '1'], leaky, pgUrl());
    expect(r.stderr).toContain(`leak (allowed)  orderTotal (check-suites/orders.cjs:${lineOf(ORDERS, 'LEAK-LINE')})`);
    expect(r.code).toBe(0);
  });

  it('passes a suite that leaves its pool open with --allow unended-pool', async () => {
    const r = await check(['--allow', 'unended-pool'], [process.execPath, '--test', join(SUITES, 'node', 'open-pool.test.cjs')], pgUrl());
    expect(r.stderr).toContain('unended-pool (allowed)  node/open-pool.test.cjs:');
    expect(r.stderr).toContain('poolscope check: passed (exit 0)');
    expect(r.code).toBe(0);
  });

  it("names a holder past --hold-threshold, and a borrower's timeout with the holder at that moment", async () => {
    const file = join(SUITES, 'node', 'contention.test.cjs');
    const holder = `node/contention.test.cjs:${lineOf(file, 'HOLDER-LINE')}`;
    const relaxed = await check([], [process.execPath, '--test', file], pgUrl());
    // Held about 600 ms: under the default 5 s threshold.
    expect(relaxed.stderr).not.toContain('long-hold');
    const r = await check(['--hold-threshold', '300ms'], [process.execPath, '--test', file], pgUrl());
    expect(r.stderr).toContain(`long-hold  ${holder}`);
    expect(r.stderr).toMatch(/a connection held \d+ ms \(over --hold-threshold 300 ms\)/);
    expect(r.stderr).toContain(`timeout  node/contention.test.cjs:${lineOf(file, 'WAITER-LINE')}`);
    expect(r.stderr).toMatch(new RegExp(`a borrower timed out after waiting \\d+ ms; held then by ${holder.replace(/\./g, '\\.')} \\(\\d+ ms\\)`));
    expect(r.stderr).toContain('poolscope check: failed: 1 long-hold, 1 timeout (exit 3)');
    expect(r.code).toBe(3);
  });

  it('names a transaction left open at exit, on the connection its borrower never released', async () => {
    const file = join(SUITES, 'node', 'open-tx.test.cjs');
    const r = await check([], [process.execPath, '--test', '--test-force-exit', file], pgUrl());
    const site = `node/open-tx.test.cjs:${lineOf(file, 'TX-LINE')}`;
    expect(r.stderr).toContain(`leak  ${site}`);
    expect(r.stderr).toContain(`open-transaction  ${site}`);
    expect(r.stderr).toContain('a transaction still open when the process exited');
    expect(r.code).toBe(3);
  });

  it('keeps the findings of a process that ends by process.exit() in the turn it borrowed, or before its agent connected', async () => {
    const file = join(SUITES, 'exit-at-once.cjs');
    const r = await check([], [process.execPath, file], pgUrl());
    expect(r.stderr).toContain(`leak  check-suites/exit-at-once.cjs:${lineOf(file, 'EXIT-LINE')}`);
    expect(r.stderr).toContain('a connection still borrowed when the process exited');
    expect(r.code).toBe(3);
    const atOnce = await check([], ['/usr/bin/env', 'EXIT_NOW=1', process.execPath, file], pgUrl());
    expect(atOnce.stderr).toContain(`unended-pool  check-suites/exit-at-once.cjs:${lineOf(file, 'POOL-LINE')}`);
    expect(atOnce.stderr).toContain('0 connections open when the process exited');
    expect(atOnce.code).toBe(3);
  });

  it('ends a command that does not end at --timeout, naming what keeps it alive', async () => {
    // Without --test-force-exit the leaked connection keeps the test file's process alive for ever
    // (6 s: time enough for the file to reach its leak on a loaded machine).
    const r = await check(['--timeout', '6s', '--junit', join(dir, 'report.xml')], [process.execPath, '--test', join(SUITES, 'node', 'leaky.test.cjs')], pgUrl());
    expect(r.stderr).toContain('poolscope check: the command did not end within --timeout 6.0 s. What keeps each process alive:');
    expect(r.stderr).toMatch(
      new RegExp(`postgres://\\S+ created at node/leaky\\.test\\.cjs:${lineOf(join(SUITES, 'node', 'leaky.test.cjs'), 'POOL-LINE')} \\(end\\(\\) called, waiting for its borrowed connections\\): 1 connection open; borrowed at orderTotal \\(check-suites/orders\\.cjs:${lineOf(ORDERS, 'LEAK-LINE')}\\)`),
    );
    expect(r.stderr).toContain('a connection still borrowed when check ended the command at --timeout');
    expect(r.code).toBe(124);
    expect(readFileSync(join(dir, 'report.xml'), 'utf8')).toContain('<failure type="timeout" message="did not end within --timeout 6 s"/>');
  });

  it('refuses a finding kind it does not know, with the kinds it does', async () => {
    const r = await check(['--allow', 'leaks'], leaky, pgUrl());
    expect(r.stderr).toContain('poolscope: check: --allow leaks: not a finding kind (leak, long-hold, dirty-return, open-transaction, timeout, unended-pool).');
    expect(r.code).toBe(2);
  });
});

describe.skipIf(!mysqlAvailable)('poolscope check under node --test, on MariaDB', () => {
  it("names the helper's line of a connection still borrowed when mysql2's pool ended", async () => {
    const r = await check([], [process.execPath, '--test', join(SUITES, 'node', 'mysql-leaky.test.mjs')], mysqlUrl);
    expect(r.stderr).toContain(`leak  orderTotalMysql (check-suites/orders.cjs:${lineOf(ORDERS, 'MYSQL-LEAK-LINE')})`);
    expect(r.stderr).toContain('a connection still borrowed when its pool ended');
    expect(r.code).toBe(3);
  });

  it('names a connection released inside its transaction (the flag from OK packets)', async () => {
    const file = join(SUITES, 'node', 'mysql-dirty.test.mjs');
    const r = await check([], [process.execPath, '--test', file], mysqlUrl);
    expect(r.stderr).toContain(`dirty-return  node/mysql-dirty.test.mjs:${lineOf(file, 'DIRTY-LINE')}`);
    expect(r.code).toBe(3);
  });

  it('names where a pool never ended was created', async () => {
    const file = join(SUITES, 'node', 'mysql-open-pool.test.mjs');
    const r = await check([], [process.execPath, '--test', '--test-force-exit', file], mysqlUrl);
    expect(r.stderr).toContain(`unended-pool  node/mysql-open-pool.test.mjs:${lineOf(file, 'POOL-LINE')}`);
    expect(r.stderr).toContain('1 connection open when the process exited');
    expect(r.code).toBe(3);
  });

  it('names the pool never ended that keeps a test process alive, at --timeout', async () => {
    // Without --test-force-exit, mysql2's idle connection keeps the file's process alive for ever.
    const file = join(SUITES, 'node', 'mysql-open-pool.test.mjs');
    const r = await check(['--timeout', '6s'], [process.execPath, '--test', file], mysqlUrl);
    expect(r.stderr).toMatch(new RegExp(`mysql://\\S+ created at node/mysql-open-pool\\.test\\.mjs:${lineOf(file, 'POOL-LINE')}, never ended: 1 connection open\n`));
    expect(r.stderr).toContain('a pool never ended (end() not called): 1 connection open when check ended the command at --timeout');
    expect(r.code).toBe(124);
  });
});
