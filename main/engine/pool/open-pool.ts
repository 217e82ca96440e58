import type { PoolSettings } from '../../../shared/events';
import { OUR_APPLICATION } from '../../../shared/server-join';
import type { Clock } from '../clock';
import type { EventLog } from '../event-log';
import type { TargetLink, Via } from '../link/target-link';
import { ConnectionTracker } from './connection-tracker';
import { InstrumentedPool } from './instrumented-pool';
import { createMysqlDriver } from './mysql-driver';
import { createPgDriver } from './pg-driver';
import { poolSettings } from './pool-settings';

/**
 * Creates the driver's own pool on a link (the target's TLS and SSH), observed. No
 * connection is opened yet. With `via`, the driver dials that address (the fault proxy)
 * instead of the target's; TLS still ends at the database.
 */
export function openPool(opts: {
  id: string;
  link: TargetLink;
  log: EventLog;
  clock: Clock;
  settings?: Partial<PoolSettings>;
  via?: Via | null;
  /** Sessions' application name: OUR_APPLICATION for the pool under inspection, sideApplication(id) for Poolscope's side pools. */
  application?: string;
}): InstrumentedPool<unknown> {
  const { id, link, log, clock } = opts;
  const via = opts.via ?? null;
  const application = opts.application ?? OUR_APPLICATION;
  const spec = link.spec;
  const settings = poolSettings(spec.engine, opts.settings);
  const tracker = new ConnectionTracker(log, clock, id, settings, link.scrub);
  const common = { id, spec, via, target: link.info(), tracker, log, clock };
  return spec.engine === 'postgres'
    ? new InstrumentedPool({ ...common, driver: createPgDriver(link, via, settings, tracker, application) })
    : new InstrumentedPool({ ...common, driver: createMysqlDriver(link, via, settings, tracker, application) });
}
