import { describe, expect, it } from 'vitest';
import type { PoolEvent, PoolEventBody } from '../../shared/events';
import { reduce, reduceAll } from '../../shared/reducer';
import { emptySnapshot } from '../../shared/snapshot';
import { instancesRequestFrom, parseSizes, sweepRequestFrom } from '../../renderer/src/lib/forms/controls';
import { instancesView } from '../../renderer/src/lib/instances/instances';
import { SeriesSampler } from '../../renderer/src/lib/store/series';
import { buildView } from '../../renderer/src/lib/store/view';
import { type SweepPoint, bySize, sweepColumns, sweetSpot } from '../../renderer/src/lib/sweep/sweep';
import { handshake, pgSettings, target } from './helpers/fixtures';

let seq = 0;
const ev = (b: PoolEventBody, t = 10_000): PoolEvent => ({ ...b, seq: ++seq, t }) as PoolEvent;

/** Two instances of pool size 2: i1 holds two connections, i2 one and was refused a second. */
function instances() {
  const s = reduceAll(emptySnapshot(), [
    ev({ type: 'pool.created', poolId: 'p1', target, settings: pgSettings({ max: 5 }) }),
    ev({ type: 'pool.verified', poolId: 'p1', serverVersion: '18.4', tls: null }),
    ev({ type: 'pool.created', poolId: 'i1', target, settings: pgSettings({ max: 2 }) }),
    ev({ type: 'pool.created', poolId: 'i2', target, settings: pgSettings({ max: 2 }) }),
    ev({ type: 'instances.changed', running: true, count: 2, poolSize: 2, query: 'sleep', poolIds: ['i1', 'i2'] }),
  ]);
  let n = 0;
  for (const poolId of ['i1', 'i1', 'i2', 'i2']) {
    const connId = `${poolId}.c${++n}`;
    reduce(s, ev({ type: 'connection.connecting', poolId, connId }));
    if (n < 4) reduce(s, ev({ type: 'connection.opened', connId, serverId: 200 + n, handshake }));
    else reduce(s, ev({ type: 'connection.closed', connId, reason: 'connect failed', error: 'sorry, too many clients already' }, 12_000));
  }
  return s;
}

describe('app instances as groups', () => {
  it('label each pool, count its connections and the refusals, and plan K × P', () => {
    const v = instancesView(instances());
    expect(v?.groups.map((g) => [g.label, g.poolId, g.counts.total, g.counts.max, g.refusals])).toEqual([
      ['instance 1', 'i1', 2, 2, 0],
      ['instance 2', 'i2', 1, 2, 1],
    ]);
    expect(v).toMatchObject({ running: true, planned: 4, refusals: 1 });
    expect(v?.lastRefusal).toEqual({ label: 'instance 2', message: 'sorry, too many clients already', t: 12_000 });
  });

  it('are none before any instance ran', () => {
    expect(instancesView(emptySnapshot())).toBeNull();
  });

  it('are a copy: later refusals do not change a published view', () => {
    const s = instances();
    const v = buildView(s);
    reduce(s, ev({ type: 'connection.connecting', poolId: 'i1', connId: 'i1.c9' }));
    reduce(s, ev({ type: 'connection.closed', connId: 'i1.c9', reason: 'connect failed', error: 'FATAL 53300' }));
    expect(v.instances?.refusals).toBe(1);
    expect(buildView(s).instances?.refusals).toBe(2);
  });
});

describe('the server series', () => {
  it('samples sessions, max_connections and instances × pool size; a failed read is a gap', () => {
    const s = instances();
    const sampler = new SeriesSampler(4);
    sampler.sample(1_000, s);
    reduce(s, ev({ type: 'server.observed', sessions: [201, 202, 203, 900].map((id) => ({ id, user: null, application: 'poolscope', state: 'idle', inTransaction: false, transactionSince: null, waitEvent: null, query: null })), maxConnections: 4, reserved: 0, monitorId: 900, note: null }));
    sampler.sample(1_500, s);
    reduce(s, ev({ type: 'server.observed', sessions: [], maxConnections: null, reserved: null, monitorId: null, note: 'The monitor cannot read' }));
    reduce(s, ev({ type: 'instances.changed', running: false, count: 2, poolSize: 2, query: 'sleep', poolIds: ['i1', 'i2'] }));
    sampler.sample(2_000, s);
    const c = sampler.columns();
    expect(c.serverSessions).toEqual([null, 4, null]);
    expect(c.maxConnections).toEqual([null, 4, null]);
    expect(c.planned).toEqual([4, 4, null]);
  });
});

