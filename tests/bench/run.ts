// npm run bench [-- --quick] [--out FILE] [--baseline DIR] [--only overhead|attach|view] [--rounds N]: every part on both
// servers, a table on stdout and the report (with the targets checked) in docs/bench/latest.json.
// --baseline: the clients part also measures the browser host of another checkout (DIR,
// e.g. `git worktree add /tmp/base main`), which scripts/bench.mjs bundled next to this file,
// the overhead part DIR's inspected pool as a third side (bundled likewise) and the attach part
// DIR's agent (DIR needs its node_modules).
// --only overhead|attach|view: that part alone, its table and targets on stdout (latest.json is left as it is).
// --rounds N: the overhead and attach parts' interleaved rounds (15, quick 6): on a noisy machine
// more rounds narrow the medians, at a second per side per round.

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { missingChromium } from '../e2e/helpers/chromium';
import { runAttachBench, runBench, runOverheadBench, runViewBench } from './bench';
import { FULL, QUICK } from './config';
import type { BaselinePool } from './overhead';
import { type TargetCheck, attachChecks, checkTargets, formatAttach, formatOverhead, formatReport, formatView, overheadChecks, viewChecks } from './report';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, baseline: { type: 'string' }, only: { type: 'string' }, rounds: { type: 'string' } } });
// `npm run bench --quick` (without the `--`) reaches us only as npm's config variable.
const quick = values.quick || process.env.npm_config_quick === 'true';
const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1)) {
  console.error(`bench: --rounds takes a whole number from 1 (got ${values.rounds})`);
  process.exit(2);
}
const preset = quick ? QUICK : FULL;
const cfg = rounds === undefined ? preset : { ...preset, overhead: { ...preset.overhead, rounds } };
const out = path.resolve(values.out ?? path.join(import.meta.dirname, '../../docs/bench/latest.json'));
const log = (line: string) => console.error(`  ${line}`);
const baselineAgent = values.baseline === undefined ? undefined : path.resolve(values.baseline, 'main/agent/agent.cjs');
if (baselineAgent !== undefined && !existsSync(baselineAgent)) {
  console.error(`bench: --baseline ${values.baseline} has no main/agent/agent.cjs`);
  process.exit(2);
}
const baselineWorkload = path.join(import.meta.dirname, 'workload-baseline.mjs');
if (values.baseline !== undefined && !existsSync(baselineWorkload)) {
  console.error(`bench: --baseline needs ${baselineWorkload}: run the bench with npm run bench, which bundles it`);
  process.exit(2);
}
const baselinePool = values.baseline === undefined ? undefined : ((await import(baselineWorkload)) as { inspectedPool: BaselinePool }).inspectedPool;
// The view and soak parts drive the page in Chromium: say so now, not minutes in.
const noBrowser = values.only === 'attach' || values.only === 'overhead' ? null : missingChromium();
if (noBrowser !== null) {
  console.error(`bench: the view and soak parts need Chromium, and there is ${noBrowser}`);
  process.exit(2);
}
if (values.only !== undefined) {
  const print = (table: string, checks: TargetCheck[]) => {
    console.log(table);
    for (const c of checks) console.log(`${c.met ? 'met' : 'NOT MET'}: ${c.target}: ${c.measured}`);
  };
  if (values.only === 'overhead') {
    const rows = await runOverheadBench(cfg, log, { baselinePool });
    print(formatOverhead(rows), overheadChecks(rows));
  } else if (values.only === 'attach') {
    const rows = await runAttachBench(cfg, log, { baselineAgent });
    print(formatAttach(rows), attachChecks(rows));
  } else if (values.only === 'view') {
    const view = await runViewBench(cfg, log);
    print(formatView(view), viewChecks(view));
  } else {
    console.error(`bench: --only takes one part, overhead, attach or view (got ${values.only})`);
    process.exit(2);
  }
  process.exit(0);
}
if (!(globalThis as { gc?: unknown }).gc) console.warn('bench: run with --expose-gc (npm run bench does) for heap figures after a full collection');


const baselineFile = path.join(import.meta.dirname, 'clients-host-baseline.mjs');
if (values.baseline !== undefined && !existsSync(baselineFile)) {
  console.error(`bench: --baseline needs ${baselineFile}: run the bench with npm run bench, which bundles it`);
  process.exit(2);
}
const baselineHost = values.baseline === undefined ? undefined : { label: `baseline ${values.baseline}`, file: baselineFile };
const report = await runBench(cfg, log, { baselineHost, baselineAgent, baselinePool });
const targets = checkTargets(report);
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify({ ...report, targets }, null, 2)}\n`);
console.log(formatReport(report));
console.log(`\nwritten to ${path.relative(process.cwd(), out)}`);
