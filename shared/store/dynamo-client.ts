import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Options for the gateway's DynamoDB client. */
export interface DynamoClientOptions {
  /** Endpoint override (DynamoDB Local); otherwise the SDK's own resolution (AWS_ENDPOINT_URL_DYNAMODB included). */
  endpoint?: string;
  region?: string;
  /** Per-call budget (ms): connection and response; breaker I/O must never hold a request up for long. */
  timeoutMs: number;
  /** Static credentials for DynamoDB Local, which accepts any. */
  localCredentials?: boolean;
}

/** Builds a document client with short timeouts and a single retry, so a sick DynamoDB fails fast. */
export function createDynamoClient(options: DynamoClientOptions): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.timeoutMs,
      requestTimeout: options.timeoutMs,
      // Without it a request past requestTimeout only logs a warning and keeps waiting on a hung DynamoDB.
      throwOnRequestTimeout: true,
    }),
    ...(options.localCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
