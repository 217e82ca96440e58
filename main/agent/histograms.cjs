'use strict';
// The pool's duration histograms (create, wait and use time), aggregated here and handed to
// the OpenTelemetry SDK's readers as a MetricProducer at each collection (metrics.cjs). The
// SDK's own histogram costs about 1.4 µs a record (it hashes the attributes on every call),
// and a pool records two per borrow; here a record finds its bucket and adds (tests/bench/attach.ts,
// the "metrics" side). Cumulative, as the SDK's would be: a series lives as long as the process,
// keyed by its pool's name (names are reused when pools end, metrics.cjs's namer), at most
// MAX_SERIES per histogram as the SDK's cardinality limit.

const MAX_SERIES = 2000;

class Series {
  constructor(attrs, bounds, startTime) {
    this.attrs = attrs;
    this.bounds = bounds;
    this.counts = new Array(bounds.length + 1).fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.startTime = startTime;
  }

  record(value) {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

/** [seconds, nanoseconds] since the epoch, as OpenTelemetry's HrTime. */
function hrTime(ms) {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

class Histograms {
  /**
   * `otel`: the SDK's enums ({ AggregationTemporality, DataPointType, InstrumentType, ValueType }),
   * passed in: only metrics.cjs loads the SDK. `bounds`: the buckets' upper bounds.
   */
  constructor(otel, bounds, now = Date.now) {
    this.otel = otel;
    this.bounds = bounds;
    this.now = now;
    this.metrics = [];
  }

  /** A histogram; its record(attrs, value) keys the series by `attrs[key]`. */
  add(name, description, key) {
    const metric = { name, description, series: new Map() };
    this.metrics.push(metric);
    return (attrs, value) => {
      let s = metric.series.get(attrs[key]);
      if (s === undefined) {
        if (metric.series.size >= MAX_SERIES) return;
        s = new Series(attrs, this.bounds, hrTime(this.now()));
        metric.series.set(attrs[key], s);
      }
      s.record(value);
    };
  }

  /** What a MetricReader asks of a MetricProducer: the histograms now, under `resource`. */
  producer(resource) {
    return {
      collect: async () => ({ resourceMetrics: { resource, scopeMetrics: [this.scopeMetrics()] }, errors: [] }),
    };
  }

  scopeMetrics() {
    const { AggregationTemporality, DataPointType, InstrumentType, ValueType } = this.otel;
    const endTime = hrTime(this.now());
    return {
      scope: { name: 'poolscope' },
      metrics: this.metrics
        .filter((m) => m.series.size > 0)
        .map((m) => ({
          descriptor: { name: m.name, description: m.description, unit: 's', type: InstrumentType.HISTOGRAM, valueType: ValueType.DOUBLE, advice: { explicitBucketBoundaries: this.bounds } },
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: [...m.series.values()].map((s) => ({
            startTime: s.startTime,
            endTime,
            attributes: s.attrs,
            value: { buckets: { boundaries: this.bounds, counts: [...s.counts] }, count: s.count, sum: s.sum, min: s.min, max: s.max },
          })),
        })),
    };
  }
}

module.exports = { Histograms };