describe('instances form', () => {
  it('sends sleep only for the sleep query and names the field at fault', () => {
    expect(instancesRequestFrom({ count: 4, poolSize: 10, query: 'sleep', sleepMs: 500 })).toEqual({ ok: true, value: { count: 4, poolSize: 10, query: 'sleep', sleepMs: 500 } });
    expect(instancesRequestFrom({ count: '3', poolSize: '5', query: 'select1', sleepMs: 500 })).toEqual({ ok: true, value: { count: 3, poolSize: 5, query: 'select1' } });
    expect(instancesRequestFrom({ count: 65, poolSize: 10, query: 'point', sleepMs: '' })).toEqual({ ok: false, error: 'instances must be at most 64' });
    expect(instancesRequestFrom({ count: 2, poolSize: '', query: 'point', sleepMs: '' })).toEqual({ ok: false, error: 'pool size per instance is empty' });
  });
});

describe('sweep form', () => {
  it('reads pool sizes separated by commas or spaces, ascending, without duplicates', () => {
    expect(parseSizes('1,2,4,8,16,32,64')).toEqual({ ok: true, value: [1, 2, 4, 8, 16, 32, 64] });
    expect(parseSizes(' 8 4, 4 ,2 ')).toEqual({ ok: true, value: [2, 4, 8] });
    expect(parseSizes('1, 2.5')).toEqual({ ok: false, error: 'pool sizes: "2.5" is not a whole number' });
    expect(parseSizes(' , ')).toEqual({ ok: false, error: 'pool sizes are empty' });
  });

  it('checks the request against the contract schema', () => {
    expect(sweepRequestFrom({ sizes: '1, 2, 4', secondsEach: 3, clients: 64, query: 'cpu' })).toEqual({ ok: true, value: { sizes: [1, 2, 4], secondsEach: 3, clients: 64, query: 'cpu' } });
    expect(sweepRequestFrom({ sizes: '8', secondsEach: 3, clients: 64, query: 'cpu' })).toEqual({ ok: false, error: 'a sweep needs at least 2 pool sizes' });
    expect(sweepRequestFrom({ sizes: '1, 600', secondsEach: 3, clients: 64, query: 'cpu' })).toEqual({ ok: false, error: 'pool size must be at most 500' });
    expect(sweepRequestFrom({ sizes: '1, 2', secondsEach: 0, clients: 64, query: 'select1' })).toEqual({ ok: false, error: 'seconds per size must be at least 1' });
  });
});

const point = (size: number, throughput: number, p50Ms: number | null = 1): SweepPoint => ({ size, throughput, p50Ms, p99Ms: null, failed: 0 });

describe('the sweet spot', () => {
  it('is the smallest size within 5 % of the best throughput', () => {
    const points = [point(1, 900), point(2, 1_700), point(4, 3_000), point(8, 3_900), point(16, 4_000), point(32, 3_950), point(64, 3_100)];
    expect(sweetSpot(points)?.size).toBe(8);
  });

  it('is the best when nothing else comes close, and none when nothing was served', () => {
    expect(sweetSpot([point(1, 100), point(2, 300), point(4, 200)])?.size).toBe(2);
    expect(sweetSpot([point(1, 0), point(2, 0)])).toBeNull();
    expect(sweetSpot([])).toBeNull();
  });

  it('marks itself alone in the chart columns, sizes ascending', () => {
    const cols = sweepColumns([point(4, 300, 2), point(1, 100, null), point(2, 290, 1.5)]);
    expect(cols).toEqual([
      [1, 2, 4],
      [100, 290, 300],
      [null, 1.5, 2],
      [null, 290, null],
    ]);
  });

  it('takes the latest point of a size measured twice', () => {
    expect(bySize([point(2, 10), point(1, 5), point(2, 20)]).map((p) => [p.size, p.throughput])).toEqual([
      [1, 5],
      [2, 20],
    ]);
  });
});
