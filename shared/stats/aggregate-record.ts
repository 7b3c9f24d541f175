import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { eventFromItem, MalformedEventError } from '../events/event-from-image';
import type { FailoverEvent } from '../events/failover-event';
import type { Log } from '../observability/log';
import type { MetricsSink } from '../observability/metrics-sink';
import type { DynamoRollupStore } from '../store/dynamo-rollup-store';

/** What the aggregator needs. */
export interface AggregatorDeps {
  rollups: Pick<DynamoRollupStore, 'applyEvent'>;
  metrics: MetricsSink;
  log: Log;
}

/** The metrics one counted event emits (EMF in Lambda). */
const CIRCUIT_STATE = { circuit_closed: 0, circuit_half_open: 1, circuit_open: 2 } as const;

function emit(event: FailoverEvent, metrics: MetricsSink): void {
  const dims = { provider: event.provider, instance: event.instance };
  if (event.type === 'circuit_open') metrics.record('CircuitOpened', 1, dims);
  if (event.type === 'circuit_open' || event.type === 'circuit_half_open' || event.type === 'circuit_closed') {
    metrics.record('CircuitState', CIRCUIT_STATE[event.type], dims);
  }
  if (event.type === 'failover') metrics.record('Failovers', 1, dims);
  if (event.type === 'failure' || event.type === 'rate_limited') {
    metrics.record('FailuresByClass', 1, { provider: event.provider, class: event.failureClass ?? 'unknown' });
  }
}

/**
 * Counts one events-table stream record into the rollups, exactly once per event id. TTL deletions and other
 * non-inserts are ignored; a record that is not a failover event throws MalformedEventError (a batch item failure).
 */
export async function aggregateRecord(
  record: DynamoDBRecord,
  deps: AggregatorDeps,
): Promise<'applied' | 'duplicate' | 'ignored'> {
  if (record.eventName !== 'INSERT') return 'ignored';
  const image = record.dynamodb?.NewImage;
  if (!image) throw new MalformedEventError(`Stream record ${record.eventID ?? '?'} has no NewImage`);
  let item: unknown;
  try {
    item = unmarshall(image as Record<string, AttributeValue>);
  } catch (error) {
    throw new MalformedEventError(`Stream record ${record.eventID ?? '?'} has an unreadable image: ${String(error)}`);
  }
  const event = eventFromItem(item);
  const outcome = await deps.rollups.applyEvent(event);
  if (outcome === 'applied') emit(event, deps.metrics);
  else deps.log.debug('Event already counted (stream redelivery)', { eventId: event.id });
  return outcome;
}
