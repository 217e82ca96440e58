// `poolscope check -- <command>`: a leak sanitizer for database pools. Runs the command with
// the agent in every Node process it starts (NODE_OPTIONS, as attach), receives the agents
// on a loopback listener of its own (no engine, no UI: findings are reduced from the agent's
// rows directly), and fails when a process leaked a connection, held one too long, returned
// one inside a transaction, timed out waiting, or left a pool open. A command that does not
// end is ended at --timeout, with what keeps each process alive.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { signalNumber, withAgent } from './attach-command';
import { rowSchema, syncSchema } from './engine/attach/agent-protocol';
import { startAgentListener } from './engine/attach/attach-server';
import { messageOf, redactUrls } from './engine/errors';
import { CheckedProcess, FINDING_KINDS, type FindingKind, processLabel, seconds } from './check/checked-process';
import { type CheckResult, judge, jsonReport, junitReport, summaryLines } from './check/report';
import { oneLine } from './terminal-text';

/** Exit codes of check's own: findings (the command passed), a command that did not end, one that could not start. */
const EXIT = { findings: 3, timeout: 124, notRun: 127 } as const;

export interface CheckOptions {
  timeoutMs: number;
  holdThresholdMs: number;
  allow: Set<FindingKind>;
  maxLeaks: number;
  json: string | undefined;
  junit: string | undefined;
}

/** After the command exits, how long its processes' sockets may take to close (their last rows in flight). */
const SETTLE_MS = 2_000;
/** After SIGTERM at --timeout, how long the process group has before SIGKILL. */
const KILL_GRACE_MS = 3_000;

/** "10m", "5s", "250ms", "1h"; a bare number is seconds. */
function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`${option} must be a duration such as 500ms, 5s, 10m or 1h, not "${text}".`);
  return Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

/** check's options (what comes before `--`); a bad one throws with what to write instead. */
export function parseCheckOptions(args: string[]): CheckOptions {
  const { values } = parseArgs({
    args,
    options: {
      timeout: { type: 'string', default: '10m' },
      'hold-threshold': { type: 'string', default: '5s' },
      allow: { type: 'string', multiple: true, default: [] },
      'max-leaks': { type: 'string', default: '0' },
      json: { type: 'string' },
      junit: { type: 'string' },
    },
  });
  const allow = new Set<FindingKind>();
  for (const kind of values.allow) {
    if (!(FINDING_KINDS as readonly string[]).includes(kind)) throw new Error(`--allow ${kind}: not a finding kind (${FINDING_KINDS.join(', ')}).`);
    allow.add(kind as FindingKind);
  }
  const maxLeaks = values['max-leaks'];
  if (!/^\d+$/.test(maxLeaks)) throw new Error(`--max-leaks must be a whole number (0 or more), not "${maxLeaks}".`);
  const timeoutMs = parseDuration(values.timeout, '--timeout');
  if (timeoutMs <= 0) throw new Error('--timeout must be more than 0.');
  return { timeoutMs, holdThresholdMs: parseDuration(values['hold-threshold'], '--hold-threshold'), allow, maxLeaks: Number(maxLeaks), json: values.json, junit: values.junit };
}

/** What the agent writes at exit (main/agent/check-mode.cjs). */
const exitFileSchema = z.object({ pid: z.number().int(), events: z.array(rowSchema).max(100_000), dropped: z.number().int().min(0), state: syncSchema });

