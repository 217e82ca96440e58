import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Commands } from '../../shared/api';
import { reduceAll } from '../../shared/reducer';
import { type Recording, checkRecording } from '../../shared/scenario';
import type { Snapshot } from '../../shared/snapshot';
import { Engine } from '../../main/engine/engine';
import { BUILT_IN_NAMES, builtIn } from '../../main/engine/scenarios/builtins';
import { type RunReport, runHeadless } from '../../main/engine/scenarios/headless';
import { PoolscopeService, scenarioFrom } from '../../main/engine/service';
import { ENGINES, mysqlAvailable, mysqlUrl, pgUrl } from './helpers/servers';
import { sleep } from './helpers/start';

// Scenarios run headless on the real servers, as `poolscope run` runs them in CI: every
// built-in's expects pass; the CLI's exit codes; a recording rebuilds the live snapshots.

const ROOT = path.resolve(import.meta.dirname, '../..');
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'poolscope-scenarios-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function expectPassed(report: RunReport): void {
  expect(report.steps.filter((s) => s.status !== 'passed')).toEqual([]);
  expect(report.error).toBeNull();
  expect(report.exitCode).toBe(0);
  expect(report.expects.length).toBeGreaterThan(0);
}

describe.each(ENGINES)('built-in scenarios on $engine', ({ engine, skip }) => {
  // The restart needs an embedded database of the engine's own: below.
  const names = BUILT_IN_NAMES.filter((n) => n !== 'database-restart' && builtIn(n)?.engines.includes(engine));
  it.skipIf(skip).each(names)('%s runs headless and its expects pass', async (name) => {
    const started = Date.now();
    const { report } = await runHeadless(builtIn(name) as NonNullable<ReturnType<typeof builtIn>>, { target: engine === 'postgres' ? pgUrl() : mysqlUrl, allowSql: true });
    console.info(`${engine} ${name}: ${Date.now() - started} ms; ${report.expects.map((x) => x.conditions.map((c) => `${c.text} (seen ${c.seen})`).join(', ')).join('; ')}`);
    expectPassed(report);
  });
});

