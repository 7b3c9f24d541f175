import type { FailoverEvent } from '../events/failover-event';

/** Failover events are kept this long (SPEC §4.4), then removed by TTL. */
export const EVENT_RETENTION_SECONDS = 30 * 86_400;

/** The DynamoDB item of one event: partitioned by instance, sorted by time. */
export function toEventItem(event: FailoverEvent): Record<string, unknown> {
  return {
    pk: `${event.provider}#${event.instance}`,
    sk: `${String(event.timestamp).padStart(15, '0')}#${event.id}`,
    ...event,
    toInstance: event.toInstance ?? null,
    expiresAt: Math.floor(event.timestamp / 1000) + EVENT_RETENTION_SECONDS,
  };
}
