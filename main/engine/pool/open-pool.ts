import type { PoolSettings } from '../../../shared/events';
import type { Clock } from '../clock';
import type { EventLog } from '../event-log';
import { type TargetSpec, targetInfo } from '../target-spec';
import { ConnectionTracker } from './connection-tracker';
import { InstrumentedPool } from './instrumented-pool';
import { createMysqlDriver } from './mysql-driver';
import { createPgDriver } from './pg-driver';
import { poolSettings } from './pool-settings';

/**
 * Creates the driver's own pool for a target, observed. No connection is opened yet.
 * With `via`, the driver dials that address (the fault proxy) instead of the target's.
 */
export function openPool(opts: {
  id: string;
  spec: TargetSpec;
  log: EventLog;
  clock: Clock;
  settings?: Partial<PoolSettings>;
  via?: { host: string; port: number } | null;
}): InstrumentedPool<unknown> {
  const { id, spec, log, clock, via } = opts;
  const settings = poolSettings(spec.engine, opts.settings);
  const tracker = new ConnectionTracker(log, clock, id, settings, spec.password);
  const dialed = via ? { ...spec, host: via.host, port: via.port } : spec;
  const common = { id, spec, via: via ?? null, target: targetInfo(spec), tracker, log, clock };
  return spec.engine === 'postgres'
    ? new InstrumentedPool({ ...common, driver: createPgDriver(dialed, settings, tracker) })
    : new InstrumentedPool({ ...common, driver: createMysqlDriver(dialed, settings, tracker) });
}
