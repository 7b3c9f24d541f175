import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { CircuitMark } from '../stats/time-open';
import { eventPartitionKey, eventSortKeyFrom } from './event-item';
import type { TableNames } from './table-definitions';

/** Reads failover events back from the events table (by instance, by time). */
export class DynamoEventReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  /** The circuit transitions of one instance since `since` (epoch ms), oldest first. */
  async circuitMarks(provider: string, instance: string, since: number): Promise<CircuitMark[]> {
    const marks: CircuitMark[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tables.events,
          KeyConditionExpression: '#pk = :pk AND #sk >= :from',
          FilterExpression: '#type IN (:open, :halfOpen, :closed)',
          ProjectionExpression: '#type, #timestamp',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#type': 'type', '#timestamp': 'timestamp' },
          ExpressionAttributeValues: {
            ':pk': eventPartitionKey({ provider, instance }),
            ':from': eventSortKeyFrom(since),
            ':open': 'circuit_open',
            ':halfOpen': 'circuit_half_open',
            ':closed': 'circuit_closed',
          },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) {
        marks.push({ type: item.type as CircuitMark['type'], timestamp: Number(item.timestamp) });
      }
      start = res.LastEvaluatedKey;
    } while (start);
    return marks;
  }
}
