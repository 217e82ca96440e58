import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
    const { report } = await runHeadless(builtIn(name) as NonNullable<ReturnType<typeof builtIn>>, { target: engine === 'postgres' ? pgUrl() : mysqlUrl });
    console.info(`${engine} ${name}: ${Date.now() - started} ms; ${report.expects.map((x) => x.conditions.map((c) => `${c.text} (seen ${c.seen})`).join(', ')).join('; ')}`);
    expectPassed(report);
  });
});

describe('the database-restart built-in (its own embedded PostgreSQL)', () => {
  it('restarts the server under load; the pool recovers and the expects pass', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-scenario-restart-'));
    try {
      const started = Date.now();
      const { report } = await runHeadless(builtIn('database-restart') as NonNullable<ReturnType<typeof builtIn>>, { embedded: { dataDir } });
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
    const { report, recording } = await runHeadless(scenario, { target: pgUrl(), record: true });
    expect(report.exitCode, report.error ?? '').toBe(0);
    const message = report.steps[1]?.message ?? '';
    expect(message).toMatch(/^\{"rows":\[\{"pad":"x{150}","dsn":"\*\*\*"\}\],"affected":null\}$/);
    // The step's summary quotes the scenario's own SQL; its outcome's message is the result's.
    const recorded = recording?.events.flatMap((e) => (e.type === 'scenario.stepped' ? [e.outcome.message ?? ''] : [])) ?? [];
    expect(recorded).toContain(message);
    for (const text of [message, ...recorded]) expect(text).not.toContain(password.slice(0, 6));
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

  it('steps one at a time with the note shown; pause keeps the step; restart stops what ran and starts over', async () => {
    const { service: s, live, call } = await serve();
    expect((await call('scenario.list')).map((x) => x.name)).toEqual(BUILT_IN_NAMES);
    expect(await call('scenario.open', { builtIn: 'pinned-transaction' })).toMatchObject({ name: 'pinned-transaction', steps: 16 });
    expect(live().scenario).toMatchObject({ name: 'pinned-transaction', state: 'paused', current: 0, note: null });

    for (let i = 0; i < 3; i++) {
      await call('scenario.step');
      await s.scenarios.settled();
    }
    // demo.install, the note, tx.begin: the transaction is open, its note on screen.
    expect(live().scenario?.current).toBe(3);
    expect(live().scenario?.state).toBe('paused');
    expect(live().scenario?.note).toMatch(/^A transaction lives on one connection/);
    expect(live().scenario?.steps.slice(0, 4).map((x) => x.status)).toEqual(['passed', 'passed', 'passed', 'pending']);
    expect(Object.values(live().connections).filter((c) => c.state === 'in-transaction')).toHaveLength(1);

    // Restart: the open transaction's connection is given back, outcomes reset, the note cleared.
    await call('scenario.restart');
    expect(live().scenario).toMatchObject({ state: 'paused', current: 0, note: null });
    expect(live().scenario?.steps.every((x) => x.status === 'pending')).toBe(true);
    expect(Object.values(live().borrowers).filter((b) => b.state === 'holding')).toEqual([]);

    // Pause during a wait: the wait goes back to pending and runs again on play.
    await call('scenario.open', { builtIn: 'backpressure' });
    await call('scenario.play');
    const waitStep = 5; // wait until waiting == 0
    while ((live().scenario?.current ?? 0) < waitStep) await sleep(20);
    await call('scenario.pause');
    await s.scenarios.settled();
    expect(live().scenario).toMatchObject({ state: 'paused', current: waitStep });
    expect(live().scenario?.steps[waitStep]?.status).toBe('pending');
    await call('scenario.play');
    await s.scenarios.settled();
    expect(live().scenario?.state).toBe('finished');
    expect(live().scenario?.steps.every((x) => x.status === 'passed')).toBe(true);
    const ended = await s.handle('scenario.play', undefined);
    expect(ended).toEqual({ ok: false, error: { code: 'no-scenario', message: 'The scenario has run to its end: restart it to run it again.' } });
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
    await call('scenario.play');
    await s.scenarios.settled();
    stop();
    const recording = JSON.parse(JSON.stringify(await call('record.stop'))) as Recording;
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
