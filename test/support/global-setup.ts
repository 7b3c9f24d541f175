import { startDynamoDbLocal } from '../../local/dynamodb-local';

/** Starts one DynamoDB Local (the real jar) for the whole run; suites share it through TEST_DYNAMODB_ENDPOINT. */
export default async function globalSetup(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const dynamo = await startDynamoDbLocal({ readyTimeoutMs: 60_000 });
  process.env.TEST_DYNAMODB_ENDPOINT = dynamo.endpoint;
  (globalThis as { __dynamoDbLocal?: typeof dynamo }).__dynamoDbLocal = dynamo;
}
