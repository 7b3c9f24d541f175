/** CloudWatch metric namespace of every gateway metric (the dashboard reads the same). */
export const METRICS_NAMESPACE = 'LlmGateway';

/** The `service` dimension Powertools Metrics adds to every data point (its serviceName). */
export const METRICS_SERVICE = 'llm-gateway';

/**
 * Every metric the functions emit: its unit and its dimension names (besides `service`). The CDK dashboard and alarms
 * are built from this table, so a widget can never ask for a dimension set the functions do not emit.
 */
export const METRICS = {
  /** Proxied requests (one per client request that reached the failover loop), by provider. */
  Requests: { unit: 'Count', dimensions: ['provider'] },
  /** Upstream attempts one request needed (1 when the first instance answered). */
  Attempts: { unit: 'Count', dimensions: ['provider'] },
  /** Requests answered 503/429 because no instance was eligible. */
  NoHealthyInstance: { unit: 'Count', dimensions: ['provider'] },
  /** Time to the first byte of one upstream attempt (ms). */
  UpstreamLatency: { unit: 'Milliseconds', dimensions: ['provider', 'instance'] },
  /** Breaker state store calls that failed (the container fell back to memory). */
  BreakerStoreErrors: { unit: 'Count', dimensions: [] },
  /** Circuit openings (aggregator, from events). */
  CircuitOpened: { unit: 'Count', dimensions: ['provider', 'instance'] },
  /** Requests moved from this instance to another (aggregator, from events). */
  Failovers: { unit: 'Count', dimensions: ['provider', 'instance'] },
  /** Failed attempts by failure class (aggregator, from events). */
  FailuresByClass: { unit: 'Count', dimensions: ['provider', 'class'] },
  /** Circuit state after each transition: 0 closed, 1 half-open, 2 open (aggregator, from events). */
  CircuitState: { unit: 'None', dimensions: ['provider', 'instance'] },
} as const;

export type MetricName = keyof typeof METRICS;

/** Where data points go: CloudWatch EMF through Powertools Metrics in Lambda, nowhere (or memory) locally. */
export interface MetricsSink {
  /** Adds one data point of `name` with these dimensions (exactly the metric's dimension names). */
  record(name: MetricName, value: number, dimensions: Record<string, string>): void;
  /** Emits everything buffered (end of a request or batch). */
  flush(): void;
}

/** A sink that drops everything. */
export const noMetrics: MetricsSink = { record() {}, flush() {} };

/** A sink that keeps every data point in memory, for tests. */
export class MemoryMetrics implements MetricsSink {
  readonly points: { name: MetricName; value: number; dimensions: Record<string, string> }[] = [];
  flushes = 0;
  record(name: MetricName, value: number, dimensions: Record<string, string>): void {
    this.points.push({ name, value, dimensions });
  }
  flush(): void {
    this.flushes++;
  }
}
