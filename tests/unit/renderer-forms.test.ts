import { describe, expect, it } from 'vitest';
import type { PoolSettings } from '../../shared/events';
import { loadSpecFrom, settingsChanges, settingsFormOf, wholeNumber } from '../../renderer/src/lib/forms/controls';

const pgSettings: PoolSettings = {
  max: 10,
  acquireTimeoutMs: 30_000,
  queryTimeoutMs: 0,
  acquireTimeoutByEngine: false,
  idleTimeoutMs: 10_000,
  min: 0,
  maxUses: null,
  maxLifetimeSeconds: null,
  maxIdle: null,
  queueLimit: null,
  waitForConnections: null,
};
const myAnswer: PoolSettings = { ...pgSettings, acquireTimeoutByEngine: true, min: null, maxIdle: 10, queueLimit: 0, waitForConnections: true };

describe('load form', () => {
  const base = { concurrency: 10, rate: '', query: 'select1' as const, sleepMs: 100, sql: '', leakOneIn: '' };

  it('builds a closed-loop spec without empty or zero optionals', () => {
    expect(loadSpecFrom(base)).toEqual({ ok: true, value: { concurrency: 10, query: 'select1' } });
    expect(loadSpecFrom({ ...base, rate: 0, leakOneIn: 0 })).toEqual({ ok: true, value: { concurrency: 10, query: 'select1' } });
  });

  it('adds rate, sleep, leak rate and custom SQL when they apply', () => {
    expect(loadSpecFrom({ ...base, rate: 200, query: 'sleep', sleepMs: 300, leakOneIn: 50 })).toEqual({
      ok: true,
      value: { concurrency: 10, rate: 200, query: 'sleep', sleepMs: 300, leakOneIn: 50 },
    });
    expect(loadSpecFrom({ ...base, query: 'custom', sql: ' SELECT 2 ' })).toEqual({ ok: true, value: { concurrency: 10, query: 'custom', sql: 'SELECT 2' } });
  });

  it('refuses what the engine would refuse, with a message', () => {
    expect(loadSpecFrom({ ...base, concurrency: -1 })).toEqual({ ok: false, error: 'concurrency must be at least 1' });
    expect(loadSpecFrom({ ...base, concurrency: '' })).toEqual({ ok: false, error: 'concurrency is empty' });
    expect(loadSpecFrom({ ...base, concurrency: 2.5 })).toEqual({ ok: false, error: 'concurrency must be a whole number' });
    expect(loadSpecFrom({ ...base, query: 'custom', sql: '' })).toEqual({ ok: false, error: 'custom SQL: a custom query needs its SQL' });
    expect(loadSpecFrom({ ...base, query: 'custom', sql: 'SELECT 1; DROP TABLE books' })).toEqual({
      ok: false,
      error: 'custom SQL: one statement only (no ; between statements)',
    });
    expect(loadSpecFrom({ ...base, query: 'custom', sql: 'SELECT 1;' }).ok).toBe(true);
    expect(loadSpecFrom({ ...base, rate: -5 })).toMatchObject({ ok: false, error: expect.stringContaining('rate') });
  });
});

describe('whole numbers', () => {
  it('checks range and kind', () => {
    expect(wholeNumber(50, 1, 100, 'spike size')).toEqual({ ok: true, value: 50 });
    expect(wholeNumber('7', 1, 100, 'spike size')).toEqual({ ok: true, value: 7 });
    expect(wholeNumber(0, 1, 100, 'spike size')).toEqual({ ok: false, error: 'spike size must be at least 1' });
    expect(wholeNumber('', 1, 100, 'spike size')).toEqual({ ok: false, error: 'spike size is empty' });
    expect(wholeNumber(1.5, 1, 100, 'x')).toEqual({ ok: false, error: 'x must be a whole number' });
  });
});

describe('pool settings form', () => {
  it('starts from the applied settings of the engine', () => {
    expect(settingsFormOf(pgSettings, 'postgres')).toEqual({ max: 10, acquireTimeoutMs: 30_000, idleTimeoutMs: 10_000, queryTimeoutMs: 0, min: 0, maxUses: '', maxLifetimeSeconds: '' });
    expect(Object.keys(settingsFormOf(myAnswer, 'mysql'))).toEqual(['max', 'acquireTimeoutMs', 'idleTimeoutMs', 'queryTimeoutMs', 'maxIdle', 'queueLimit', 'waitForConnections']);
  });

  it('sends only the changed keys', () => {
    const form = settingsFormOf(pgSettings, 'postgres');
    expect(settingsChanges(form, pgSettings, 'postgres')).toEqual({ ok: true, value: {} });
    expect(settingsChanges({ ...form, max: 20, maxUses: 100 }, pgSettings, 'postgres')).toEqual({ ok: true, value: { max: 20, maxUses: 100 } });
    expect(settingsChanges({ ...form, acquireTimeoutMs: '1000' }, pgSettings, 'postgres')).toEqual({ ok: true, value: { acquireTimeoutMs: 1000 } });
    const my = settingsFormOf(myAnswer, 'mysql');
    expect(settingsChanges({ ...my, waitForConnections: false }, myAnswer, 'mysql')).toEqual({ ok: true, value: { waitForConnections: false } });
  });

  it('refuses out-of-range values and emptied settings', () => {
    const form = settingsFormOf(pgSettings, 'postgres');
    expect(settingsChanges({ ...form, max: 0 }, pgSettings, 'postgres')).toEqual({ ok: false, error: 'pool size (max) must be at least 1' });
    expect(settingsChanges({ ...form, max: 1.5 }, pgSettings, 'postgres')).toEqual({ ok: false, error: 'pool size (max) must be a whole number' });
    expect(settingsChanges({ ...form, acquireTimeoutMs: -1 }, pgSettings, 'postgres')).toEqual({ ok: false, error: 'acquire timeout (ms) must be at least 0' });
    expect(settingsChanges({ ...form, max: '' }, pgSettings, 'postgres')).toEqual({ ok: false, error: 'max is empty' });
  });
});
