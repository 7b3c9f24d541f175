import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MemoryLog } from '../../shared/observability/log';
import { DEFAULT_BREAKER_OPTIONS } from '../../shared/resilience/breaker-options';
import { CircuitBreaker } from '../../shared/resilience/circuit-breaker';
import { DynamoBreakerStore } from '../../shared/store/dynamo-breaker-store';
import type { TableNames } from '../../shared/store/table-definitions';
import { allEvents, countCommands, freshTables, localClient, writeCount } from '../support/dynamo';

/** A breaker as one Lambda container would have it: its own client, store and cache. */
function container(tables: TableNames, clock: () => number, options = {}) {
  const client = localClient();
  const counts = countCommands(client);
  const log = new MemoryLog();
  const breaker = new CircuitBreaker({
    store: new DynamoBreakerStore(client, tables),
    events: new DynamoBreakerStore(client, tables),
    options: { ...DEFAULT_BREAKER_OPTIONS, jitterRatio: 0, ...options },
    cacheMs: 1000,
    providerOf: () => 'openai',
    clock,
    random: Math.random,
    log,
  });
  return { client, counts, breaker, log };
}

describe('the DynamoDB breaker store under concurrency (DynamoDB Local)', () => {
  let admin: DynamoDBDocumentClient;
  let tables: TableNames;
  const clients: DynamoDBDocumentClient[] = [];

  beforeAll(async () => {
    admin = localClient();
    tables = await freshTables(admin);
  });
  afterAll(() => {
    admin.destroy();
    for (const c of clients) c.destroy();
  });

  function containers(n: number, clock: () => number) {
    return Array.from({ length: n }, () => {
      const c = container(tables, clock);
      clients.push(c.client);
      return c;
    });
  }

  it('opens the circuit once when 10 containers record 100 failures at the same time, losing none of them', async () => {
    const fleet = containers(10, () => Date.now());

    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fleet[i % 10].breaker.recordFailure('burst', {
          class: 'transient',
          retryAfterMs: null,
          status: 503,
          message: 'HTTP 503',
          requestId: `r${i}`,
        }),
      ),
    );

    const record = (await fleet[0].breaker.view(['burst'])).get('burst');
    expect(record?.circuit.state).toBe('open');
    const events = (await allEvents(admin, tables)).filter((e) => e.instance === 'burst');
    expect(events.filter((e) => e.type === 'circuit_open')).toHaveLength(1);
    // Every failure is in the events: a write that lost its race to the opening is not retried, its event is kept.
    expect(events.filter((e) => e.type === 'failure')).toHaveLength(100);
    expect(fleet.flatMap((c) => c.log.lines).filter((l) => l.message.includes('lost too many races'))).toEqual([]);
  });

  it('gives the half-open probe lease to exactly one of 20 concurrent requests, and to another once it expires', async () => {
    let now = Date.now();
    const clock = () => now;
    const fleet = containers(10, clock);
    for (let i = 0; i < 3; i++) {
      await fleet[0].breaker.recordFailure('probe', {
        class: 'instance_failure',
        retryAfterMs: null,
        status: 500,
        message: 'HTTP 500',
        requestId: `f${i}`,
      });
    }
    now += 61_000; // past the 60 s backoff

    const granted = await Promise.all(
      Array.from({ length: 20 }, (_, i) => fleet[i % 10].breaker.acquireProbe('probe', `p${i}`, now + 5_000)),
    );

    expect(granted.filter((g) => g === 'leased')).toHaveLength(1);
    expect(granted.filter((g) => g === 'denied')).toHaveLength(19);
    const halfOpen = (await allEvents(admin, tables)).filter(
      (e) => e.instance === 'probe' && e.type === 'circuit_half_open',
    );
    expect(halfOpen).toHaveLength(1);
    expect(await fleet[3].breaker.acquireProbe('probe', 'late', now + 5_000)).toBe('denied');

    now += 6_000; // the holder never reported back: its lease lapses
    expect(await fleet[4].breaker.acquireProbe('probe', 'next', now + 5_000)).toBe('leased');
  });

  it('writes nothing to DynamoDB for a success on a healthy instance', async () => {
    const [one] = containers(1, () => Date.now());
    await one.breaker.view(['healthy']);
    const writesBefore = writeCount(one.counts);

    for (let i = 0; i < 20; i++) await one.breaker.recordSuccess('healthy', `s${i}`);

    expect(writeCount(one.counts)).toBe(writesBefore);
    expect(writesBefore).toBe(0);
    expect([...one.counts.keys()]).toEqual(['BatchGetItemCommand']);
    expect(one.counts.get('BatchGetItemCommand')).toBe(1);
  });

  it('serves reads from the container cache within the cache time', async () => {
    let now = Date.now();
    const [one] = containers(1, () => now);

    await one.breaker.view(['cached']);
    await one.breaker.view(['cached']);
    now += 1_001;
    await one.breaker.view(['cached']);

    expect(one.counts.get('BatchGetItemCommand')).toBe(2);
  });
});