describe('the database-restart built-in (its own embedded PostgreSQL)', () => {
  it('restarts the server under load; the pool recovers and the expects pass', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-scenario-restart-'));
    try {
      const started = Date.now();
      const { report } = await runHeadless(builtIn('database-restart') as NonNullable<ReturnType<typeof builtIn>>, { embedded: { dataDir }, allowSql: true });
      console.info(`database-restart: ${Date.now() - started} ms with the first start; ${report.expects.map((x) => x.conditions.map((c) => `${c.text} (seen ${c.seen})`).join(', ')).join('; ')}`);
      expectPassed(report);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it.skipIf(!mysqlAvailable)('a PostgreSQL-only built-in refuses to run on MariaDB, saying why', async () => {
    const { report } = await runHeadless(builtIn('instances-max-connections') as NonNullable<ReturnType<typeof builtIn>>, { target: mysqlUrl });
    expect(report.exitCode).toBe(2);
    expect(report.error).toMatch(/^the scenario could not start: it runs on PostgreSQL only, and the target is mysql:\/\/.* \(MySQL\/MariaDB\)$/);
    expect(report.steps[0]?.status).toBe('failed');
  });
});

/** `poolscope run …` as CI runs it: exit code, stdout, stderr. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/poolscope.mjs', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('poolscope run and list', () => {
  it('a failing expect exits 1; --json is one object with steps, expects and counters; --record writes a recording; no password anywhere', async () => {
    const file = path.join(tmp, 'failing.json');
    const recordTo = path.join(tmp, 'failing.recording.json');
    await writeFile(
      file,
      JSON.stringify({
        title: 'Expects a queue that is not there',
        settings: { max: 2 },
        steps: [{ note: 'nothing waits' }, { expect: ['waiting == 0'] }, { expect: ['waiting >= 5', 'timedOut == 0'] }, { note: 'never reached' }],
      }),
    );
    const { code, stdout, stderr } = await cli(['run', file, '--target', pgUrl(), '--json', '--record', recordTo]);
    expect(code, stderr).toBe(1);
    const report = JSON.parse(stdout) as RunReport;
    expect(report.passed).toBe(false);
    expect(report.steps.map((s) => s.status)).toEqual(['passed', 'passed', 'failed', 'skipped']);
    expect(report.expects).toEqual([
      { index: 1, passed: true, conditions: [{ text: 'waiting == 0', ok: true, seen: 0 }] },
      {
        index: 2,
        passed: false,
        conditions: [
          { text: 'waiting >= 5', ok: false, seen: 0 },
          { text: 'timedOut == 0', ok: true, seen: 0 },
        ],
      },
    ]);
    expect(report.steps[2]?.message).toBe('FAILED: waiting >= 5 (seen 0); ok: timedOut == 0 (seen 0)');
    expect(report.counters?.acquired).toBeGreaterThan(0);
    const password = new URL(pgUrl()).password;
    expect(report.target).not.toContain(password);
    expect(stdout + stderr).not.toContain(password);
    const recording = JSON.parse(await readFile(recordTo, 'utf8')) as Recording;
    expect(checkRecording(recording)).toMatchObject({ ok: true });
    expect(recording.notes.map((n) => n.text)).toEqual(['nothing waits']);
    expect(recording.events[0]?.seq).toBe(recording.initial.seq + 1);
  });

  it('a malformed file exits 2 with the field at fault; an unknown name or file and an unreachable target exit 2 without a password', async () => {
    const file = path.join(tmp, 'malformed.json');
    await writeFile(file, JSON.stringify({ title: 'Bad', steps: [{ note: 'x' }, { 'leak.inject': { count: 0 } }] }));
    const bad = await cli(['run', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('malformed.json is not a valid scenario:');
    expect(bad.stderr).toContain('steps[1]["leak.inject"].count: count must be at least 1');

    const missing = await cli(['run', 'no-such-scenario']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/"no-such-scenario" is neither a built-in scenario \(connection-tax, .*\) nor a readable file: no such file/);

    const unreachable = await cli(['run', 'backpressure', '--target', 'postgres://app:s3cret-pw@127.0.0.1:1/shop', '--json']);
    expect(unreachable.code).toBe(2);
    expect(JSON.parse(unreachable.stdout).error).toMatch(/could not be reached/);
    expect(unreachable.stdout + unreachable.stderr).not.toContain('s3cret-pw');
  });

  it("a step's result is masked before it is cut: the target's password in a row leaves no prefix in the step's message, as reported and recorded", async () => {
    const password = decodeURIComponent(new URL(pgUrl()).password);
    // The password starts before the 200 characters of the result shown and ends after them.
    const scenario = scenarioFrom(
      JSON.stringify({
        title: 'A result holding the password',
        steps: [{ 'tx.begin': { label: 't' } }, { 'tx.run': { borrowerId: '$t', sql: `SELECT repeat('x', 150) AS pad, '${password}' AS dsn` } }, { 'tx.rollback': { borrowerId: '$t' } }],
      }),
      'result.json',
    );
    const { report, recording } = await runHeadless(scenario, { target: pgUrl(), record: true, allowSql: true });
    expect(report.exitCode, report.error ?? '').toBe(0);
    const message = report.steps[1]?.message ?? '';
    expect(message).toMatch(/^\{"rows":\[\{"pad":"x{150}","dsn":"\*\*\*"\}\],"affected":null\}$/);
    // The step's summary quotes the scenario's own SQL; its outcome's message is the result's.
    const recorded = (recording === null ? null : (JSON.parse(recording) as Recording))?.events.flatMap((e) => (e.type === 'scenario.stepped' ? [e.outcome.message ?? ''] : [])) ?? [];
    expect(recorded).toContain(message);
    for (const text of [message, ...recorded]) expect(text).not.toContain(password.slice(0, 6));
  });

  it('a file with SQL of its own exits 2 listing it unless --allow-sql; allowed on the embedded demo, COPY TO PROGRAM is refused by the server', async () => {
    // Somewhere the server's OS user could write, were it allowed to run a program.
    const proofDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-proof-'));
    await chmod(proofDir, 0o777);
    const proof = path.join(proofDir, 'proof.txt');
    const copy = `COPY (SELECT 1) TO PROGRAM 'id > ${proof}'`;
    const file = path.join(tmp, 'harmless.json');
    await writeFile(file, JSON.stringify({ title: 'A harmless-looking scenario', steps: [{ 'tx.begin': { label: 'x' } }, { 'tx.run': { borrowerId: '$x', sql: copy } }, { 'tx.commit': { borrowerId: '$x' } }] }));
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-cli-demo-'));
    await chmod(dataDir, 0o755); // as root, the server's OS user must reach the data dir inside
    try {
      const refused = await cli(['run', file], { POOLSCOPE_DATA_DIR: dataDir });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`poolscope: harmless.json: it sends SQL of its own, which would run as written on the database:\n    step 2 (tx.run): ${copy}\n`);
      expect(refused.stderr).toContain('--allow-sql');
      expect(refused.stdout).not.toMatch(/^ {2}\d /m); // no step ran
      expect(await readdir(dataDir)).toEqual([]); // nothing started

      const allowed = await cli(['run', file, '--allow-sql'], { POOLSCOPE_DATA_DIR: dataDir });
      expect(allowed.code, allowed.stderr).toBe(2);
      expect(allowed.stdout).toMatch(/ {2}2 FAIL tx\.run .*\n {11}permission denied to COPY to or from an external program/);
      await expect(stat(proof)).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await rm(proofDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('the target from POOLSCOPE_TARGET or --target-file works, and its password is printed nowhere; the scenario naming another target is said', async () => {
    const password = new URL(pgUrl()).password;
    const file = path.join(tmp, 'quiet.json');
    await writeFile(file, JSON.stringify({ title: 'A quiet pool', settings: { max: 2 }, steps: [{ expect: 'waiting == 0' }] }));
    const shown = `postgres://poolscope_demo@127.0.0.1:${new URL(pgUrl()).port}/poolscope_demo`;

    const fromEnv = await cli(['run', file], { POOLSCOPE_TARGET: pgUrl() });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stdout).toContain(`PASSED: quiet.json on ${shown}: 1 of 1 expects passed`);
    expect(fromEnv.stderr).toContain(`poolscope: note: This scenario is written for the embedded demo database; it will run on ${shown}, the connected target.`);

    const urlFile = path.join(tmp, 'target.url');
    await writeFile(urlFile, `${pgUrl()}\n`, { mode: 0o600 });
    const fromFile = await cli(['run', file, '--target-file', urlFile, '--json']);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ passed: true, target: shown, targetMismatch: expect.stringContaining(shown) });
    expect(fromFile.stderr).not.toContain('can be read by other users');

    await chmod(urlFile, 0o644);
    const both = await cli(['run', file, '--target', pgUrl(), '--target-file', urlFile]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --target or --target-file, not both');
    const open = await cli(['run', file, '--target-file', urlFile]);
    expect(open.code).toBe(0);
    expect(open.stderr).toContain(`${urlFile} can be read by other users (mode 644); chmod 600 it.`);
    for (const r of [fromEnv, fromFile, both, open]) expect(r.stdout + r.stderr).not.toContain(password);
  });

  it("a file's escape sequences and control characters never reach the terminal", async () => {
    const file = path.join(tmp, 'escapes.json');
    const clipboard = '\u001b]52;c;cm0gLXJmIH4=\u0007';
    await writeFile(
      file,
      JSON.stringify({
        title: `Red \u001b[31mtitle\u001b[0m${clipboard}`,
        steps: [{ note: 'first line\r\u001b[2KPASSED: everything\nFAILED: nothing \u009b31m' }, { expect: 'waiting == 1' }],
      }),
    );
    const r = await cli(['run', file, '--target', pgUrl()]);
    expect(r.code).toBe(1);
    const printed = r.stdout + r.stderr;
    expect(printed).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('poolscope: escapes.json: Red title');
    // The note's own lines are indented below the note: none passes for the verdict.
    expect(r.stdout).toContain('       > first linePASSED: everything\n         FAILED: nothing \n');
    expect(r.stdout.split('\n').filter((line) => /^(PASSED|FAILED):/.test(line))).toEqual(['FAILED: escapes.json on ' + `postgres://poolscope_demo@127.0.0.1:${new URL(pgUrl()).port}/poolscope_demo: 0 of 1 expects passed`]);
  });

  it('a scenario file over 1 MB is refused, as in the app, without reading it whole', async () => {
    const big = path.join(tmp, 'big.json');
    await writeFile(big, JSON.stringify({ title: 'Big', steps: [{ note: 'x'.repeat(1_000_000) }] }));
    const r = await cli(['run', big]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`"${big}" is larger than 1 MB: a scenario file must be under 1 MB (as in the app).`);
    const endless = await cli(['run', '/dev/zero']);
    expect(endless.code).toBe(2);
    expect(endless.stderr).toContain('"/dev/zero" is larger than 1 MB');
  });

  it('list names the 9 built-ins', async () => {
    const { code, stdout } = await cli(['list', '--json']);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { name: string }[]).map((x) => x.name)).toEqual(BUILT_IN_NAMES);
  });
});

describe("the runner through the API (the app's player)", () => {
  let service: PoolscopeService | null = null;
  afterEach(async () => {
    await service?.stop();
    service = null;
  });

  async function serve() {
    service = new PoolscopeService(await Engine.start({ target: pgUrl() }));
    const s = service;
    const call = async <K extends keyof Commands>(cmd: K, req?: Commands[K]['req']): Promise<Commands[K]['res']> => {
      const r = await s.handle(cmd, req);
      if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
      return r.res as Commands[K]['res'];
    };
    return { service: s, live: () => s.engine.log.live, call };
  }

  it('Step and Play stop at each note until Next; Back replays the steps up to the previous note; restart and close stop what ran', async () => {
    const { service: s, live, call } = await serve();
    expect((await call('scenario.list')).map((x) => x.name)).toEqual(BUILT_IN_NAMES);
    expect(await call('scenario.open', { builtIn: 'pinned-transaction' })).toMatchObject({ name: 'pinned-transaction', steps: 16 });
    expect(live().scenario).toMatchObject({ name: 'pinned-transaction', state: 'paused', current: 0, note: null, noteStep: null });

    // Step runs demo.install and stops at the first note.
    await call('scenario.step');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', current: 2, noteStep: 1 });
    expect(live().scenario?.note).toMatch(/^A transaction lives on one connection/);
    // The next Step runs tx.begin, an expect and three statements without a click each, and stops at note 7.
    await call('scenario.step');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', current: 8, noteStep: 7 });
    expect(live().scenario?.steps.slice(0, 9).map((x) => x.status)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed', 'passed', 'passed', 'passed', 'pending']);
    expect(Object.values(live().connections).filter((c) => c.state === 'in-transaction')).toHaveLength(1);

    // Back: starts over (the transaction's connection given back) and replays up to note 1, where it stops.
    await call('scenario.back');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', current: 2, noteStep: 1, goal: null });
    expect(Object.values(live().borrowers).filter((b) => b.state === 'holding')).toEqual([]);
    // Back from the first note: no note before it, so it is a restart.
    await call('scenario.back');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', current: 0, note: null, noteStep: null });
    expect(live().scenario?.steps.every((x) => x.status === 'pending')).toBe(true);

    // Play on backpressure: the first note stays until Next; nothing after it ran.
    await call('scenario.open', { builtIn: 'backpressure' });
    await call('scenario.play');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', current: 1, noteStep: 0, readMs: null });
    await sleep(300);
    expect(live().scenario?.steps[1]?.status).toBe('pending');
    expect(Object.values(live().borrowers)).toEqual([]);
    // Next: the spike, a wait and an expect run, and Play stops at the next note.
    await call('scenario.next');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', current: 5, noteStep: 4 });
    expect(live().scenario?.steps[3]?.status).toBe('passed');
    // Pause during a wait: the wait goes back to pending and runs again on the next Next.
    await call('scenario.next');
    while ((live().scenario?.steps[5]?.status ?? 'pending') !== 'running') await sleep(20);
    await call('scenario.pause');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', current: 5 });
    expect(live().scenario?.steps[5]?.status).toBe('pending');
    await call('scenario.next');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', current: 7, noteStep: 6 });
    await call('scenario.next');
    await s.scenarios.settled();
    expect(live().scenario?.state).toBe('finished');
    expect(live().scenario?.steps.every((x) => x.status === 'passed')).toBe(true);
    const ended = await s.handle('scenario.play', undefined);
    expect(ended).toEqual({ ok: false, error: { code: 'no-scenario', message: 'The scenario has run to its end: restart it to run it again.' } });

    // Close during a run: what it started stops, the scenario and its note leave the snapshot.
    await call('scenario.restart');
    await call('scenario.play');
    await s.scenarios.settled();
    const acquiredAtRestart = live().counters.acquired;
    await call('scenario.next');
    while (live().counters.acquired < acquiredAtRestart + 10) await sleep(20);
    await call('scenario.close');
    await s.scenarios.settled();
    expect(live().scenario).toBeNull();
    expect(Object.values(live().borrowers).filter((b) => b.state === 'holding' || b.state === 'waiting')).toEqual([]);
    expect(await s.handle('scenario.next', undefined)).toEqual({ ok: false, error: { code: 'no-scenario', message: 'No scenario is open: open a built-in or a file first.' } });
  });

  it('a note marked "after-reading" goes on by itself after its reading time; Next cuts it short; a failing expect stops the run and says which', async () => {
    const { service: s, live, call } = await serve();
    const source = JSON.stringify({
      title: 'Reads',
      steps: [
        { note: 'read me', advance: 'after-reading' },
        { expect: 'waiting == 0' },
        { note: 'read me too', advance: 'after-reading' },
        { note: 'stops here' },
        { expect: ['waiting == 0', 'total > 1000'] },
        { note: 'never shown' },
      ],
    });
    await call('scenario.open', { source, fileName: 'reads.json' });
    await call('scenario.play');
    while (live().scenario?.noteStep !== 0) await sleep(20);
    expect(live().scenario).toMatchObject({ state: 'playing', readMs: 4000, current: 0 });
    await sleep(300);
    // Still reading: the expect after it has not run.
    expect(live().scenario?.steps[1]?.status).toBe('pending');
    // No Next: after its reading time Play goes on by itself, to the next note, read as long.
    while (live().scenario?.noteStep !== 2) await sleep(20);
    expect(live().scenario?.steps[1]?.status).toBe('passed');
    expect(live().scenario).toMatchObject({ state: 'playing', readMs: 4000 });
    // Next cuts that reading short; the note without "advance" waits for Next.
    await call('scenario.next');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', noteStep: 3, readMs: null, current: 4 });
    await call('scenario.next');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'failed', noteStep: 3, current: 5 });
    expect(live().scenario?.steps[4]).toMatchObject({ status: 'failed', message: expect.stringMatching(/^ok: waiting == 0 .*; FAILED: total > 1000/) });
    expect(await s.handle('scenario.next', undefined)).toMatchObject({ ok: false, error: { message: 'A step failed and stopped the scenario: restart it to run it again.' } });
  });

  it('a file sending SQL of its own is not played, nor stepped, until that review is confirmed; a file without SQL plays at once', async () => {
    const { service: s, live, call } = await serve();
    const insert = "INSERT INTO orders (customer) VALUES ('review@example.com')";
    const source = JSON.stringify({ title: 'Writes an order', steps: [{ 'tx.begin': { label: 'w' } }, { 'tx.run': { borrowerId: '$w', sql: insert } }, { 'tx.rollback': { borrowerId: '$w' } }] });
    await call('scenario.open', { source, fileName: 'writes.json' });
    const review = live().scenario?.review;
    expect(review?.sql).toEqual([{ index: 1, cmd: 'tx.run', sql: insert }]);
    expect(live().scenario?.target).toBe('embedded');
    for (const cmd of ['scenario.play', 'scenario.step'] as const) {
      expect(await s.handle(cmd, undefined)).toEqual({
        ok: false,
        error: { code: 'needs-confirmation', message: `writes.json sends SQL of its own, which runs as written on the connected database:\n  step 2 (tx.run): ${insert}\nA scenario file is code: confirm it (scenario.confirm) only if you trust it.` },
      });
    }
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', current: 0 });
    expect(live().scenario?.steps.every((x) => x.status === 'pending')).toBe(true);
    expect(live().counters.txBegan).toBe(0);

    // Another review's id (another window opened another file meanwhile) confirms nothing.
    expect(await s.handle('scenario.confirm', { id: 'another-review' })).toMatchObject({ ok: false, error: { code: 'needs-confirmation' } });
    await call('scenario.confirm', { id: review?.id ?? '' });
    expect(live().scenario?.review).toBeNull();
    await call('scenario.play');
    await s.scenarios.settled();
    expect(live().scenario?.state).toBe('finished');
    expect(live().counters.txRolledBack).toBe(1);
    // Restarted, it stays confirmed; opened again, it asks again.
    await call('scenario.restart');
    await call('scenario.step');
    await s.scenarios.settled();
    expect(live().scenario?.state).toBe('finished');
    await call('scenario.open', { source, fileName: 'writes.json' });
    expect(live().scenario?.review?.sql).toHaveLength(1);
    expect(await s.handle('scenario.play', undefined)).toMatchObject({ ok: false, error: { code: 'needs-confirmation' } });

    await call('scenario.open', { source: JSON.stringify({ title: 'Reads nothing', steps: [{ expect: 'waiting == 0' }] }), fileName: 'quiet.json' });
    expect(live().scenario?.review).toBeNull();
    await call('scenario.play');
    await s.scenarios.settled();
    expect(live().scenario?.state).toBe('finished');
  });

  it('a file with problems is refused with every field at fault; record.stop without a recording says so', async () => {
    const { service: s } = await serve();
    const bad = await s.handle('scenario.open', { source: JSON.stringify({ title: 'x', steps: [{ wait: { until: 'waitng > 1' } }, { 'pool.configure': { max: 0 } }] }), fileName: 'mine.json' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.code).toBe('bad-scenario');
      expect(bad.error.message).toMatch(/^mine\.json is not a valid scenario:\n {2}steps\[0\]\.wait\.until: unknown metric "waitng"/);
      expect(bad.error.message).toContain('steps[1]["pool.configure"].max: pool size (max) must be at least 1');
    }
    expect(await s.handle('scenario.play', undefined)).toEqual({ ok: false, error: { code: 'no-scenario', message: 'No scenario is open: open a built-in or a file first.' } });
    expect(await s.handle('record.stop', undefined)).toEqual({ ok: false, error: { code: 'recording', message: 'Nothing is being recorded: start a recording first.' } });
  });

  it('a recording rebuilds, with the shared reducer alone, exactly the snapshots the live run had at the same seqs', async () => {
    const { service: s, call } = await serve();
    await call('record.start');
    const live = new Map<number, Snapshot>();
    const stop = s.engine.log.subscribe((e) => {
      // Every 25th event and each step's outcome: moments inside waits, borrows and timeouts.
      if (e.seq % 25 === 0 || e.type === 'scenario.stepped') live.set(e.seq, s.engine.log.snapshot());
    });
    await call('scenario.open', { builtIn: 'leak' });
    // Through its notes without a click, as `poolscope run` plays it.
    s.scenarios.playThrough();
    await s.scenarios.settled();
    stop();
    const recording = JSON.parse(await call('record.stop')) as Recording;
    // A real run's file passes the check a replay makes (every event against its schema).
    expect(checkRecording(recording)).toMatchObject({ ok: true });
    expect(s.scenarios.state).toBe('finished');
    expect(recording.notes.length).toBe(builtIn('leak')?.steps.filter((x) => x.kind === 'note').length);
    expect(live.size).toBeGreaterThan(20);
    for (const [seq, snapshot] of live) {
      const rebuilt = reduceAll(structuredClone(recording.initial), recording.events.filter((e) => e.seq <= seq));
      expect(rebuilt, `seq ${seq}`).toEqual(JSON.parse(JSON.stringify(snapshot)));
    }
    // Marks a replay jumps to: the first leak flag comes before the first timeout.
    const firstFlag = recording.events.find((e) => e.type === 'borrower.flagged')?.seq ?? Infinity;
    const firstTimeout = recording.events.find((e) => e.type === 'borrower.timedout')?.seq ?? -1;
    expect(firstFlag).toBeLessThan(firstTimeout);
  });
});
