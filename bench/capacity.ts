import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * DynamoDB on-demand prices used for the cost table (us-east-1, standard table class, in force since the price cut of
 * 1 November 2024): dollars per million request units.
 */
export const PRICES = {
  region: 'us-east-1',
  since: '2024-11-01',
  writePerMillionWru: 0.625,
  readPerMillionRru: 0.125,
} as const;

/** Request units a client consumed, computed from its requests with DynamoDB's billing rules. */
export interface CapacityTally {
  /** Read request units (eventually consistent item read ≤ 4 KB = 0.5, strongly consistent = 1). */
  rru: number;
  /** Write request units (1 per KB of item written; 2 per KB inside a transaction). */
  wru: number;
  /** The largest item written (bytes, DynamoDB's size rules). */
  maxItemBytes: number;
  /** Query/Scan calls, whose cost depends on the data returned; counted at 0.5 RRU each (a lower bound). */
  queries: number;
}

type Av = Record<string, unknown>;

const AV_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'L', 'M', 'SS', 'NS', 'BS']);

function isAttributeValue(value: unknown): value is Av {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && AV_TYPES.has(keys[0]);
}

function bytesOf(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.byteLength;
  return 0;
}

/** Size of one marshalled attribute value (DynamoDB item size rules, approximately for numbers). */
function valueSize(value: unknown): number {
  if (!isAttributeValue(value)) return 0;
  const [type, inner] = Object.entries(value)[0];
  switch (type) {
    case 'S':
    case 'B':
      return bytesOf(inner);
    case 'N':
      return Math.ceil(String(inner).replace(/^-|\.|^0+/g, '').length / 2) + 1;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
    case 'BS':
      return (inner as unknown[]).reduce<number>((sum, v) => sum + bytesOf(v), 0);
    case 'NS':
      return (inner as unknown[]).reduce<number>((sum, v) => sum + valueSize({ N: v }), 0);
    case 'L':
      return 3 + (inner as unknown[]).reduce<number>((sum, v) => sum + 1 + valueSize(v), 0);
    case 'M':
      return 3 + itemSize(inner as Record<string, unknown>) + Object.keys(inner as object).length;
    default:
      return 0;
  }
}

/** Size of a marshalled item: attribute names plus values. */
export function itemSize(item: Record<string, unknown> | undefined): number {
  if (!item) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

const kb = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

/** Request units of one command, from its (marshalled) input. */
export function unitsOf(command: string, input: Record<string, unknown>): CapacityTally {
  const tally: CapacityTally = { rru: 0, wru: 0, maxItemBytes: 0, queries: 0 };
  const written = (item: Record<string, unknown> | undefined, factor: number) => {
    const size = itemSize(item);
    tally.maxItemBytes = Math.max(tally.maxItemBytes, size);
    tally.wru += factor * kb(size);
  };
  const consistentFactor = (consistent: unknown) => (consistent === true ? 1 : 0.5);
  switch (command) {
    case 'GetItemCommand':
      tally.rru += consistentFactor(input.ConsistentRead);
      break;
    case 'BatchGetItemCommand':
      for (const request of Object.values((input.RequestItems ?? {}) as Record<string, Av>)) {
        tally.rru += ((request.Keys as unknown[]) ?? []).length * consistentFactor(request.ConsistentRead);
      }
      break;
    case 'TransactGetItemsCommand':
      tally.rru += 2 * ((input.TransactItems as unknown[]) ?? []).length;
      break;
    case 'QueryCommand':
    case 'ScanCommand':
      tally.queries += 1;
      tally.rru += 0.5;
      break;
    case 'PutItemCommand':
      written(input.Item as Record<string, unknown>, 1);
      break;
    case 'UpdateItemCommand':
    case 'DeleteItemCommand':
      tally.wru += 1;
      break;
    case 'BatchWriteItemCommand':
      for (const requests of Object.values((input.RequestItems ?? {}) as Record<string, Av[]>)) {
        for (const request of requests) {
          const put = request.PutRequest as { Item?: Record<string, unknown> } | undefined;
          if (put) written(put.Item, 1);
          else tally.wru += 1;
        }
      }
      break;
    case 'TransactWriteItemsCommand':
      for (const item of (input.TransactItems ?? []) as Av[]) {
        const put = item.Put as { Item?: Record<string, unknown> } | undefined;
        if (put) written(put.Item, 2);
        else tally.wru += 2;
      }
      break;
    default:
      break;
  }
  return tally;
}

/** Attaches a middleware that adds up the request units of every command the client sends. */
export function tallyCapacity(client: DynamoDBDocumentClient): CapacityTally {
  const total: CapacityTally = { rru: 0, wru: 0, maxItemBytes: 0, queries: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const units = unitsOf(String(context.commandName), (args.input ?? {}) as Record<string, unknown>);
      total.rru += units.rru;
      total.wru += units.wru;
      total.queries += units.queries;
      total.maxItemBytes = Math.max(total.maxItemBytes, units.maxItemBytes);
      return next(args);
    },
    // After the document client has marshalled the input into attribute values.
    { step: 'build', name: 'tallyCapacity' },
  );
  return total;
}

/** Dollars per million requests for the given request units per request. */
export function costPerMillion(rruPerRequest: number, wruPerRequest: number): number {
  return rruPerRequest * PRICES.readPerMillionRru + wruPerRequest * PRICES.writePerMillionWru;
}
