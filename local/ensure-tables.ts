import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableDefinition } from '../shared/store/table-definitions';

/** The CreateTable request for a table definition: on-demand, string keys, its stream if it has one. */
export function createTableInput(definition: TableDefinition, name: string): CreateTableCommandInput {
  const keys = [definition.partitionKey, ...(definition.sortKey ? [definition.sortKey] : [])];
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keys.map((key) => ({ AttributeName: key, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: definition.partitionKey, KeyType: 'HASH' },
      ...(definition.sortKey ? [{ AttributeName: definition.sortKey, KeyType: 'RANGE' as const }] : []),
    ],
    ...(definition.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } } : {}),
  };
}

/**
 * Creates the tables as the CDK stack defines them (keys, stream, TTL) unless they exist. Several local runtimes may
 * race to create them against one DynamoDB Local: losing the race is fine.
 */
export async function ensureTables(
  client: DynamoDBDocumentClient,
  tables: { definition: TableDefinition; name: string }[],
): Promise<void> {
  for (const { definition, name } of tables) {
    try {
      await client.send(new CreateTableCommand(createTableInput(definition, name)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    for (let i = 0; i < 50; i++) {
      const out = await client.send(new DescribeTableCommand({ TableName: name }));
      if (out.Table?.TableStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: definition.ttlAttribute, Enabled: true },
        }),
      );
    } catch (error) {
      // Already enabled by a concurrent runtime.
      if (!/already enabled|TimeToLive is already/i.test((error as Error).message)) throw error;
    }
  }
}
