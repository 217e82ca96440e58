// postinstall: fetch Electron's binary if it is missing. package.json denies electron's own
// postinstall because it fails offline, which would fail `npm ci`; this one never fails:
// without the binary, `npm start` runs headless.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const TIME_LIMIT_MS = 120_000;
const say = (line) => console.log(`poolscope: ${line}`);

function electronDir() {
  try {
    return dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return null; // not installed at all (e.g. --omit=dev): nothing to fetch
  }
}

// The same test electron's index.js makes: path.txt names the executable inside dist/.
function hasBinary(dir) {
  const pathFile = join(dir, 'path.txt');
  return existsSync(pathFile) && existsSync(join(dir, 'dist', readFileSync(pathFile, 'utf8')));
}

// Runs electron's install.js quietly; resolves to null on success, else a short reason.
function download(dir) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(dir, 'install.js')], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: TIME_LIMIT_MS,
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => resolve(error.message));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(null);
      else if (signal) resolve(`no answer within ${TIME_LIMIT_MS / 1000} s`);
      else resolve(stderr.trim().split('\n')[0] || `exit code ${code}`);
    });
  });
}

async function main() {
  const dir = electronDir();
  if (!dir || hasBinary(dir)) return;
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    say('ELECTRON_SKIP_BINARY_DOWNLOAD is set, not fetching Electron; npm start will run headless.');
    return;
  }
  const failure = await download(dir);
  if (failure === null && hasBinary(dir)) say("Electron's binary is installed.");
  else
    say(
      "Electron's binary could not be downloaded (offline?); npm start will run without the " +
        `desktop window. [${failure ?? 'install.js left no binary'}]`,
    );
}

main().catch((error) => say(`skipping Electron's binary: ${error.message}`));
