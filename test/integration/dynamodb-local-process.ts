/**
 * Run with `node --import tsx dynamodb-local-process.ts`: starts DynamoDB Local, prints `{"javaPid": N}` on one line,
 * then waits to be killed (the test kills it with SIGKILL, which runs no exit handler).
 */
import { startDynamoDbLocal } from '../../local/dynamodb-local';

async function main(): Promise<void> {
  const dynamo = await startDynamoDbLocal({ readyTimeoutMs: 60_000 });
  process.stdout.write(`${JSON.stringify({ javaPid: dynamo.pid })}\n`);
  setInterval(() => {}, 60_000);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
