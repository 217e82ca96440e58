// npm run bench [-- --quick] [--out FILE]: every part on both servers, a table on stdout
// and the report (with the targets checked) in docs/bench/latest.json.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { missingChromium } from '../e2e/helpers/chromium';
import { runBench } from './bench';
import { FULL, QUICK } from './config';
import { checkTargets, formatReport } from './report';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
// `npm run bench --quick` (without the `--`) reaches us only as npm's config variable.
const quick = values.quick || process.env.npm_config_quick === 'true';
const cfg = quick ? QUICK : FULL;
const out = path.resolve(values.out ?? path.join(import.meta.dirname, '../../docs/bench/latest.json'));
if (!(globalThis as { gc?: unknown }).gc) console.warn('bench: run with --expose-gc (npm run bench does) for heap figures after a full collection');

// The view and soak parts drive the page in Chromium: say so now, not minutes in.
const noBrowser = missingChromium();
if (noBrowser !== null) {
  console.error(`bench: the view and soak parts need Chromium, and there is ${noBrowser}`);
  process.exit(2);
}

const report = await runBench(cfg, (line) => console.error(`  ${line}`));
const targets = checkTargets(report);
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify({ ...report, targets }, null, 2)}\n`);
console.log(formatReport(report));
console.log(`\nwritten to ${path.relative(process.cwd(), out)}`);
