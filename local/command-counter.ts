import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Counts of DynamoDB commands a client sent, by command name (e.g. `BatchGetItemCommand`). */
export type CommandCounts = Map<string, number>;

/** Attaches a middleware that counts every command the client sends. */
export function countCommands(client: DynamoDBDocumentClient): CommandCounts {
  const counts: CommandCounts = new Map();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return counts;
}

const WRITE = /Put|Update|Delete|TransactWrite|BatchWrite/;

/** Write calls among the counted commands. */
export function writeCount(counts: CommandCounts): number {
  let total = 0;
  for (const [name, n] of counts) if (WRITE.test(name)) total += n;
  return total;
}

/** Read calls among the counted commands. */
export function readCount(counts: CommandCounts): number {
  let total = 0;
  for (const [name, n] of counts) if (!WRITE.test(name)) total += n;
  return total;
}
