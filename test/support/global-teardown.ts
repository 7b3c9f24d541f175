import type { DynamoDbLocal } from '../../local/dynamodb-local';

/** Stops the run's DynamoDB Local. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __dynamoDbLocal?: DynamoDbLocal }).__dynamoDbLocal?.stop();
}
