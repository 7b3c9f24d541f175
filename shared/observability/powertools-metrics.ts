import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS, type MetricName, type MetricsSink } from './metrics-sink';

const UNITS = { Count: MetricUnit.Count, Milliseconds: MetricUnit.Milliseconds, None: MetricUnit.NoUnit } as const;

/**
 * EMF metrics through Powertools: data points are buffered and written on `flush()` — at the end of a streamed
 * response or a batch, never mid-stream — each with its own dimension set (plus `service`).
 */
export function powertoolsMetrics(metrics: Metrics): MetricsSink {
  let buffered: { name: MetricName; value: number; dimensions: Record<string, string> }[] = [];
  return {
    record(name, value, dimensions) {
      buffered.push({ name, value, dimensions });
    },
    flush() {
      const points = buffered;
      buffered = [];
      for (const point of points) {
        const single = metrics.singleMetric();
        for (const [key, dim] of Object.entries(point.dimensions)) single.addDimension(key, dim);
        single.addMetric(point.name, UNITS[METRICS[point.name].unit], point.value);
      }
    },
  };
}
