import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ensureTables } from '../../local/ensure-tables';
import type { FailoverEvent } from '../../shared/events/failover-event';
import { createDynamoClient } from '../../shared/store/dynamo-client';
import { type TableNames, tablesToCreate } from '../../shared/store/table-definitions';

/** The run's DynamoDB Local endpoint, started by the global setup. */
export function dynamoEndpoint(): string {
  const endpoint = process.env.TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('TEST_DYNAMODB_ENDPOINT is not set: the jest global setup did not run');
  return endpoint;
}

/** A new client on DynamoDB Local, like a new Lambda container's. */
export function localClient(timeoutMs = 2000): DynamoDBDocumentClient {
  return createDynamoClient({ endpoint: dynamoEndpoint(), timeoutMs, localCredentials: true });
}

/** Creates a fresh pair of tables with unique names, so test files never see each other's data. */
export async function freshTables(client: DynamoDBDocumentClient): Promise<TableNames> {
  const suffix = randomUUID().slice(0, 8);
  const tables = { state: `state-${suffix}`, events: `events-${suffix}`, rollups: `rollups-${suffix}` };
  await ensureTables(client, tablesToCreate(tables));
  return tables;
}

/** Every event in the events table. */
export async function allEvents(client: DynamoDBDocumentClient, tables: TableNames): Promise<FailoverEvent[]> {
  const events: FailoverEvent[] = [];
  let start: Record<string, never> | undefined;
  do {
    const out = await client.send(
      new ScanCommand({ TableName: tables.events, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    for (const item of out.Items ?? []) events.push(unmarshall(item) as FailoverEvent);
    start = out.LastEvaluatedKey as typeof start;
  } while (start);
  return events.sort((a, b) => a.timestamp - b.timestamp);
}

export { countCommands, writeCount } from '../../local/command-counter';
