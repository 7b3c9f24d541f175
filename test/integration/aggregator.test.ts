import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { createAggregatorHandler } from '../../functions/aggregator';
import { startStreamPoller } from '../../local/stream-poller';
import type { FailoverEvent, FailoverEventType } from '../../shared/events/failover-event';
import { MemoryLog } from '../../shared/observability/log';
import { MemoryMetrics } from '../../shared/observability/metrics-sink';
import { DynamoBreakerStore } from '../../shared/store/dynamo-breaker-store';
import { DynamoRollupStore } from '../../shared/store/dynamo-rollup-store';
import type { TableNames } from '../../shared/store/table-definitions';
import { dynamoEndpoint, freshTables, localClient } from '../support/dynamo';

const NOW = Date.now();

function event(type: FailoverEventType, instance: string, extra: Partial<FailoverEvent> = {}): FailoverEvent {
  return {
    id: randomUUID(),
    timestamp: NOW,
    provider: 'openai',
    instance,
    type,
    failureClass: type === 'failure' ? 'transient' : type === 'rate_limited' ? 'rate_limited' : null,
    httpStatus: null,
    message: null,
    consecutiveFailures: null,
    nextRetrySeconds: null,
    requestId: 'req-1',
    ...extra,
  };
}

/** Reads the real stream records of the events table (what Lambda's event source mapping would deliver). */
async function streamRecords(tables: TableNames, expected: number): Promise<DynamoDBRecord[]> {
  const records: DynamoDBRecord[] = [];
  const poller = await startStreamPoller({
    endpoint: dynamoEndpoint(),
    tableName: tables.events,
    intervalMs: 50,
    handler: async (batch) => {
      records.push(...batch.Records);
      return { batchItemFailures: [] };
    },
  });
  try {
    await poller.drain(10_000);
  } finally {
    await poller.stop();
  }
  expect(records).toHaveLength(expected);
  return records;
}

describe('the aggregator on real DynamoDB stream records (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  let tables: TableNames;
  let rollups: DynamoRollupStore;
  let metrics: MemoryMetrics;
  let handler: ReturnType<typeof createAggregatorHandler>;

  beforeEach(async () => {
    client = localClient();
    tables = await freshTables(client);
    rollups = new DynamoRollupStore(client, tables);
    metrics = new MemoryMetrics();
    handler = createAggregatorHandler(() => ({ rollups, metrics, log: new MemoryLog() }));
  });
  afterEach(() => client.destroy());

  const written = [
    ...Array.from({ length: 4 }, () => event('failure', 'primary')),
    event('rate_limited', 'primary'),
    event('circuit_open', 'primary'),
    event('failover', 'primary', { toInstance: 'backup' }),
    event('failover', 'primary', { toInstance: 'backup' }),
    event('failure', 'backup', { failureClass: 'auth' }),
    event('no_healthy_instance', '*'),
  ];

  it('counts exactly the events written, per instance, in every window and in the totals', async () => {
    await new DynamoBreakerStore(client, tables).append(written);
    const records = await streamRecords(tables, written.length);

    const response = await handler({ Records: records } as DynamoDBStreamEvent);

    expect(response.batchItemFailures).toEqual([]);
    const windows = await rollups.windows(
      [
        { provider: 'openai', name: 'primary' },
        { provider: 'openai', name: 'backup' },
      ],
      NOW,
    );
    const primary = {
      failures: 5,
      failures_transient: 4,
      failures_rate_limited: 1,
      rateLimited: 1,
      circuitOpens: 1,
      failovers: 2,
    };
    expect(windows.get('primary')?.lastHour).toEqual(primary);
    expect(windows.get('primary')?.last24h).toEqual(primary);
    expect(windows.get('backup')?.lastHour).toEqual({ failures: 1, failures_auth: 1 });
    const totals = await rollups.totals([
      { provider: 'openai', name: 'primary' },
      { provider: 'openai', name: '*' },
    ]);
    expect(totals.get('openai#primary')).toEqual(primary);
    expect(totals.get('openai#*')).toEqual({ noHealthy: 1 });
    expect(metrics.points.filter((p) => p.name === 'CircuitOpened')).toHaveLength(1);
    expect(metrics.points.filter((p) => p.name === 'CircuitState')).toEqual([
      { name: 'CircuitState', value: 2, dimensions: { provider: 'openai', instance: 'primary' } },
    ]);
    expect(metrics.points.filter((p) => p.name === 'Failovers')).toHaveLength(2);
    expect(metrics.points.filter((p) => p.name === 'FailuresByClass')).toHaveLength(6);
  });

  it('leaves the counts unchanged when the same batch is delivered twice', async () => {
    await new DynamoBreakerStore(client, tables).append(written);
    const records = await streamRecords(tables, written.length);

    await handler({ Records: records } as DynamoDBStreamEvent);
    const first = await rollups.totals([{ provider: 'openai', name: 'primary' }]);
    const pointsAfterFirst = metrics.points.length;
    const again = await handler({ Records: records } as DynamoDBStreamEvent);
    const second = await rollups.totals([{ provider: 'openai', name: 'primary' }]);

    expect(again.batchItemFailures).toEqual([]);
    expect(second).toEqual(first);
    expect(metrics.points).toHaveLength(pointsAfterFirst);
  });

  it('reports a malformed record as a batch item failure and applies the rest of the batch', async () => {
    const good = [event('failure', 'primary'), event('circuit_open', 'primary')];
    await new DynamoBreakerStore(client, tables).append([good[0]]);
    await client.send(
      new PutCommand({
        TableName: tables.events,
        Item: { pk: 'openai#primary', sk: `${NOW}#poison`, type: 'explode' },
      }),
    );
    await new DynamoBreakerStore(client, tables).append([good[1]]);
    const records = await streamRecords(tables, 3);
    const poison = records.find((r) => r.dynamodb?.NewImage?.type?.S === 'explode');

    const response = await handler({ Records: records } as DynamoDBStreamEvent);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: poison?.dynamodb?.SequenceNumber }]);
    const totals = await rollups.totals([{ provider: 'openai', name: 'primary' }]);
    expect(totals.get('openai#primary')).toEqual({ failures: 1, failures_transient: 1, circuitOpens: 1 });
  });

  it('ignores TTL deletions and other non-insert records', async () => {
    const removal = { eventName: 'REMOVE', eventID: 'x', dynamodb: { Keys: { pk: { S: 'a' } } } } as DynamoDBRecord;

    const response = await handler({ Records: [removal] } as DynamoDBStreamEvent);

    expect(response.batchItemFailures).toEqual([]);
  });
});
