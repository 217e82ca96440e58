// The attach part's 1-client rows run pinned (docs/attach.md, "What the 1-client rows of this
// machine measure"): at 1 client about three quarters of a request's time here was two
// processes on different cores waking each other, a cost that follows how busy each core was
// rather than what the agent does. So each app copy and its own database server share one
// core, and Poolscope (this process, hosting the engine the watched copies report to) runs on
// another: a copy's throughput is then its CPU per request, agent included. Node has no API
// for affinity: taskset (util-linux) sets it, and children inherit it as they are started.

import { execFileSync } from 'node:child_process';

export interface Pinning {
  /** The core the app copies and their server run on. */
  app: number;
  /** The core this process (Poolscope's engine) runs on once they started. */
  poolscope: number;
  /** Every thread of this process to that core: what it starts now inherits it. */
  toApp(): void;
  toPoolscope(): void;
  /** The cores this process had before. */
  restore(): void;
}

/** `0-2,5` → [0, 1, 2, 5]. */
export function parseCpuList(list: string): number[] {
  const cores: number[] = [];
  for (const part of list.trim().split(',')) {
    const [from, to] = part.split('-').map(Number);
    if (!Number.isInteger(from)) continue;
    for (let c = from!; c <= (to ?? from!); c++) cores.push(c);
  }
  return cores;
}

function setCores(list: string): void {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', list, String(process.pid)], { stdio: 'ignore' });
}

/** The cores this process may run on now, as taskset lists them (`0,1`). */
export function currentCores(): string {
  // "pid 123's current affinity list: 0,1"
  return execFileSync('taskset', ['--cpu-list', '--pid', String(process.pid)], { encoding: 'utf8' }).split(':').pop()!.trim();
}

/** Two of this process's cores to pin to, or null and why not (one core, or no taskset). */
export function pinning(): { pinning: Pinning } | { pinning: null; why: string } {
  let allowed: string;
  try {
    allowed = currentCores();
  } catch (err) {
    return { pinning: null, why: `taskset did not run (${(err as Error).message.split('\n')[0]})` };
  }
  const cores = parseCpuList(allowed);
  if (cores.length < 2) return { pinning: null, why: `this process may run on ${cores.length} core(s) only (${allowed})` };
  const [poolscope, app] = cores as [number, number];
  return {
    pinning: {
      app,
      poolscope,
      toApp: () => setCores(String(app)),
      toPoolscope: () => setCores(String(poolscope)),
      restore: () => setCores(allowed),
    },
  };
}
