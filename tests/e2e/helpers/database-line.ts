import { capacityOf } from '../../../renderer/src/lib/server/server-view';
import { joinServerView } from '../../../shared/server-join';
import type { Snapshot } from '../../../shared/snapshot';

/** The picture's database line as the monitor's last reading has it, for a test to hold the screen against. */
export function databaseLine(s: Snapshot): string {
  const join = joinServerView(s);
  if (!s.server) return 'Database: not read yet';
  if (!join) return 'Database: cannot be read now (the Database tab says why)';
  const starting = join.starting.length > 0 ? ` (${join.starting.length} still connecting)` : '';
  const c = capacityOf(join.total, s.server.maxConnections, s.server.reserved);
  if (!c) return `Database: ${join.total} sessions${starting}`;
  return `Database: ${c.used} of max_connections ${c.max} in use${starting}${c.level === 'full' ? ', refusing new connections' : c.level === 'near' ? ', near its limit' : ''}`;
}
