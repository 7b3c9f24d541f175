import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import OpenAI from 'openai';
import { type FakeBehaviour, FakeProvider } from '../../local/fake-provider';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../../local/local-runtime';
import { parseConfig } from '../../shared/config/load-config';
import { MemoryLog } from '../../shared/observability/log';
import type { TableNames } from '../../shared/store/table-definitions';
import { dynamoEndpoint, freshTables, localClient } from './dynamo';

/** A local gateway in front of two fake OpenAI-compatible upstreams, with fresh tables on DynamoDB Local. */
export interface Harness {
  primary: FakeProvider;
  backup: FakeProvider;
  runtime: LocalRuntime;
  log: MemoryLog;
  tables: TableNames;
  admin: DynamoDBDocumentClient;
  /** An official OpenAI SDK client pointed at the gateway (no SDK retries: the gateway does the failing over). */
  openai: OpenAI;
  close(): Promise<void>;
}

/** Breaker and retry settings for end-to-end runs: sub-second backoffs, no jitter. */
export const FAST_BREAKER_YAML = `
breaker:
  failureThreshold: 3
  failureWindowSeconds: 30
  successThreshold: 2
  initialBackoffSeconds: 0.4
  maxBackoffSeconds: 5
  jitterRatio: 0
  probeLeaseSeconds: 2
retry:
  maxAttempts: 3
  rateLimitMaxDelaySeconds: 5
  totalTimeoutSeconds: 20
`;

/** Starts the fakes and a local runtime; `extraYaml` is appended to the config. */
export async function startHarness(
  options: {
    primary?: FakeBehaviour;
    backup?: FakeBehaviour;
    extraYaml?: string;
    runtime?: Partial<LocalRuntimeOptions>;
  } = {},
): Promise<Harness> {
  const primary = await FakeProvider.start('primary', options.primary ?? { kind: 'ok' });
  const backup = await FakeProvider.start('backup', options.backup ?? { kind: 'ok' });
  const admin = localClient();
  const tables = await freshTables(admin);
  const config = parseConfig(
    `
routing:
  defaultProvider: openai
providers:
  openai:
    - name: primary
      baseUrl: ${primary.url}/v1
      apiKey: sk-test-primary-0123456789
      priority: 1
      firstByteTimeoutSeconds: 0.5
    - name: backup
      baseUrl: ${backup.url}/v1
      apiKey: sk-test-backup-0123456789
      priority: 2
      firstByteTimeoutSeconds: 0.5
${options.extraYaml ?? FAST_BREAKER_YAML}
`,
    {},
  );
  const log = new MemoryLog();
  const runtime = await startLocalRuntime({
    config,
    dynamoEndpoint: dynamoEndpoint(),
    tables,
    log,
    createTables: false,
    ...options.runtime,
  });
  const openai = new OpenAI({ baseURL: `${runtime.url}/v1`, apiKey: 'gateway-key-unused', maxRetries: 0 });
  return {
    primary,
    backup,
    runtime,
    log,
    tables,
    admin,
    openai,
    close: async () => {
      await runtime.close();
      await Promise.all([primary.close(), backup.close()]);
      admin.destroy();
    },
  };
}

/** One chat completion through the SDK, with the raw response for the gateway headers. */
export async function chat(openai: OpenAI, content = 'Hello') {
  const { data, response } = await openai.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] })
    .withResponse();
  return {
    text: data.choices[0]?.message.content,
    instance: response.headers.get('x-gateway-instance'),
    attempts: Number(response.headers.get('x-gateway-attempts')),
    requestId: response.headers.get('x-gateway-request-id'),
  };
}

/** Waits for `ms` of real time (end-to-end breakers run on the wall clock). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
