import type { FailoverEvent } from '../events/failover-event';

/** Named counters, e.g. `failures`, `failovers`, `failures_rate_limited`. */
export type Counts = Record<string, number>;

/** Rollup granularities: minute and hour buckets (expiring), and the never-expiring cumulative total. */
export type Granularity = 'minute' | 'hour' | 'total';

const BUCKET_MS: Record<Exclude<Granularity, 'total'>, number> = { minute: 60_000, hour: 3_600_000 };

/** How long buckets are kept (seconds): minutes for a day, hours for a week (cleanup by TTL). */
export const BUCKET_RETENTION_SECONDS: Record<Exclude<Granularity, 'total'>, number> = {
  minute: 86_400,
  hour: 8 * 86_400,
};

/** The counters one event adds. */
export function countersFor(event: FailoverEvent): Counts {
  switch (event.type) {
    case 'failure':
      return { failures: 1, [`failures_${event.failureClass ?? 'unknown'}`]: 1 };
    case 'rate_limited':
      return { failures: 1, rateLimited: 1, [`failures_${event.failureClass ?? 'rate_limited'}`]: 1 };
    case 'failover':
      return { failovers: 1 };
    case 'circuit_open':
      return { circuitOpens: 1 };
    case 'circuit_half_open':
      return { halfOpens: 1 };
    case 'circuit_closed':
      return { closes: 1 };
    case 'no_healthy_instance':
      return { noHealthy: 1 };
  }
}

/** Start (epoch ms) of the bucket holding `timestamp`. */
export function bucketStart(timestamp: number, granularity: Exclude<Granularity, 'total'>): number {
  return Math.floor(timestamp / BUCKET_MS[granularity]) * BUCKET_MS[granularity];
}

/** The partition key of an instance's rollups at one granularity. */
export function rollupKey(provider: string, instance: string, granularity: Granularity): string {
  return `rollup#${provider}#${instance}#${granularity}`;
}

/** The sort key of a bucket (its start as an ISO time, so string order is time order). */
export function bucketSortKey(start: number): string {
  return new Date(start).toISOString();
}

/** Adds `b` into `a` (in place) and returns `a`. */
export function addCounts(a: Counts, b: Counts): Counts {
  for (const [name, value] of Object.entries(b)) a[name] = (a[name] ?? 0) + value;
  return a;
}
