import type { HandshakeTimings, PoolSettings, TargetInfo } from '../../../shared/events';

/** A pg pool's settings, as pool.created carries them. */
export function pgSettings(given: Partial<PoolSettings> = {}): PoolSettings {
  return {
    max: 2,
    acquireTimeoutMs: 1_000,
    queryTimeoutMs: 0,
    acquireTimeoutByEngine: false,
    idleTimeoutMs: 1_000,
    min: 0,
    maxUses: null,
    maxLifetimeSeconds: null,
    maxIdle: null,
    queueLimit: null,
    waitForConnections: null,
    ...given,
  };
}

export const target: TargetInfo = {
  engine: 'postgres',
  host: '127.0.0.1',
  port: 5432,
  database: 'd',
  user: 'u',
  tls: { mode: 'disable', use: 'off', ca: null, cert: null, key: null },
  ssh: null,
  display: 'postgres://u@127.0.0.1:5432/d',
  embedded: false,
};

export const handshake: HandshakeTimings = { socketMs: 1, sshMs: null, tlsMs: null, authMs: 2, readyMs: 0.5, totalMs: 3.5 };
