import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { FakeProvider } from '../../local/fake-provider';
import { type LocalRuntime, startLocalRuntime } from '../../local/local-runtime';
import { parseConfig } from '../../shared/config/load-config';
import { MemoryLog } from '../../shared/observability/log';
import type { TableNames } from '../../shared/store/table-definitions';
import { dynamoEndpoint, freshTables, localClient } from '../support/dynamo';

describe('sticky sessions through the local runtime', () => {
  let east: FakeProvider;
  let west: FakeProvider;
  let runtime: LocalRuntime;
  let admin: DynamoDBDocumentClient;
  let tables: TableNames;
  const log = new MemoryLog();

  beforeEach(async () => {
    east = await FakeProvider.start('east', { kind: 'ok' });
    west = await FakeProvider.start('west', { kind: 'ok' });
    admin = localClient();
    tables = await freshTables(admin);
    runtime = await startLocalRuntime({
      config: parseConfig(
        `
apiKeys: [{ name: app-1, key: gw-key-1 }, { name: app-2, key: gw-key-2 }]
routing: { rules: { "claude-": anthropic } }
providers:
  anthropic:
    - { name: east, baseUrl: "${east.url}", apiKey: sk-ant-east-0000000000, priority: 1, weight: 50 }
    - { name: west, baseUrl: "${west.url}", apiKey: sk-ant-west-0000000000, priority: 1, weight: 50 }
breaker: { initialBackoffSeconds: 30, jitterRatio: 0 }
`,
        {},
      ),
      dynamoEndpoint: dynamoEndpoint(),
      tables,
      log,
      createTables: false,
    });
  });
  afterEach(async () => {
    await runtime.close();
    await east.close();
    await west.close();
    admin.destroy();
  });

  async function send(options: { key?: string; session?: string; userId?: string } = {}) {
    const res = await fetch(`${runtime.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': options.key ?? 'gw-key-1',
        ...(options.session ? { 'x-session-id': options.session } : {}),
      },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'hi' }],
        ...(options.userId ? { metadata: { user_id: options.userId } } : {}),
      }),
    });
    await res.text();
    return { status: res.status, instance: res.headers.get('x-gateway-instance') };
  }

  it('keeps a conversation on one instance while equal-priority instances would otherwise share the load', async () => {
    const pinned = new Set<string | null>();
    for (let i = 0; i < 12; i++) pinned.add((await send({ session: 'conversation-1' })).instance);
    const spread = new Set<string | null>();
    for (let i = 0; i < 30; i++) spread.add((await send()).instance);

    expect(pinned.size).toBe(1);
    expect(spread).toEqual(new Set(['east', 'west']));
  });

  it("reads Claude Code's session id from metadata.user_id", async () => {
    const userId =
      'user_3f2a_account_8d1c7e3a-0000-4000-8000-000000000000_session_5b0f9a2e-1111-4111-8111-111111111111';
    const seen = new Set<string | null>();
    for (let i = 0; i < 10; i++) seen.add((await send({ userId })).instance);

    expect(seen.size).toBe(1);
    const items = await admin.send(new ScanCommand({ TableName: tables.state }));
    const sessions = (items.Items ?? []).filter((i) => String(i.pk).startsWith('session#'));
    expect(sessions).toHaveLength(1);
    // Neither the session id nor the key name is stored in clear.
    expect(JSON.stringify(sessions)).not.toContain('5b0f9a2e');
    expect(sessions[0].expiresAt).toBeGreaterThan(Date.now() / 1000 + 3500);
  });

  it('moves the session when its pinned instance fails, and keeps it on the new one', async () => {
    const first = await send({ session: 'conversation-2' });
    const [pinnedFake, otherName] = first.instance === 'east' ? [east, 'west'] : [west, 'east'];
    pinnedFake.behave({ kind: 'status', status: 503 });

    const moved = await send({ session: 'conversation-2' });
    pinnedFake.behave({ kind: 'ok' });
    const after: (string | null)[] = [];
    for (let i = 0; i < 8; i++) after.push((await send({ session: 'conversation-2' })).instance);

    expect(moved).toEqual({ status: 200, instance: otherName });
    expect(pinnedFake.hits).toHaveLength(2); // the first answer and the one failure: never retried in that request
    expect(new Set(after)).toEqual(new Set([otherName]));
    expect(log.lines.some((l) => l.message === `Session moved from ${first.instance} to ${otherName}`)).toBe(true);
  });

  it('keeps the sessions of different gateway keys apart', async () => {
    await send({ key: 'gw-key-1', session: 'same-id' });
    await send({ key: 'gw-key-2', session: 'same-id' });

    const items = await admin.send(new ScanCommand({ TableName: tables.state }));
    expect((items.Items ?? []).filter((i) => String(i.pk).startsWith('session#'))).toHaveLength(2);
  });
});
