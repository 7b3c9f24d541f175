import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { type DynamoDbLocal, freePort, startDynamoDbLocal } from '../../local/dynamodb-local';
import { ensureTables } from '../../local/ensure-tables';
import { FakeProvider } from '../../local/fake-provider';
import { type LocalRuntime, startLocalRuntime } from '../../local/local-runtime';
import { parseConfig } from '../../shared/config/load-config';
import { MemoryLog } from '../../shared/observability/log';
import { breakerKey } from '../../shared/store/breaker-item';
import { createDynamoClient } from '../../shared/store/dynamo-client';
import { type TableNames, tablesToCreate } from '../../shared/store/table-definitions';
import { allEvents } from '../support/dynamo';
import { directChat, eventually, httpChat, pause, runTraffic, type Traffic, within } from './support';

// SPEC §4.2: "If DynamoDB is unreachable or throttles, requests still flow using the container's in-memory view
// (fail open) … The state store never turns a good upstream answer into an error." This file runs its own DynamoDB
// Local so it can kill it mid-traffic without touching the one the rest of the run shares.

jest.setTimeout(30_000);

describe('when DynamoDB Local stops in the middle of traffic and comes back empty', () => {
  let dynamo: DynamoDbLocal | undefined;
  let runtime: LocalRuntime | undefined;
  let primary: FakeProvider | undefined;
  let backup: FakeProvider | undefined;
  let traffic: Traffic | undefined;
  let admin: DynamoDBDocumentClient | undefined;
  afterAll(async () => {
    // In-flight requests end before the runtime closes.
    await traffic?.stop();
    await runtime?.close();
    admin?.destroy();
    await primary?.close();
    await backup?.close();
    await dynamo?.stop();
  });

  it('answers every client request, and writes breaker state to the re-created tables once DynamoDB is back', async () => {
    // Prepare: a DynamoDB Local of this test's own, its tables, two upstreams (the primary's health is switchable).
    const port = await freePort();
    dynamo = await startDynamoDbLocal({ port });
    admin = createDynamoClient({ endpoint: dynamo.endpoint, timeoutMs: 2000, localCredentials: true });
    const suffix = randomUUID().slice(0, 8);
    const tables: TableNames = { state: `state-${suffix}`, events: `events-${suffix}`, rollups: `rollups-${suffix}` };
    await ensureTables(admin, tablesToCreate(tables));
    let primaryFails = false;
    primary = await FakeProvider.start('primary', () =>
      primaryFails ? { kind: 'status', status: 503 } : { kind: 'ok' },
    );
    backup = await FakeProvider.start('backup', { kind: 'ok' });
    const log = new MemoryLog();
    runtime = await startLocalRuntime({
      config: parseConfig(
        `
routing: { defaultProvider: openai }
providers:
  openai:
    - { name: primary, baseUrl: "${primary.url}/v1", apiKey: sk-test-primary-0123456789, priority: 1 }
    - { name: backup, baseUrl: "${backup.url}/v1", apiKey: sk-test-backup-0123456789, priority: 2 }
breaker:
  failureThreshold: 3
  initialBackoffSeconds: 0.3
  maxBackoffSeconds: 1
  jitterRatio: 0
  cacheSeconds: 0.1
store: { timeoutSeconds: 0.2 }
retry: { totalTimeoutSeconds: 5 }
`,
        {},
      ),
      dynamoEndpoint: dynamo.endpoint,
      tables,
      log,
      createTables: false,
      streamPollIntervalMs: 100,
    });
    const { url } = runtime;
    const store = admin;
    // Half the requests carry a session id, so the sticky-session store is read and written throughout as well.
    // A handful of clients, so the traffic does not starve DynamoDB Local's JVM of CPU while it starts again.
    traffic = runTraffic(
      4,
      httpChat(
        () => url,
        (n): Record<string, string> => (n % 2 === 0 ? { 'x-session-id': `conversation-${n % 10}` } : {}),
      ),
    );

    // Act: traffic on a healthy store; DynamoDB dies; the primary starts failing while it is down; DynamoDB comes back
    // empty, its tables are re-created (as a fresh deployment would), and the primary fails again.
    await pause(400);
    const beforeOutage = traffic.results.length;
    const outageStartedAt = Date.now();
    await dynamo.stop();
    await pause(500);
    primaryFails = true;
    await pause(600);
    primaryFails = false;
    await pause(200);
    const duringOutage = traffic.results.length - beforeOutage;
    const outage = { from: outageStartedAt, to: Date.now() };
    dynamo = await startDynamoDbLocal({ port });
    await ensureTables(store, tablesToCreate(tables));
    const recoveredAt = Date.now();
    // The breaker goes back to the store at the latest 2 s after its last error (until then it keeps failures in
    // memory); the new failures must then reach the new tables.
    primaryFails = true;
    const stored = await eventually('a breaker item for the primary in the re-created state table', 8000, async () => {
      const out = await store.send(
        new GetCommand({ TableName: tables.state, Key: { pk: breakerKey('primary') }, ConsistentRead: true }),
      );
      return out.Item;
    });
    const events = await eventually('failure events for the primary in the re-created events table', 5000, async () => {
      const found = (await allEvents(store, tables)).filter(
        (e) => e.instance === 'primary' && e.type === 'failure' && e.timestamp >= recoveredAt,
      );
      return found.length > 0 ? found : undefined;
    });
    const results = await traffic.stop();

    // Assess: no request failed because of the outage, and traffic really ran through it.
    expect(beforeOutage).toBeGreaterThan(0);
    expect(duringOutage).toBeGreaterThan(20);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(log.lines.some((l) => l.level === 'warn' && l.message.includes('Breaker state store unavailable'))).toBe(
      true,
    );
    // The shared state is back: the new failures reached the new tables (the breaker wrote through again).
    expect(stored.instance).toBe('primary');
    expect(stored.version).toBeGreaterThanOrEqual(1);
    expect(events.every((e) => e.id.length > 0 && e.provider === 'openai')).toBe(true);
    // What the container saw while the store was down was kept and written once it was back.
    const duringOutageEvents = (await allEvents(store, tables)).filter(
      (e) => e.timestamp >= outage.from && e.timestamp <= outage.to,
    );
    expect(duringOutageEvents.filter((e) => e.instance === 'primary' && e.type === 'failure').length).toBeGreaterThan(
      0,
    );
    expect(duringOutageEvents.some((e) => e.type === 'circuit_open' && e.id.startsWith('primary:local-'))).toBe(true);
    // The events-stream poller found the re-created table's stream and delivers its records again.
    await expect(runtime.poller?.drain(5000)).resolves.toBeUndefined();
    expect(log.lines.filter((l) => l.message.includes('Stream poller stopped unexpectedly'))).toEqual([]);
  });
});

