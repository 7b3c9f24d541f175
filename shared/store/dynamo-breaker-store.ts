import { isDeepStrictEqual } from 'node:util';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { FailoverEvent } from '../events/failover-event';
import { type BreakerRecord, freshRecord } from '../resilience/breaker-record';
import { type BreakerItem, breakerKey, fromBreakerItem, toBreakerItem } from './breaker-item';
import type { BreakerStore, EventStore, SaveResult } from './breaker-store';
import { toEventItem } from './event-item';
import type { TableNames } from './table-definitions';

const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;
/** Rounds of retrying unprocessed batch items before giving up (the caller then falls back to memory). */
const MAX_BATCH_ROUNDS = 4;

/** Thrown when DynamoDB keeps leaving batch items unprocessed (throttling). */
export class StoreThrottledError extends Error {
  override readonly name = 'StoreThrottledError';
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Condition that the stored version is still the one the change was computed from. */
function versionCondition(expectedVersion: number): {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  return expectedVersion === 0
    ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } }
    : {
        ConditionExpression: '#version = :expectedVersion',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':expectedVersion': expectedVersion },
      };
}

/** Breaker records and failover events in DynamoDB; every breaker write is conditional on the version. */
export class DynamoBreakerStore implements BreakerStore, EventStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async load(instances: string[]): Promise<Map<string, BreakerRecord>> {
    const records = new Map(instances.map((name) => [name, freshRecord(name)]));
    for (let i = 0; i < instances.length; i += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] | undefined = instances
        .slice(i, i + BATCH_GET_LIMIT)
        .map((name) => ({ pk: breakerKey(name) }));
      for (let round = 0; keys && keys.length > 0; round++) {
        if (round >= MAX_BATCH_ROUNDS) throw new StoreThrottledError(`${keys.length} breaker reads left unprocessed`);
        if (round > 0) await pause(25 * 2 ** round);
        const out: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tables.state]: { Keys: keys } } }),
        );
        for (const item of out.Responses?.[this.tables.state] ?? []) {
          const record = fromBreakerItem(item as BreakerItem);
          records.set(record.instance, record);
        }
        keys = out.UnprocessedKeys?.[this.tables.state]?.Keys;
      }
    }
    return records;
  }

  async save(next: BreakerRecord, expectedVersion: number, events: FailoverEvent[]): Promise<SaveResult> {
    const put = {
      TableName: this.tables.state,
      Item: toBreakerItem(next),
      ...versionCondition(expectedVersion),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
    try {
      if (events.length === 0) {
        await this.client.send(new PutCommand(put));
      } else {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: put },
              ...events.map((event) => ({
                Put: {
                  TableName: this.tables.events,
                  Item: toEventItem(event),
                  ConditionExpression: 'attribute_not_exists(#pk)',
                  ExpressionAttributeNames: { '#pk': 'pk' },
                },
              })),
            ],
          }),
        );
      }
      return { ok: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const current = this.recordFrom(error.Item, next.instance);
        // The SDK retries a put that timed out: when the first try was applied, the retry finds this very record.
        // (A transaction needs no such check: the SDK sends it with an idempotency token.)
        if (isDeepStrictEqual(current, fromBreakerItem(toBreakerItem(next)))) return { ok: true };
        return { ok: false, current };
      }
      // A put on an item inside another container's transaction (an opening, a probe lease) is a lost race too.
      if (error instanceof TransactionConflictException) {
        return { ok: false, current: await this.loadConsistent(next.instance) };
      }
      if (error instanceof TransactionCanceledException) {
        const reasons = error.CancellationReasons ?? [];
        const reason = reasons[0];
        if (reason?.Code === 'ConditionalCheckFailed' && reason.Item) {
          return { ok: false, current: this.recordFrom(reason.Item, next.instance) };
        }
        // Throttling is not a lost race: let the breaker fall back to memory instead of retrying.
        if (reasons.some((r) => r.Code === 'ThrottlingError' || r.Code === 'ProvisionedThroughputExceeded'))
          throw error;
        // A conflicting transaction, or no old image returned: read the truth and let the caller recompute.
        return { ok: false, current: await this.loadConsistent(next.instance) };
      }
      throw error;
    }
  }

  async append(events: FailoverEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += BATCH_WRITE_LIMIT) {
      let requests: { PutRequest: { Item: Record<string, unknown> } }[] | undefined = events
        .slice(i, i + BATCH_WRITE_LIMIT)
        .map((event) => ({ PutRequest: { Item: toEventItem(event) } }));
      for (let round = 0; requests && requests.length > 0; round++) {
        if (round >= MAX_BATCH_ROUNDS)
          throw new StoreThrottledError(`${requests.length} event writes left unprocessed`);
        if (round > 0) await pause(25 * 2 ** round);
        const out = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tables.events]: requests } }));
        requests = out.UnprocessedItems?.[this.tables.events] as typeof requests;
      }
    }
  }

  private async loadConsistent(instance: string): Promise<BreakerRecord> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tables.state, Key: { pk: breakerKey(instance) }, ConsistentRead: true }),
    );
    return out.Item ? fromBreakerItem(out.Item as BreakerItem) : freshRecord(instance);
  }

  private recordFrom(item: Record<string, AttributeValue> | undefined, instance: string): BreakerRecord {
    return item ? fromBreakerItem(unmarshall(item) as BreakerItem) : freshRecord(instance);
  }
}
