// npm run bench: bundles the harness with the engine (tests/bench/run.ts → out/bench/run.mjs,
// and the clients part's host process, tests/bench/clients-host.ts) and runs it. The engine
// is measured as it ships, bundled, as electron-vite builds it: under tsx every function of
// ours carries esbuild's keepNames wrapper, which alone cost the inspected side several µs
// per request. Drivers and other packages stay external.
// `-- --baseline DIR`: the host process is also bundled against DIR's main/ (another
// checkout, e.g. a worktree of main), and the clients part measures both side by side; so is
// DIR's tests/bench/workload.ts, whose inspected pool the overhead part runs as a third side.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const outfile = join(root, 'out/bench/run.mjs');
const hostEntry = join(root, 'tests/bench/clients-host.ts');
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' };
await build({ ...common, entryPoints: [join(root, 'tests/bench/run.ts')], outfile });
await build({ ...common, entryPoints: [hostEntry], outfile: join(root, 'out/bench/clients-host.mjs') });

const { values } = parseArgs({ options: { baseline: { type: 'string' } }, strict: false });
if (typeof values.baseline === 'string') {
  const base = resolve(values.baseline);
  if (!existsSync(join(base, 'main/web/web-host.ts'))) {
    console.error(`bench: --baseline ${base} is not a Poolscope checkout (no main/web/web-host.ts)`);
    process.exit(2);
  }
  // The host file's own imports of main/ are taken from the baseline; theirs follow from there.
  const fromBaseline = {
    name: 'baseline-main',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/\.\.\/main\// }, (args) =>
        args.importer === hostEntry ? b.resolve(args.path, { kind: args.kind, resolveDir: join(base, 'tests/bench') }) : undefined,
      );
    },
  };
  await build({ ...common, entryPoints: [hostEntry], outfile: join(root, 'out/bench/clients-host-baseline.mjs'), plugins: [fromBaseline] });
  // The overhead part's third side: the baseline's own inspected pool, in the same process.
  await build({ ...common, entryPoints: [join(base, 'tests/bench/workload.ts')], outfile: join(root, 'out/bench/workload-baseline.mjs') });
}
const child = spawn(process.execPath, ['--expose-gc', outfile, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('close', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
