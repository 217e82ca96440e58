import type { PoolEvent } from '../../../shared/events';
import { protectionLine } from '../../../shared/protection';
import type { Scenario, StepOutcome } from '../../../shared/scenario';
import type { Counters } from '../../../shared/snapshot';
import { listSql, scenarioSql, targetMismatch } from '../../../shared/scenario-review';
import type { EmbeddedOptions } from '../embedded/embedded-postgres';
import { Engine, type EngineOptions } from '../engine';
import { PoolscopeError, maskTarget, messageOf, redactUrls } from '../errors';
import { PoolscopeService } from '../service';
import { type ConditionResult, shownTarget } from './runner';

/** 0: every step passed; 1: an expect or a wait-until failed; 2: the scenario could not run. */
export type ExitCode = 0 | 1 | 2;

/** What `poolscope run --json` prints: one object. */
export interface RunReport {
  scenario: { name: string; title: string };
  /** As shown: never a password. */
  target: string | null;
  /** How the target's connections are protected (TLS, SSH), as the target panel says it. */
  protection: string | null;
  passed: boolean;
  exitCode: ExitCode;
  /** Why the scenario could not run, if it could not. */
  error: string | null;
  /** When the scenario names another target than the one it ran on, a sentence that says so. */
  targetMismatch: string | null;
  /** Every step with its outcome; steps after a failure are `skipped`. */
  steps: StepOutcome[];
  /** Each expect step's conditions with the values seen. */
  expects: { index: number; passed: boolean; conditions: ConditionResult[] }[];
  /** The engine's counters at the end (over the whole run). */
  counters: Counters | null;
}

export interface HeadlessOptions {
  /** A database URL or target fields (TLS, SSH); absent: the scenario's own target ("embedded" starts the embedded PostgreSQL). */
  target?: string | object;
  /** SSH host keys (see EngineOptions.knownHosts). */
  knownHosts?: EngineOptions['knownHosts'];
  embedded?: Omit<EmbeddedOptions, 'onProgress'>;
  /**
   * Let the scenario's own SQL run (tx.run, custom load queries): for a built-in, or a file
   * its runner trusts (`--allow-sql`). Without it, a scenario with SQL is refused before
   * anything starts, its SQL listed.
   */
  allowSql?: boolean;
  /** Keep a recording of the run (its file text, returned with the report). */
  record?: boolean;
  /** Told before the first step when the scenario names another target than the one connected. */
  onTargetMismatch?: (text: string) => void;
  /** Every event of the run, as it happens (the CLI prints steps and notes from them). */
  onEvent?: (e: PoolEvent) => void;
}

/**
 * Runs a scenario to its end with no window: starts an engine on the target, plays every
 * step through the service (as the app does), stops at the first failure, and reports.
 * Never throws for a scenario's or a target's failure: the report says what failed.
 */
export async function runHeadless(scenario: Scenario, opts: HeadlessOptions = {}): Promise<{ report: RunReport; recording: string | null }> {
  const target = opts.target ?? (scenario.target === 'embedded' ? undefined : scenario.target);
  const shown = target === undefined ? 'embedded' : typeof target === 'string' ? maskTarget(target) : 'the target given';
  const report: RunReport = {
    scenario: { name: scenario.name, title: scenario.title },
    target: shown,
    protection: null,
    passed: false,
    exitCode: 2,
    error: null,
    targetMismatch: null,
    steps: [],
    expects: [],
    counters: null,
  };
  const sql = scenarioSql(scenario);
  if (sql.length > 0 && !opts.allowSql) {
    report.error = `it sends SQL of its own, which would run as written on the database:\n${listSql(sql)}\nA scenario file is code: read it, and run it only if you trust it (--allow-sql).`;
    return { report, recording: null };
  }
  const engine = new Engine({ target, embedded: opts.embedded, knownHosts: opts.knownHosts });
  const unsubscribe = opts.onEvent ? engine.log.subscribe(opts.onEvent) : () => undefined;
  try {
    await engine.start();
  } catch (err) {
    unsubscribe();
    report.error = `the target could not be reached: ${err instanceof PoolscopeError ? err.message : redactUrls(messageOf(err))}`;
    return { report, recording: null };
  }
  report.target = engine.pool.target.display;
  report.protection = protectionLine(engine.pool.target, engine.log.live.pools[engine.pool.id]?.tlsSession ?? null, Date.now());
  report.targetMismatch = targetMismatch(shownTarget(scenario.target), engine.pool.target);
  if (report.targetMismatch !== null) opts.onTargetMismatch?.(report.targetMismatch);
  const service = new PoolscopeService(engine);
  let recording: string | null = null;
  try {
    if (opts.record) await service.handle('record.start', undefined);
    const runner = service.scenarios;
    // Its SQL was allowed above (or it has none).
    runner.open(scenario, { review: false });
    runner.playThrough();
    await runner.settled();
    if (opts.record) {
      const r = await service.handle('record.stop', undefined);
      if (r.ok) recording = r.res as string;
    }
    report.steps = runner.outcomes.map((o) => (o.status === 'pending' ? { ...o, status: 'skipped' } : o));
    report.expects = [...runner.checks].map(([index, conditions]) => ({ index, passed: conditions.every((c) => c.ok), conditions }));
    report.counters = structuredClone(engine.log.live.counters);
    const failed = runner.outcomes.find((o) => o.status === 'failed');
    const step = failed ? scenario.steps[failed.index] : undefined;
    if (runner.startError !== null) {
      report.error = `the scenario could not start: ${runner.startError}`;
    } else if (failed && step?.kind === 'command') {
      report.error = `step ${failed.index} (${failed.summary}) failed: ${failed.message ?? 'no reason given'}`;
    } else {
      report.exitCode = failed ? 1 : 0;
      report.passed = !failed;
    }
  } finally {
    unsubscribe();
    await service.stop();
  }
  return { report, recording };
}
