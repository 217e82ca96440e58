import { DEMO_SCHEMA_SQL } from '../embedded/demo-schema';
import type { InstrumentedPool } from '../pool/instrumented-pool';
import { MYSQL_DEMO_SCHEMA } from './mysql-demo-schema';

/**
 * Creates the demo bookshop (books, inventory, orders, order_items) in the target's
 * database unless a `books` table is already there. Only on request: Poolscope never
 * writes to a database by itself.
 */
export async function installDemo(pool: InstrumentedPool): Promise<{ created: boolean }> {
  const pg = pool.target.engine === 'postgres';
  const lease = await pool.borrow({ label: 'demo schema', site: 'Poolscope (demo schema)' });
  try {
    const exists = await lease.query(
      pg
        ? "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'books'"
        : "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'books'",
    );
    if (Number((exists.rows[0] as { n: unknown }).n) > 0) return { created: false };
    for (const sql of pg ? [DEMO_SCHEMA_SQL] : MYSQL_DEMO_SCHEMA) await lease.query(sql);
    return { created: true };
  } finally {
    lease.release();
  }
}
