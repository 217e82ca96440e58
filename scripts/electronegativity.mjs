// npm run check, last step: Electronegativity (Doyensec's Electron security linter) over the code
// that runs in Electron: main/ (the main process: shell, engine, hosts), renderer/ (index.html
// and its TypeScript; .svelte files are not parsed by it) and shared/.
//
// The tool exits 0 whatever it finds, so this script judges the findings:
//   - any HIGH finding fails, whatever its confidence;
//   - a MEDIUM finding fails unless it is listed in ACCEPTED below, with the reason it does not
//     apply here (reviewed by hand; the list names the file, so the same pattern elsewhere is
//     judged again);
//   - LOW and INFORMATIONAL findings are counted in the summary line only;
//   - a file it cannot parse fails (it would not have been checked).
//
// It runs offline and the same way every time: the library is called directly (no CSV to parse),
// its translation download (an HTTP request on every run) is replaced by the English strings it
// ships, and AVAILABLE_SECURITY_FIXES_GLOBAL_CHECK is skipped: it downloads Electron's release
// list, so its verdict would change with the day and the network. Keeping Electron patched is
// the job of npm outdated / audit, not of this check.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const SCANNED = ['main', 'renderer', 'shared'];
const EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.jsx', '.ts', '.tsx', '.html', '.htm']);

/** MEDIUM (or lower) findings reviewed and accepted: [check id, file] → why it does not apply. */
const ACCEPTED = [
  {
    id: 'PRELOAD_JS_CHECK',
    file: 'main/electron/main.ts',
    why:
      'the preload (main/electron/preload.ts) is sandboxed and context-isolated and exposes only ' +
      'version/invoke/subscribe over two fixed channels, never ipcRenderer; the main process checks ' +
      'the sender frame and validates every request',
  },
  {
    id: 'AUXCLICK_JS_CHECK',
    file: 'main/electron/main.ts',
    why:
      'a middle-click on a link asks for a new window, which setWindowOpenHandler denies for every ' +
      "webContents, and will-navigate blocks any navigation; disableBlinkFeatures: 'Auxclick' would " +
      'add nothing but silence this check',
  },
];

const require = createRequire(import.meta.url);

// Electronegativity's i18n module fetches translations from S3 on every run (1 s timeout), and
// AVAILABLE_SECURITY_FIXES_GLOBAL_CHECK fetches release notes: give both a `got` that answers
// 404 without touching the network. i18n then keeps the en-US strings shipped in the package.
function stubNetwork() {
  const engRequire = createRequire(require.resolve('@doyensec/electronegativity'));
  const gotPath = engRequire.resolve('got');
  const stub = new Module(gotPath);
  stub.filename = gotPath;
  stub.loaded = true;
  stub.exports = () => Promise.resolve({ statusCode: 404, body: '' });
  require.cache[gotPath] = stub;
}

function electronVersion() {
  try {
    return require('electron/package.json').version;
  } catch {
    const range = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies?.electron ?? '';
    return range.replace(/^[^\d]*/, '');
  }
}

function countFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

const rank = { INFORMATIONAL: 0, LOW: 1, MEDIUM: 2, HIGH: 3 };

async function main() {
  stubNetwork();
  const run = require('@doyensec/electronegativity');
  const version = electronVersion();

  // One input tree, so the global checks (CSP, navigation limits, permission handler) see the
  // main process and the page together; paths inside it are the repository's paths.
  const input = mkdtempSync(join(tmpdir(), 'poolscope-electronegativity-'));
  try {
    for (const dir of SCANNED) {
      cpSync(join(ROOT, dir), join(input, dir), {
        recursive: true,
        filter: (src, _dest) => !src.includes('node_modules') && (!extname(src) || EXTENSIONS.has(extname(src))),
      });
    }
    const files = countFiles(input);
    const result = await run({
      input,
      isRelative: true,
      electronVersionOverride: version,
      excludeFromScan: ['AvailableSecurityFixesGlobalCheck'],
      parserPlugins: [],
    });

    const failures = [];
    const accepted = [];
    const counts = { HIGH: 0, MEDIUM: 0, LOW: 0, INFORMATIONAL: 0 };
    for (const issue of result.issues) {
      const severity = issue.severity.name;
      counts[severity] = (counts[severity] ?? 0) + 1;
      const file = issue.file.split('\\').join('/');
      const where = `${file}:${issue.location.line}`;
      const line = `${severity}/${issue.confidence.name} ${issue.id} at ${where}: ${issue.description} (${issue.shortenedURL})`;
      if (rank[severity] >= rank.HIGH) failures.push(line);
      else if (rank[severity] >= rank.MEDIUM) {
        if (ACCEPTED.some((a) => a.id === issue.id && a.file === file)) accepted.push(issue.id);
        else failures.push(line);
      }
    }
    for (const e of result.errors.filter((e) => !e.tolerable)) {
      failures.push(`could not parse ${relative(input, e.file)} (so it was not checked): ${e.message}`);
    }

    for (const f of failures) console.error(`electronegativity: ${f}`);
    const summary =
      `${files} files, Electron ${version}: ${counts.HIGH} high, ${counts.MEDIUM} medium ` +
      `(${accepted.length} accepted: ${[...new Set(accepted)].join(', ') || 'none'}), ${counts.LOW} low, ${counts.INFORMATIONAL} info`;
    if (failures.length > 0) {
      console.error(`electronegativity: FAILED, ${failures.length} finding(s) to fix or to accept in scripts/electronegativity.mjs; ${summary}`);
      process.exitCode = 1;
    } else {
      console.log(`electronegativity: ok; ${summary}`);
    }
  } finally {
    rmSync(input, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`electronegativity: could not run: ${error?.stack ?? error}`);
  process.exitCode = 1;
});
