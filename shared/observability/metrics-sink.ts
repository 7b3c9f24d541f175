/** CloudWatch metric namespace of every gateway metric (the dashboard reads the same). */
export const METRICS_NAMESPACE = 'LlmGateway';

/** Where counters go: CloudWatch EMF through Powertools Metrics in Lambda, nowhere (or memory) locally. */
export interface MetricsSink {
  /** Adds `value` to the metric `name` with these dimensions. */
  count(name: string, value: number, dimensions: Record<string, string>): void;
}

/** A sink that drops everything. */
export const noMetrics: MetricsSink = { count() {} };

/** A sink that keeps every data point in memory, for tests. */
export class MemoryMetrics implements MetricsSink {
  readonly points: { name: string; value: number; dimensions: Record<string, string> }[] = [];
  count(name: string, value: number, dimensions: Record<string, string>): void {
    this.points.push({ name, value, dimensions });
  }
}