describe('when DynamoDB stops answering (it accepts connections and never replies, like a frozen process)', () => {
  const sockets = new Set<Socket>();
  const frozen = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  let endpoint = '';
  let upstream: FakeProvider;
  const config = () =>
    parseConfig(
      `
routing: { defaultProvider: openai }
providers:
  openai:
    - { name: upstream, baseUrl: "${upstream.url}/v1", apiKey: sk-test-upstream-0123456789 }
store: { timeoutSeconds: 0.2 }
`,
      {},
    );
  beforeAll(async () => {
    await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
    const address = frozen.address();
    endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    upstream = await FakeProvider.start('upstream', { kind: 'ok' });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    if (frozen.listening) await new Promise<void>((resolve) => frozen.close(() => resolve()));
    await upstream?.close();
  });

  it('still answers a request from a healthy upstream within the store timeout (fail open)', async () => {
    // Prepare: a gateway whose store calls time out after 0.2 s, in front of the frozen "DynamoDB".
    const runtime = await startLocalRuntime({
      config: config(),
      dynamoEndpoint: endpoint,
      createTables: false,
      pollStream: false,
      log: new MemoryLog(),
    });
    // Straight to the proxy: over HTTP, a client giving up on a hung request would also hit the runtime's
    // client-disconnect crash (see slow-peers.test.ts), which is not what this test is about.
    const pending = directChat(() => runtime.deps)(0);
    try {
      // Act: one ordinary request, given 3 s (the store's own budget is 2 × 0.2 s).
      const sentAt = Date.now();
      const outcome = await within(pending, 3000, { status: 'no answer within 3 s' });

      // Assess: SPEC §4.2, "If DynamoDB is unreachable … requests still flow using the container's in-memory view".
      expect({ status: outcome.status }).toEqual({ status: 200 });
      expect(Date.now() - sentAt).toBeLessThan(2000);
    } finally {
      await runtime.close();
      await within(
        pending.catch(() => undefined),
        3000,
        undefined,
      );
    }
  });

  // Finding: the events-stream poller's own DynamoDB client (local/stream-poller.ts) has a requestTimeout but not
  // throwOnRequestTimeout, so against a frozen DynamoDB its first DescribeTable never returns: startLocalRuntime
  // never resolves (npm start hangs without a word), and a running runtime's close() would wait on it for ever.
  it('starts the local runtime, stream poller included, within a bounded time', async () => {
    // Act: start a runtime with its stream poller on, as `npm start` does.
    const starting = startLocalRuntime({
      config: config(),
      dynamoEndpoint: endpoint,
      createTables: false,
      log: new MemoryLog(),
      streamPollIntervalMs: 100,
    });
    const runtime = await within(starting, 7000, null);
    try {
      // Assess: it is up once its poller's first DescribeTable has timed out (5 s), and closes within the same bound.
      expect(runtime === null ? 'still starting after 7 s' : 'started').toBe('started');
      const closed = runtime
        ? await within(
            runtime.close().then(() => 'closed'),
            7000,
            'still closing after 7 s',
          )
        : '';
      expect(closed).toBe('closed');
    } finally {
      if (runtime === null) {
        // Make the frozen "DynamoDB" refuse from now on, so the hung start-up gives up, and stop what it started.
        frozen.close();
        for (const socket of sockets) socket.destroy();
        await within(
          starting.then((late) => late.close()),
          5000,
          undefined,
        );
      }
    }
  });
});
