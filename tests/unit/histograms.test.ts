import { createRequire } from 'node:module';
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, InstrumentType, MeterProvider, MetricReader, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';

// The pool's duration histograms are aggregated by our own code (main/agent/histograms.cjs) and
// handed to the SDK's readers as a MetricProducer: what a collector receives must be what the
// SDK's own histogram would have sent for the same records.

const require = createRequire(import.meta.url);
const { Histograms } = require('../../main/agent/histograms.cjs');

const BOUNDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
const NAME = 'db.client.connection.pool.name';

class Reader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** The histogram's points, as a reader collects them, by pool name. */
async function collected(reader: Reader) {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'db.client.connection.wait_time') as HistogramMetricData;
  expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM);
  expect(metric.aggregationTemporality).toBe(AggregationTemporality.CUMULATIVE);
  return Object.fromEntries(metric.dataPoints.map((p) => [p.attributes[NAME], { ...p.value, attributes: p.attributes }]));
}

describe('the pool histograms', () => {
  it("reach a reader as the SDK's own histogram would: buckets (a value on a bound counts in that bucket), count, sum, min, max, per pool", async () => {
    const values: [string, number][] = [['a', 0.0004], ['a', 0.001], ['a', 0.0011], ['b', 0.05], ['a', 7], ['b', 12], ['a', 0.5], ['b', 0]];
    const attrs = { a: Object.freeze({ [NAME]: 'a' }), b: Object.freeze({ [NAME]: 'b' }) };

    const ours = new Histograms({ AggregationTemporality, DataPointType, InstrumentType, ValueType }, BOUNDS);
    const record = ours.add('db.client.connection.wait_time', 'wait', NAME);
    const oursReader = new Reader({ metricProducers: [ours.producer(resourceFromAttributes({}))] });
    new MeterProvider({ readers: [oursReader] });

    const sdkReader = new Reader();
    const sdk = new MeterProvider({ readers: [sdkReader] })
      .getMeter('poolscope')
      .createHistogram('db.client.connection.wait_time', { unit: 's', advice: { explicitBucketBoundaries: BOUNDS } });

    for (const [pool, v] of values) {
      record(attrs[pool as 'a' | 'b'], v);
      sdk.record(v, attrs[pool as 'a' | 'b']);
    }
    const got = await collected(oursReader);
    expect(got).toEqual(await collected(sdkReader));
    expect(got.a).toMatchObject({ count: 5, min: 0.0004, max: 7, buckets: { counts: [2, 1, 0, 0, 0, 1, 0, 0, 1, 0] } });

    // Cumulative: a second collection counts the first one's records too.
    record(attrs.b, 0.2);
    expect((await collected(oursReader)).b).toMatchObject({ count: 4, sum: 12.25 });
  });

  it('keeps one series per pool name, however many attribute objects carry it', async () => {
    const ours = new Histograms({ AggregationTemporality, DataPointType, InstrumentType, ValueType }, BOUNDS);
    const record = ours.add('db.client.connection.wait_time', 'wait', NAME);
    for (let i = 0; i < 100; i++) record(Object.freeze({ [NAME]: 'reused' }), 0.002);
    const reader = new Reader({ metricProducers: [ours.producer(resourceFromAttributes({}))] });
    new MeterProvider({ readers: [reader] });
    const got = await collected(reader);
    expect(Object.keys(got)).toEqual(['reused']);
    // One series holding all hundred records (a series per attribute object would hold one each).
    expect(got.reused).toMatchObject({ count: 100 });
  });
});
