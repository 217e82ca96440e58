// npm run bench: bundles the harness with the engine (tests/bench/run.ts → out/bench/run.mjs)
// and runs it. The engine is measured as it ships, bundled, as electron-vite builds it:
// under tsx every function of ours carries esbuild's keepNames wrapper, which alone cost
// the inspected side several µs per request. Drivers and other packages stay external.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const outfile = join(root, 'out/bench/run.mjs');
await build({
  entryPoints: [join(root, 'tests/bench/run.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
const child = spawn(process.execPath, ['--expose-gc', outfile, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('close', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
