import type { TargetInfo } from './events';
import type { Scenario, ScenarioSql } from './scenario';

// A scenario file is code: its SQL runs as written on the connected database, with the
// pool's login. What a person reads before a file runs: every statement of its own SQL by
// step, and where it will run when that is not where the file says.

/** Every statement the scenario sends as written (tx.run, a custom load query), by step. */
export function scenarioSql(s: Scenario): ScenarioSql[] {
  const found: ScenarioSql[] = [];
  s.steps.forEach((step, index) => {
    if (step.kind !== 'command' || typeof step.req !== 'object' || step.req === null) return;
    const req = step.req as { sql?: unknown; query?: unknown };
    const sends = step.cmd === 'tx.run' || (step.cmd === 'load.start' && req.query === 'custom');
    if (sends && typeof req.sql === 'string') found.push({ index, cmd: step.cmd, sql: req.sql });
  });
  return found;
}

/** "step 4 (tx.run): COPY …", one statement per line, as the CLI and the engine's refusal list them. */
export function listSql(sql: readonly ScenarioSql[], indent = '  '): string {
  return sql.map((x) => `${indent}step ${x.index + 1} (${x.cmd}): ${x.sql}`).join('\n');
}

/**
 * When the scenario names another target than the one connected, a sentence that says so;
 * else null. `named` is the scenario's target as shown: "embedded" or a URL's display.
 */
export function targetMismatch(named: string | null, connected: TargetInfo | null): string | null {
  if (named === null || connected === null) return null;
  if (named === 'embedded') {
    return connected.embedded ? null : `This scenario is written for the embedded demo database; it will run on ${connected.display}, the connected target.`;
  }
  return named === connected.display ? null : `This scenario names ${named}; it will run on ${connected.display}, the connected target.`;
}
