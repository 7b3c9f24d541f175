import type { FailoverEvent } from '../events/failover-event';

/** Failover events are kept this long (SPEC §4.4), then removed by TTL. */
export const EVENT_RETENTION_SECONDS = 30 * 86_400;

/** The partition key of an instance's events. */
export function eventPartitionKey(event: Pick<FailoverEvent, 'provider' | 'instance'>): string {
  return `${event.provider}#${event.instance}`;
}

/** The smallest sort key of events at or after `timestamp` (epoch ms). */
export function eventSortKeyFrom(timestamp: number): string {
  return String(Math.max(0, Math.floor(timestamp))).padStart(15, '0');
}

/** The DynamoDB item of one event: partitioned by instance, sorted by time. */
export function toEventItem(event: FailoverEvent): Record<string, unknown> {
  return {
    pk: eventPartitionKey(event),
    sk: `${eventSortKeyFrom(event.timestamp)}#${event.id}`,
    ...event,
    toInstance: event.toInstance ?? null,
    expiresAt: Math.floor(event.timestamp / 1000) + EVENT_RETENTION_SECONDS,
  };
}
