import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { FailoverEvent } from '../events/failover-event';
import {
  addCounts,
  BUCKET_RETENTION_SECONDS,
  bucketSortKey,
  bucketStart,
  type Counts,
  countersFor,
  type Granularity,
  rollupKey,
} from '../stats/rollup-counters';
import type { TableNames } from './table-definitions';

/** An event id stays marked as counted this long (s): longer than a stream's 24 h retention, so a replay is caught. */
const COUNTED_MARKER_SECONDS = 3 * 86_400;
const COUNTER_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Counts of one instance over the stats windows. */
export interface WindowCounts {
  lastHour: Counts;
  last24h: Counts;
}

/** An instance as the stats read it. */
export interface InstanceRef {
  provider: string;
  name: string;
}

/** Per-instance rollups in DynamoDB: minute and hour buckets, cumulative totals, counted-event markers. */
export class DynamoRollupStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  /**
   * Counts one event exactly once: a marker for its id (conditional on absence) and the counter increments of its
   * minute bucket, hour bucket and total go in one transaction. A replayed event finds its marker and changes nothing.
   */
  async applyEvent(event: FailoverEvent): Promise<'applied' | 'duplicate'> {
    const counters = countersFor(event);
    const names = Object.keys(counters).filter((n) => COUNTER_NAME.test(n));
    const add = names.map((_, i) => `#c${i} :v${i}`).join(', ');
    const attributeNames = Object.fromEntries(names.map((n, i) => [`#c${i}`, n]));
    const attributeValues = Object.fromEntries(names.map((n, i) => [`:v${i}`, counters[n]]));
    const nowSeconds = Math.floor(event.timestamp / 1000);
    const update = (granularity: Granularity) => {
      const bucket = granularity === 'total' ? '-' : bucketSortKey(bucketStart(event.timestamp, granularity));
      const expires = granularity === 'total' ? '' : ', #expiresAt = :expiresAt';
      return {
        Update: {
          TableName: this.tables.rollups,
          Key: { pk: rollupKey(event.provider, event.instance, granularity), sk: bucket },
          UpdateExpression: `ADD ${add} SET #provider = :provider, #instance = :instance${expires}`,
          ExpressionAttributeNames: {
            ...attributeNames,
            '#provider': 'provider',
            '#instance': 'instance',
            ...(granularity === 'total' ? {} : { '#expiresAt': 'expiresAt' }),
          },
          ExpressionAttributeValues: {
            ...attributeValues,
            ':provider': event.provider,
            ':instance': event.instance,
            ...(granularity === 'total'
              ? {}
              : {
                  ':expiresAt':
                    bucketStart(event.timestamp, granularity) / 1000 + BUCKET_RETENTION_SECONDS[granularity],
                }),
          },
        },
      };
    };
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.rollups,
                Item: { pk: `counted#${event.id}`, sk: '-', expiresAt: nowSeconds + COUNTED_MARKER_SECONDS },
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': 'pk' },
              },
            },
            update('minute'),
            update('hour'),
            update('total'),
          ],
        }),
      );
      return 'applied';
    } catch (error) {
      if (
        error instanceof TransactionCanceledException &&
        error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
      ) {
        return 'duplicate';
      }
      throw error;
    }
  }

  /** Counts over the last hour (minute buckets) and the last 24 h (the current hour bucket and the 23 before it). */
  async windows(instances: InstanceRef[], now: number): Promise<Map<string, WindowCounts>> {
    const out = new Map<string, WindowCounts>();
    await Promise.all(
      instances.map(async (instance) => {
        const [lastHour, last24h] = await Promise.all([
          this.sum(
            rollupKey(instance.provider, instance.name, 'minute'),
            bucketStart(now - 3_600_000, 'minute') + 60_000,
          ),
          this.sum(rollupKey(instance.provider, instance.name, 'hour'), bucketStart(now, 'hour') - 23 * 3_600_000),
        ]);
        out.set(instance.name, { lastHour, last24h });
      }),
    );
    return out;
  }

  /** Cumulative counts since the gateway was deployed, keyed by `provider#instance`. */
  async totals(instances: InstanceRef[]): Promise<Map<string, Counts>> {
    const out = new Map<string, Counts>();
    for (let i = 0; i < instances.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = instances
        .slice(i, i + 100)
        .map((x) => ({ pk: rollupKey(x.provider, x.name, 'total'), sk: '-' }));
      while (keys && keys.length > 0) {
        const res: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tables.rollups]: { Keys: keys } } }),
        );
        for (const item of res.Responses?.[this.tables.rollups] ?? []) {
          out.set(`${item.provider}#${item.instance}`, countsOf(item));
        }
        keys = res.UnprocessedKeys?.[this.tables.rollups]?.Keys;
      }
    }
    return out;
  }

  private async sum(pk: string, fromStart: number): Promise<Counts> {
    const total: Counts = {};
    let start: Record<string, unknown> | undefined;
    do {
      const res: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tables.rollups,
          KeyConditionExpression: '#pk = :pk AND #sk >= :from',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: { ':pk': pk, ':from': bucketSortKey(fromStart) },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) addCounts(total, countsOf(item));
      start = res.LastEvaluatedKey;
    } while (start);
    return total;
  }
}

const NOT_COUNTERS = new Set(['pk', 'sk', 'provider', 'instance', 'expiresAt']);

function countsOf(item: Record<string, unknown>): Counts {
  const counts: Counts = {};
  for (const [name, value] of Object.entries(item)) {
    if (!NOT_COUNTERS.has(name) && typeof value === 'number') counts[name] = value;
  }
  return counts;
}
