import { ConditionalCheckFailedException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { type BreakerRecord, freshRecord } from '../../shared/resilience/breaker-record';
import { toBreakerItem } from '../../shared/store/breaker-item';
import { DynamoBreakerStore } from '../../shared/store/dynamo-breaker-store';

/**
 * How the store reads DynamoDB's answers to a conditional put that did not go through (errors DynamoDB Local cannot
 * be made to produce on demand): a client whose `send` answers each command from a script.
 */

const TABLES = { state: 'state', events: 'events', rollups: 'rollups' };

function record(version: number, consecutiveFailures: number): BreakerRecord {
  return {
    ...freshRecord('primary'),
    version,
    consecutiveFailures,
    recentFailures: Array.from({ length: consecutiveFailures }, (_, i) => 1_000 + i),
    lastFailureClass: 'transient',
    lastFailureAt: 1_000 + consecutiveFailures - 1,
    updatedAt: 1_000 + consecutiveFailures - 1,
  };
}

function clientAnswering(answers: Record<string, (input: unknown) => unknown>) {
  const sent: string[] = [];
  const client = {
    send: jest.fn(async (command: { constructor: { name: string }; input: unknown }) => {
      const name = command.constructor.name;
      sent.push(name);
      const answer = answers[name];
      if (!answer) throw new Error(`unexpected ${name}`);
      return answer(command.input);
    }),
  } as unknown as DynamoDBDocumentClient;
  return { client, sent };
}

/** A store whose conditional put fails, DynamoDB returning `stored` as the current item. */
function storeWhosePutFindsStored(stored: BreakerRecord): DynamoBreakerStore {
  const { client } = clientAnswering({
    PutCommand: () => {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: marshall(toBreakerItem(stored), { removeUndefinedValues: true }),
      });
    },
  });
  return new DynamoBreakerStore(client, TABLES);
}

describe('DynamoBreakerStore.save when the conditional put does not go through', () => {
  it('reports a lost race with the current record when the item is inside another container’s transaction', async () => {
    // Prepare: the put meets a transaction (TransactionConflictException); a consistent read shows the opening.
    const opened = { ...record(3, 3), circuit: { state: 'open' as const, openedAt: 1_002, retryAt: 61_002 } };
    const { client, sent } = clientAnswering({
      PutCommand: () => {
        throw new TransactionConflictException({ message: 'Transaction is ongoing for the item', $metadata: {} });
      },
      GetCommand: () => ({ Item: toBreakerItem(opened) }),
    });
    const store = new DynamoBreakerStore(client, TABLES);

    // Act
    const result = await store.save(record(3, 3), 2, []);

    // Assess: a lost race (recompute on the opened record), not a store error that would put the container on memory.
    expect(result).toEqual({ ok: false, current: opened });
    expect(sent).toEqual(['PutCommand', 'GetCommand']);
  });

  it('reports success when the current item is this very write (an SDK retry after a timed-out first try)', async () => {
    // Prepare
    const mine = record(2, 2);
    const store = storeWhosePutFindsStored(mine);

    // Act
    const result = await store.save(mine, 1, []);

    // Assess: counting this failure again would open the circuit one failure early.
    expect(result).toEqual({ ok: true });
  });

  it('reports a lost race when the current item is another container’s write of the same version', async () => {
    // Prepare
    const theirs = { ...record(2, 2), lastFailureClass: 'rate_limited' as const };
    const store = storeWhosePutFindsStored(theirs);

    // Act
    const result = await store.save(record(2, 2), 1, []);

    // Assess
    expect(result).toEqual({ ok: false, current: theirs });
  });
});
