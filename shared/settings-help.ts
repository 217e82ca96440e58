import type { EngineKind, PoolSettings } from './events';

type Key = Exclude<keyof PoolSettings, 'acquireTimeoutByEngine'>;

/** Which driver has which setting: the others are refused, not silently ignored. */
export const SETTINGS_OF: Record<EngineKind, readonly Key[]> = {
  postgres: ['max', 'acquireTimeoutMs', 'idleTimeoutMs', 'queryTimeoutMs', 'min', 'maxUses', 'maxLifetimeSeconds'],
  mysql: ['max', 'acquireTimeoutMs', 'idleTimeoutMs', 'queryTimeoutMs', 'maxIdle', 'queueLimit', 'waitForConnections'],
};

/** Each setting explained in one line, where it is set. */
export const SETTING_HELP: Record<EngineKind, Partial<Record<Key, string>>> = {
  postgres: {
    max: 'max: the most connections the pool opens; borrowers beyond it wait in line.',
    acquireTimeoutMs: 'connectionTimeoutMillis: how long a borrower waits (in line and for a new connection) before it fails; 0 waits forever.',
    idleTimeoutMs: 'idleTimeoutMillis: an idle connection is closed after this long; 0 keeps idle connections open.',
    queryTimeoutMs: 'query_timeout: a statement with no answer after this long fails and its connection is dropped (a dead network hangs forever without it); 0 = none, the default.',
    min: 'min: idle connections are not closed for idleness while the pool has this many or fewer (pg-pool does not open them in advance).',
    maxUses: 'maxUses: a connection is closed after this many borrows, on release (spreads load after a failover).',
    maxLifetimeSeconds: 'maxLifetimeSeconds: a connection older than this is closed when idle, or on release.',
  },
  mysql: {
    max: 'connectionLimit: the most connections the pool opens; borrowers beyond it wait in line.',
    acquireTimeoutMs: 'acquire timeout: mysql2 has none, so Poolscope enforces this one on each borrower; 0 waits forever.',
    idleTimeoutMs: 'idleTimeout: closes connections idle this long, but only while maxIdle is below connectionLimit; otherwise it does nothing.',
    queryTimeoutMs: 'timeout (per query): a statement with no answer after this long fails and mysql2 drops its connection (a dead network hangs forever without it); 0 = none, the default.',
    maxIdle: 'maxIdle: idle connections kept beyond this are closed; equal to connectionLimit (the default) turns idle closing off.',
    queueLimit: 'queueLimit: the most borrowers allowed to wait; beyond it they fail at once; 0 means no limit.',
    waitForConnections: 'waitForConnections: when off, a borrower fails at once if no connection is free instead of waiting.',
  },
};
