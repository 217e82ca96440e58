// A parent process that makes no pool and runs the app given as its argument (as npm or a
// file watcher does), with the same stdio: run by tests/integration/metrics.test.ts.
const { spawn } = require('node:child_process');

const child = spawn(process.execPath, [process.argv[2]], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 1));
