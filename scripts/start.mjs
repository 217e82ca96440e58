// npm start: build, then open the desktop window; when Electron's binary is not installed
// (offline installs) or there is no display to open a window on (a remote dev box), serve
// the same UI to a browser instead (main/cli.ts web, which prints the URL).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const root = join(import.meta.dirname, '..');
const say = (line) => console.log(`poolscope: ${line}`);

// Runs a child with our stdio; resolves to the exit code we should end with. SIGINT/SIGTERM
// are passed on so the child can shut down cleanly (stop the embedded database, ...).
function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.on('error', (error) => {
      say(`could not start ${command}: ${error.message}`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve(signal ? 128 + constants.signals[signal] : (code ?? 1));
    });
  });
}

// undefined when the binary is not there: electron's index.js throws without path.txt.
function electronBinary() {
  try {
    const path = require('electron');
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

// Always build: it takes about a second, and an mtime check could miss a deleted source file.
const viteBin = join(dirname(require.resolve('electron-vite/package.json')), 'bin/electron-vite.js');
let code = await run(process.execPath, [viteBin, 'build', '--logLevel', 'warn']);

if (code === 0) {
  const electron = electronBinary();
  const noDisplay =
    process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
  if (electron && !noDisplay) {
    // Chromium refuses to run as root with its process sandbox; Electron checks that before
    // any of our code runs, so the flag must come from here (main.ts says so in one line).
    code = await run(electron, process.getuid?.() === 0 ? ['--no-sandbox', '.'] : ['.']);
  } else {
    say(
      electron
        ? 'no display (DISPLAY and WAYLAND_DISPLAY are unset); serving the UI to your browser instead.'
        : "Electron's binary is not installed (offline install); serving the UI to your browser instead.",
    );
    // `node --import tsx` rather than `npx tsx`: one process, so signals reach the CLI directly.
    code = await run(process.execPath, ['--import', 'tsx', 'main/cli.ts', 'web']);
  }
}
process.exitCode = code;
