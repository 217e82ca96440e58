import type { InstrumentedPool } from '../pool/instrumented-pool';
import type { Lease } from '../pool/lease';

// The bug Poolscope shows: a request handler that borrows a connection and returns
// without releasing it (no `finally`). Its call site is what a leaked row points at.

export async function handleRequestWithoutFinally(pool: InstrumentedPool, label: string, owner?: object): Promise<Lease> {
  const lease = await pool.borrow({ label, owner });
  await lease.query('SELECT 1');
  return lease; // … and nobody calls lease.release()
}
