import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../main/engine/engine';
import { type AttachServer, startAttachServer } from '../../main/engine/attach/attach-server';
import { attachedRows } from '../../shared/sources';
import { Recorder } from './helpers/recorder';
import { pgUrl } from './helpers/servers';

// `poolscope attach --site-budget N`: a burst of borrows beyond the budget, on the embedded
// PostgreSQL; the first borrowers carry the app's line, the rest read "not sampled", and the
// summary line and the source count them. `poolscope check` ignores the budget.

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'poolscope.mjs');
const BURST_APP = join(import.meta.dirname, 'attach-apps', 'burst-app.cjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(argv: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lineOf(file: string, marker: string): number {
  return readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(marker)) + 1;
}

let dir: string;
let engine: Engine;
let rec: Recorder;
let agents: AttachServer;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolscope-budget-test-'));
  engine = new Engine({});
  rec = new Recorder(engine);
  agents = await startAttachServer({ log: engine.log, clock: engine.clock, newPoolId: () => engine.newPoolId(), file: join(dir, 'attach.json') });
});

afterEach(async () => {
  await agents.close();
  rec.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('poolscope attach --site-budget on postgres', () => {
  it('captures call sites within the budget and shows the other borrowers as not sampled, counted', async () => {
    const env = { APP_DB_URL: pgUrl(), POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json'), BURST: '60' };
    const r = await run([CLI, 'attach', '--site-budget', '5', '--', process.execPath, BURST_APP], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('borrows 60\n');
    const summary = /^poolscope: attached to 1 process: 1 pool, \d+ connections?, 60 borrowers, \d+ statements, 0 events dropped, (\d+) borrowers? not sampled \(site budget 5\/s\)$/;
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(summary)]);
    const reported = Number(summary.exec(r.stderr.trim())![1]);

    await rec.waitFor('source.detached');
    const sites = rec.of('borrower.enqueued').map((b) => b.site);
    expect(sites).toHaveLength(60);
    // All 60 asked in one turn: the budget's 5 went to the first five, the rest are not sampled.
    const line = new RegExp(`attach-apps/burst-app\\.cjs:${lineOf(BURST_APP, 'BURST-LINE')}\\)?$`);
    expect(sites.slice(0, 5)).toEqual(Array(5).fill(expect.stringMatching(line)));
    expect(sites.slice(5)).toEqual(Array(55).fill('not sampled (site budget 5/s)'));
    expect(reported).toBe(55);
    // What the Attached processes panel shows for the process.
    const [row] = attachedRows(engine.log.live);
    expect(row?.source).toMatchObject({ siteBudget: 5, notSampled: 55 });
    expect(rec.violations).toEqual([]);
  });

  it('captures every borrower at its line without the option, and the summary line says nothing of sampling', async () => {
    const env = { APP_DB_URL: pgUrl(), POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json'), BURST: '60' };
    const r = await run([CLI, 'attach', '--', process.execPath, BURST_APP], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^poolscope: attached to 1 process: 1 pool, \d+ connections?, 60 borrowers, \d+ statements, 0 events dropped$/)]);
    await rec.waitFor('source.detached');
    const line = new RegExp(`attach-apps/burst-app\\.cjs:${lineOf(BURST_APP, 'BURST-LINE')}\\)?$`);
    expect(rec.of('borrower.enqueued').map((b) => b.site)).toEqual(Array(60).fill(expect.stringMatching(line)));
    expect(attachedRows(engine.log.live)[0]?.source).toMatchObject({ siteBudget: null, notSampled: 0 });
  });

  it('refuses a budget that is not a whole number from 1 (exit 2), naming the option', async () => {
    for (const bad of ['0', '-3', 'fast', '2.5']) {
      const r = await run([CLI, 'attach', `--site-budget=${bad}`, '--', process.execPath, '-e', 'process.exit(0)'], { POOLSCOPE_ATTACH_FILE: join(dir, 'attach.json') });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--site-budget must be a whole number of call sites per second from 1, such as 100, not "${bad}"`);
    }
    expect(rec.of('source.attached')).toEqual([]);
  });
});

describe('poolscope check and a site budget in the environment', () => {
  it("names a long holder's line though the budget would have left it unsampled", async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
    // A budget of 1 would go to the first of three borrowers: the last, which holds 700 ms, would not be sampled.
    const r = await run([CLI, 'check', '--hold-threshold', '300ms', '--', process.execPath, BURST_APP], { ...env, APP_DB_URL: pgUrl(), BURST: '3', HOLD_MS: '700', POOLSCOPE_SITE_BUDGET: '1' });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`long-hold  borrow \\(attach-apps/burst-app\\.cjs:${lineOf(BURST_APP, 'BURST-LINE')}\\)`));
    expect(r.stderr).not.toContain('not sampled');
  });
});
