import { checkScenario } from '../../../shared/scenario-parse';
import type { Scenario, ScenarioInfo } from '../../../shared/scenario';
import { PoolscopeError } from '../errors';
import connectionTax from './builtins/connection-tax.json' with { type: 'json' };
import backpressure from './builtins/backpressure.json' with { type: 'json' };
import poolSizeSweep from './builtins/pool-size-sweep.json' with { type: 'json' };
import leak from './builtins/leak.json' with { type: 'json' };
import pinnedTransaction from './builtins/pinned-transaction.json' with { type: 'json' };
import longTransaction from './builtins/long-transaction.json' with { type: 'json' };
import instancesMaxConnections from './builtins/instances-max-connections.json' with { type: 'json' };
import databaseRestart from './builtins/database-restart.json' with { type: 'json' };
import remoteLatency from './builtins/remote-latency.json' with { type: 'json' };
import { scenarioInfo } from './runner';

// The built-in scenarios, one per claim of the article, in its order. They are plain
// scenario files (JSON, checked by the same parser as a user's file): copy one to start
// your own.
const FILES: Record<string, unknown> = {
  'connection-tax': connectionTax,
  backpressure,
  'pool-size-sweep': poolSizeSweep,
  leak,
  'pinned-transaction': pinnedTransaction,
  'long-transaction': longTransaction,
  'instances-max-connections': instancesMaxConnections,
  'database-restart': databaseRestart,
  'remote-latency': remoteLatency,
};

export const BUILT_IN_NAMES = Object.keys(FILES);

/** The built-in of that name, checked; undefined when there is none. */
export function builtIn(name: string): Scenario | undefined {
  if (!Object.hasOwn(FILES, name)) return undefined;
  const r = checkScenario(FILES[name], name);
  // A built-in that does not pass the parser is a bug of this build (tests/unit checks each).
  if (!r.ok) throw new PoolscopeError('bad-scenario', `The built-in scenario "${name}" is malformed: ${r.errors.join('; ')}`);
  return r.scenario;
}

export function builtInInfos(): ScenarioInfo[] {
  return BUILT_IN_NAMES.map((name) => scenarioInfo(builtIn(name) as Scenario));
}

/** The built-in named, or an error listing them. */
export function requireBuiltIn(name: string): Scenario {
  const s = builtIn(name);
  if (!s) throw new PoolscopeError('bad-scenario', `There is no built-in scenario "${name}"; the built-ins are ${BUILT_IN_NAMES.join(', ')}.`);
  return s;
}
