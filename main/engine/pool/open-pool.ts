import type { PoolSettings } from '../../../shared/events';
import type { Clock } from '../clock';
import type { EventLog } from '../event-log';
import { type TargetSpec, targetInfo } from '../target-spec';
import { ConnectionTracker } from './connection-tracker';
import { InstrumentedPool } from './instrumented-pool';
import { createMysqlDriver } from './mysql-driver';
import { createPgDriver } from './pg-driver';
import { poolSettings } from './pool-settings';

/** Creates the driver's own pool for a target, observed. No connection is opened yet. */
export function openPool(opts: {
  id: string;
  spec: TargetSpec;
  log: EventLog;
  clock: Clock;
  settings?: Partial<PoolSettings>;
}): InstrumentedPool<unknown> {
  const { id, spec, log, clock } = opts;
  const settings = poolSettings(spec.engine, opts.settings);
  const tracker = new ConnectionTracker(log, clock, id, settings, spec.password);
  const common = { id, spec, target: targetInfo(spec), tracker, log, clock };
  return spec.engine === 'postgres'
    ? new InstrumentedPool({ ...common, driver: createPgDriver(spec, settings, tracker) })
    : new InstrumentedPool({ ...common, driver: createMysqlDriver(spec, settings, tracker) });
}
