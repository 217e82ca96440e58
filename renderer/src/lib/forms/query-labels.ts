import type { LoadSpec } from '../../../../shared/api';

/** What each query of the load, the comparison, the instances and the sweep is called on screen. */
export const QUERY_LABELS: Record<LoadSpec['query'], string> = {
  select1: 'SELECT 1',
  point: 'point lookup (books by id)',
  sleep: 'sleep on the server (holds the connection)',
  cpu: 'CPU work on the server',
  order: 'order (write transaction)',
  custom: 'custom SQL',
};
