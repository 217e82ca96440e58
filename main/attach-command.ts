// `poolscope attach -- <command>`: runs the command with Poolscope's agent preloaded in
// every Node process it starts (NODE_OPTIONS), with the same stdin, stdout, stderr and exit
// code. When no Poolscope is running, it starts the browser host for the run (no pool of
// its own: the page shows the app's pools). At the end, one summary line on stderr.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from './engine/engine';
import { defaultAttachFile, startAttachServer } from './engine/attach/attach-server';
import { messageOf } from './engine/errors';
import { NO_SECRET_BOX, SavedTargets, defaultSavedTargetsFile } from './engine/saved-targets';
import { PoolscopeService } from './engine/service';
import { startWebHost } from './web/web-host';

/** The agent Node loads with --require: CommonJS, so CJS and ESM apps alike (an ESM app's drivers load through require). */
export const AGENT = join(import.meta.dirname, 'agent', 'agent.cjs');

export interface Totals {
  processes: number;
  pools: number;
  connections: number;
  borrowers: number;
  statements: number;
  dropped: number;
  /** Borrowers beyond the site budget (`--site-budget`), their call sites not captured. */
  notSampled: number;
  /** The agents' site budget (call sites per second); null: every borrow's. */
  siteBudget: number | null;
}

const n = (x: number) => x.toLocaleString('en-US');
const plural = (x: number, one: string, many: string) => `${n(x)} ${x === 1 ? one : many}`;

export function summaryLine(t: Totals): string {
  const unsampled = t.notSampled === 0 ? '' : `, ${plural(t.notSampled, 'borrower', 'borrowers')} not sampled${t.siteBudget === null ? '' : ` (site budget ${n(t.siteBudget)}/s)`}`;
  return (
    `poolscope: attached to ${plural(t.processes, 'process', 'processes')}: ${plural(t.pools, 'pool', 'pools')}, ` +
    `${plural(t.connections, 'connection', 'connections')}, ${plural(t.borrowers, 'borrower', 'borrowers')}, ` +
    `${plural(t.statements, 'statement', 'statements')}, ${plural(t.dropped, 'event', 'events')} dropped${unsampled}`
  );
}

/** NODE_OPTIONS with the agent added; a path with spaces or quotes is quoted as Node reads it. */
export function withAgent(nodeOptions: string | undefined, agent = AGENT): string {
  const quoted = /[\s"\\]/.test(agent) ? `"${agent.replace(/(["\\])/g, '\\$1')}"` : agent;
  return [nodeOptions?.trim(), `--require ${quoted}`].filter(Boolean).join(' ');
}

/** Whether a Poolscope listens at the port the attach file names. */
async function running(file: string): Promise<boolean> {
  let port: number;
  try {
    port = (JSON.parse(readFileSync(file, 'utf8')) as { port: number }).port;
  } catch {
    return false;
  }
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2_000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** A browser host with no pool of its own, and the agents' listener, for this run. */
async function startHost(file: string, rendererDir: string, say: (text: string) => void): Promise<() => Promise<void>> {
  const engine = new Engine({});
  const service = new PoolscopeService(engine, { saved: new SavedTargets(defaultSavedTargetsFile(), NO_SECRET_BOX) });
  const listener = await startAttachServer({ log: engine.log, clock: engine.clock, newPoolId: () => engine.newPoolId(), file });
  try {
    const host = await startWebHost({ service, root: rendererDir });
    say(`poolscope: watching this run at ${host.url}`);
    return async () => {
      await host.close();
      await listener.close();
    };
  } catch (err) {
    say(`poolscope: no browser host (${messageOf(err)}); the app runs observed by no one.`);
    return () => listener.close();
  }
}

function totalsIn(dir: string): Totals {
  const sum: Totals = { processes: 0, pools: 0, connections: 0, borrowers: 0, statements: 0, dropped: 0, notSampled: 0, siteBudget: null };
  const counts = ['processes', 'pools', 'connections', 'borrowers', 'statements', 'dropped', 'notSampled'] as const;
  for (const name of readdirSync(dir)) {
    try {
      const t = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Partial<Totals>;
      for (const k of counts) if (Number.isFinite(t[k])) sum[k] += t[k] as number;
      // Every process of the run reads the same environment, so the same budget.
      if (Number.isFinite(t.siteBudget)) sum.siteBudget = t.siteBudget as number;
    } catch {
      // A process that died mid-write: its line is lost, not the others'.
    }
  }
  return sum;
}

/** Pool metrics to export from every process with a pool (docs/metrics.md); absent fields are off. */
export interface MetricsOptions {
  port?: number;
  host?: string;
  otlp?: string;
  leakMs?: number;
}

/** The agent reads its metrics settings from the environment it inherits (main/agent/metrics.cjs). */
export function metricsEnv(m: MetricsOptions): Record<string, string> {
  const env: Record<string, string> = {};
  if (m.port !== undefined) env.POOLSCOPE_METRICS_PORT = String(m.port);
  if (m.host !== undefined) env.POOLSCOPE_METRICS_HOST = m.host;
  if (m.otlp !== undefined) env.POOLSCOPE_METRICS_OTLP = m.otlp;
  if (m.leakMs !== undefined) env.POOLSCOPE_METRICS_LEAK_MS = String(m.leakMs);
  return env;
}

/**
 * Runs the command; resolves with the exit code to use (the command's, or 128 + signal).
 * siteBudget: call sites captured per second per process, or `all` (the agent reads POOLSCOPE_SITE_BUDGET); absent: the agent's default.
 */
export async function attach(command: string[], opts: { rendererDir: string; say: (text: string) => void; metrics?: MetricsOptions; siteBudget?: string }): Promise<number> {
  const file = defaultAttachFile();
  const stopHost = (await running(file)) ? null : await startHost(file, opts.rendererDir, opts.say);
  const runDir = mkdtempSync(join(tmpdir(), 'poolscope-attach-'));
  const [cmd, ...args] = command as [string, ...string[]];
  const child = spawn(cmd, args, {
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: withAgent(process.env.NODE_OPTIONS), POOLSCOPE_ATTACH_FILE: file, POOLSCOPE_ATTACH_RUN: runDir, ...metricsEnv(opts.metrics ?? {}), ...(opts.siteBudget === undefined ? {} : { POOLSCOPE_SITE_BUDGET: opts.siteBudget }) },
  });
  // The terminal's Ctrl+C reaches the command's process group itself; a signal sent to us alone is passed on.
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const code = await new Promise<number>((resolve) => {
    child.once('error', (err) => {
      opts.say(`poolscope: could not run "${cmd}": ${messageOf(err)}`);
      resolve(127);
    });
    child.once('exit', (c, signal) => resolve(c ?? 128 + (signal ? signalNumber(signal) : 0)));
  });
  for (const [s, h] of handlers) process.off(s, h);
  opts.say(summaryLine(totalsIn(runDir)));
  rmSync(runDir, { recursive: true, force: true });
  await stopHost?.();
  return code;
}

export function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return numbers[signal] ?? 1;
}