/** Runs the command; resolves with the exit code to use. */
export async function check(command: string[], opts: CheckOptions, say: (text: string) => void): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'poolscope-check-'));
  const exits = join(dir, 'exits');
  mkdirSync(exits, { mode: 0o700 });
  // By process and thread: each worker thread loads its own agent (exit files are named so too).
  const processes = new Map<string, CheckedProcess>();
  /** Open sockets per process (a reconnecting agent may briefly have two). */
  const connected = new Map<string, number>();
  const processOf = (key: string, pid: number, thread: number, command: string) => {
    let p = processes.get(key);
    // A pid the system gave again to a new process after the first one ended.
    if (p === undefined || p.ended) {
      p = new CheckedProcess(pid, thread, command, opts.holdThresholdMs);
      processes.set(key, p);
    }
    return p;
  };
  /** The rows a process wrote at exit, after those it sent; false when it wrote none (killed by SIGKILL). */
  const readExitFile = (key: string, p: CheckedProcess): boolean => {
    const file = join(exits, `${key}.json`);
    let exit: z.infer<typeof exitFileSchema>;
    try {
      exit = exitFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch {
      return false;
    } finally {
      rmSync(file, { force: true });
    }
    // Already reported at --timeout: what it wrote as it was ended adds nothing.
    if (p.ended) return true;
    p.rows(exit.events, exit.dropped);
    p.sync(exit.state);
    p.end('exited');
    return true;
  };

  const listener = await startAgentListener(join(dir, 'attach.json'), (hello) => {
    const thread = hello.thread ?? 0;
    const key = `${hello.pid}-${thread}`;
    const p = processOf(key, hello.pid, thread, hello.command);
    connected.set(key, (connected.get(key) ?? 0) + 1);
    return {
      message: (m) => (m.type === 'events' ? p.rows(m.events, m.dropped) : p.sync(m)),
      closed: () => {
        const open = (connected.get(key) ?? 1) - 1;
        if (open > 0) connected.set(key, open);
        else connected.delete(key);
        // Gone without its exit file: killed by SIGKILL, or a reconnect (then its next hello carries on).
        if (!readExitFile(key, p)) p.catchUp();
      },
    };
  });

  const [cmd, ...args] = command as [string, ...string[]];
  // Its own process group, so that at --timeout the whole command (test workers included) is ended.
  const child = spawn(cmd, args, {
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, NODE_OPTIONS: withAgent(process.env.NODE_OPTIONS), POOLSCOPE_ATTACH_FILE: listener.file, POOLSCOPE_CHECK_DIR: exits },
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  // The terminal's Ctrl+C reaches our process group only: it is passed on to the command's.
  const forward = (signal: NodeJS.Signals) => () => killGroup(signal);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);

  let timedOut = false;
  let killer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    say(`poolscope check: the command did not end within --timeout ${seconds(opts.timeoutMs)}. What keeps each process alive:`);
    for (const key of connected.keys()) {
      const p = processes.get(key);
      if (!p || p.ended) continue;
      p.catchUp();
      for (const line of aliveLines(p)) say(line);
      p.end('timeout');
    }
    say('poolscope check: ending the command (SIGTERM to its process group).');
    killGroup('SIGTERM');
    killer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
  }, opts.timeoutMs);

  const commandExitCode = await new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      say(`poolscope check: could not run "${oneLine(cmd)}": ${messageOf(err)}`);
      resolve(null);
    });
    child.once('exit', (c, signal) => resolve(c ?? 128 + (signal ? signalNumber(signal) : 0)));
  });
  clearTimeout(timer);
  for (const [s, h] of handlers) process.off(s, h);
  // The command's last processes' sockets close just after it exits.
  for (const t0 = Date.now(); connected.size > 0 && Date.now() - t0 < SETTLE_MS; ) await new Promise((r) => setTimeout(r, 20));
  clearTimeout(killer);
  // Still connected now: processes that outlived the command (closing the listener ends their sockets).
  const outlived = new Set(connected.keys());
  await listener.close();
  // Processes that exited before they reached the listener wrote everything to their file.
  for (const name of readdirSync(exits)) {
    const m = /^((\d+)-(\d+))\.json$/.exec(name);
    if (m) readExitFile(m[1] as string, processes.get(m[1] as string) ?? processOf(m[1] as string, Number(m[2]), Number(m[3]), `pid ${m[2]}`));
  }
  for (const [key, p] of processes) p.end(outlived.has(key) ? 'outlived' : 'exited');
  rmSync(dir, { recursive: true, force: true });

  const all = [...processes.values()];
  const verdict = judge(
    all.flatMap((p) => p.findings),
    opts.allow,
    opts.maxLeaks,
  );
  const exitCode =
    commandExitCode === null ? EXIT.notRun : timedOut ? EXIT.timeout : commandExitCode !== 0 ? commandExitCode : verdict.failing > 0 ? EXIT.findings : 0;
  const result: CheckResult = {
    command: command.map(redactUrls),
    exitCode,
    commandExitCode,
    timedOut,
    timeoutMs: opts.timeoutMs,
    holdThresholdMs: opts.holdThresholdMs,
    processes: all.map((p) => ({ pid: p.pid, thread: p.thread, command: p.command, pools: p.poolCount, dropped: p.dropped, notes: p.notes })),
    verdict,
  };
  for (const line of summaryLines(result)) say(line);
  const written = [writeReport(opts.json, () => jsonReport(result), '--json', say), writeReport(opts.junit, () => junitReport(result), '--junit', say)];
  return written.every(Boolean) || exitCode !== 0 ? exitCode : 2;
}

/** One line per pool a process has not ended: where it was created, its connections, its holders. */
function aliveLines(p: CheckedProcess): string[] {
  const head = `  ${processLabel(p)} ${oneLine(p.command).slice(0, 120)}`;
  const pools = p.alive().filter((a) => a.open > 0 || a.borrowed.length > 0);
  if (pools.length === 0) return [`${head}: no open pool connection (it waits on another process, or on something check does not watch)`];
  return [
    `${head}:`,
    ...pools.map((a) => {
      const held = a.borrowed.map((b) => `borrowed at ${oneLine(b.site)} (held ${seconds(b.heldMs)})`).join(', ');
      return `    ${a.pool} created at ${oneLine(a.createdAt)}${a.status === 'ending' ? ' (end() called, waiting for its borrowed connections)' : ', never ended'}: ${a.open} connection${a.open === 1 ? '' : 's'} open${held ? `; ${held}` : ''}`;
    }),
  ];
}

function writeReport(file: string | undefined, text: () => string, option: string, say: (text: string) => void): boolean {
  if (file === undefined) return true;
  try {
    writeFileSync(file, text());
    return true;
  } catch (err) {
    say(`poolscope check: ${option} ${file} could not be written: ${messageOf(err)}`);
    return false;
  }
}
