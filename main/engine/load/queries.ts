import type { LoadSpec } from '../../../shared/api';
import type { EngineKind } from '../../../shared/events';
import type { InstrumentedPool } from '../pool/instrumented-pool';
import type { Lease } from '../pool/lease';

const DEMO_BOOKS = 2_000;
const book = () => 1 + Math.floor(Math.random() * DEMO_BOOKS);

/** Runs one request's statements of the load's query mix on a borrowed connection. */
export async function runQuery(lease: Lease, engine: EngineKind, spec: LoadSpec): Promise<void> {
  const p = (n: number) => (engine === 'postgres' ? `$${n}` : '?');
  switch (spec.query) {
    case 'select1':
      await lease.query('SELECT 1');
      return;
    case 'point':
      await lease.query(`SELECT * FROM books WHERE id = ${p(1)}`, [book()]);
      return;
    case 'sleep': {
      const seconds = (spec.sleepMs ?? 100) / 1_000;
      await lease.query(engine === 'postgres' ? `SELECT pg_sleep(${p(1)})` : `SELECT SLEEP(${p(1)})`, [seconds]);
      return;
    }
    case 'cpu':
      // A few milliseconds of one server core per request: enough that the database, not the
      // client, is what more connections compete for.
      await lease.query(engine === 'postgres' ? 'SELECT count(*) FROM generate_series(1, 50000)' : "SELECT BENCHMARK(20000, MD5('poolscope'))");
      return;
    case 'custom':
      await lease.query(spec.sql ?? '');
      return;
    case 'order':
      await orderTransaction(lease, engine);
      return;
  }
}

/** One request: borrow, run the query, give the connection back (or close it: a per-request connection). */
export async function serveRequest(pool: InstrumentedPool, label: string, spec: LoadSpec, opts: { destroy?: boolean; site?: string; owner?: object } = {}): Promise<void> {
  const lease = await pool.borrow({ label, site: opts.site, owner: opts.owner });
  try {
    await runQuery(lease, pool.target.engine, spec);
  } finally {
    if (opts.destroy) lease.destroy();
    else lease.release();
  }
}

/**
 * The write transaction of the demo shop, on one connection: an order, two order lines
 * at the books' prices, and the stock taken (never below zero). Rolled back on error.
 */
async function orderTransaction(lease: Lease, engine: EngineKind): Promise<void> {
  const pg = engine === 'postgres';
  const books = [book(), book()].filter((b, i, all) => all.indexOf(b) === i);
  await lease.query('BEGIN');
  try {
    const customer = `load${Math.floor(Math.random() * 1_000)}@example.com`;
    const inserted = await lease.query(
      pg ? "INSERT INTO orders (customer, status) VALUES ($1, 'pending') RETURNING id" : "INSERT INTO orders (customer, status) VALUES (?, 'pending')",
      [customer],
    );
    const orderId = pg ? (inserted.rows[0] as { id: number }).id : inserted.insertId;
    for (const b of books) {
      await lease.query(
        pg
          ? 'INSERT INTO order_items (order_id, book_id, quantity, price) SELECT $1, id, 1, price FROM books WHERE id = $2'
          : 'INSERT INTO order_items (order_id, book_id, quantity, price) SELECT ?, id, 1, price FROM books WHERE id = ?',
        [orderId, b],
      );
      await lease.query(pg ? 'UPDATE inventory SET quantity = quantity - 1 WHERE book_id = $1 AND quantity > 0' : 'UPDATE inventory SET quantity = quantity - 1 WHERE book_id = ? AND quantity > 0', [b]);
    }
    await lease.query('COMMIT');
  } catch (err) {
    if (lease.txStatus !== 'idle') await lease.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
