import type { EngineKind, PoolSettings } from '../../../shared/events';

export const DEFAULT_MAX = 10;

/**
 * Settings of a new pool. Poolscope's default acquire timeout is 5 s rather than pg's
 * "wait forever", so that an exhausted pool shows timeouts instead of a silent hang.
 */
export function poolSettings(engine: EngineKind, given: Partial<PoolSettings> = {}): PoolSettings {
  const max = given.max ?? DEFAULT_MAX;
  const common = {
    max,
    acquireTimeoutMs: given.acquireTimeoutMs ?? 5_000,
    idleTimeoutMs: given.idleTimeoutMs ?? 10_000,
    queryTimeoutMs: given.queryTimeoutMs ?? 0,
  };
  if (engine === 'postgres') {
    return {
      ...common,
      acquireTimeoutByEngine: false,
      min: given.min ?? 0,
      maxUses: given.maxUses ?? null,
      maxLifetimeSeconds: given.maxLifetimeSeconds ?? null,
      maxIdle: null,
      queueLimit: null,
      waitForConnections: null,
    };
  }
  return {
    ...common,
    acquireTimeoutByEngine: true,
    min: null,
    maxUses: null,
    maxLifetimeSeconds: null,
    maxIdle: given.maxIdle ?? max,
    queueLimit: given.queueLimit ?? 0,
    waitForConnections: given.waitForConnections ?? true,
  };
}
