import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

// The checkout: the nearest folder up with the project's package.json (this file also runs
// bundled into out/bench/ by `npm run bench`).
function checkout(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'renderer'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Poolscope checkout above ${from}`);
  }
}
const root = checkout(import.meta.dirname);
const built = path.join(root, 'out/renderer/index.html');

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** The end-to-end tests drive the built renderer: build it when it is missing or older than its sources. */
export default async function setup(): Promise<void> {
  const stale = !existsSync(built) || statSync(built).mtimeMs < Math.max(await newestSource(path.join(root, 'renderer')), await newestSource(path.join(root, 'shared')));
  if (stale) {
    console.log('e2e: building the renderer (out/renderer is missing or older than its sources)');
    execFileSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  }
}
