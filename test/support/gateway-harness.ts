import Anthropic from '@anthropic-ai/sdk';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { type FakeBehaviour, FakeProvider } from '../../local/fake-provider';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../../local/local-runtime';
import { parseConfig } from '../../shared/config/load-config';
import { PROVIDER_TYPES, type ProviderType } from '../../shared/config/schema';
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

/** A local runtime on the run's DynamoDB Local with the given (already created) tables and a log kept in memory. */
async function startTestRuntime(
  config: LocalRuntimeOptions['config'],
  tables: TableNames,
  overrides: Partial<LocalRuntimeOptions> = {},
): Promise<{ runtime: LocalRuntime; log: MemoryLog }> {
  const log = new MemoryLog();
  const runtime = await startLocalRuntime({
    config,
    dynamoEndpoint: dynamoEndpoint(),
    tables,
    log,
    createTables: false,
    ...overrides,
  });
  return { runtime, log };
}

/**
 * gateway.yaml with two OpenAI instances, `primary` (priority 1) and `backup` (priority 2), 0.5 s first-byte
 * timeouts, then `extraYaml` (default: FAST_BREAKER_YAML).
 */
export function twoInstanceYaml(primaryBaseUrl: string, backupBaseUrl: string, extraYaml = FAST_BREAKER_YAML): string {
  return `
routing:
  defaultProvider: openai
providers:
  openai:
    - name: primary
      baseUrl: ${primaryBaseUrl}
      apiKey: sk-test-primary-0123456789
      priority: 1
      firstByteTimeoutSeconds: 0.5
    - name: backup
      baseUrl: ${backupBaseUrl}
      apiKey: sk-test-backup-0123456789
      priority: 2
      firstByteTimeoutSeconds: 0.5
${extraYaml}
`;
}

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
  const config = parseConfig(twoInstanceYaml(`${primary.url}/v1`, `${backup.url}/v1`, options.extraYaml), {});
  const { runtime, log } = await startTestRuntime(config, tables, options.runtime);
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

/** The gateway key the multi-provider harness configures (as `test-app`) when asked to require one. */
export const GATEWAY_KEY = 'gw-test-key-123';

/** The two fake instances of one provider type. */
export interface ProviderFakes {
  /** `<type>-primary`, priority 1. */
  primary: FakeProvider;
  /** `<type>-backup`, priority 2. */
  backup: FakeProvider;
}

/** A local gateway in front of a primary and a backup fake for each of OpenAI, Anthropic and Gemini. */
export interface MultiProviderHarness {
  /** Fakes by provider type; each fake is named like its instance (`openai-primary`, `gemini-backup`, ...). */
  fakes: Record<ProviderType, ProviderFakes>;
  runtime: LocalRuntime;
  /** The gateway's base URL (no trailing slash). */
  url: string;
  log: MemoryLog;
  tables: TableNames;
  admin: DynamoDBDocumentClient;
  close(): Promise<void>;
}

/** Where each provider type's instances point on their fake: the real APIs' base URLs have these shapes. */
const BASE_PATH: Record<ProviderType, string> = { openai: '/v1', anthropic: '', gemini: '' };

/**
 * Starts six fakes (primary and backup per provider type) and a local runtime routing `gpt-` to OpenAI, `claude-`
 * to Anthropic and `gemini-` to Gemini, every instance with a 0.5 s first-byte timeout. With `requireKey`, the
 * gateway accepts only GATEWAY_KEY; without it, it is open. `extraYaml` replaces the breaker/retry settings.
 */
export async function startMultiProviderHarness(
  options: {
    behaviours?: Partial<Record<ProviderType, { primary?: FakeBehaviour; backup?: FakeBehaviour }>>;
    requireKey?: boolean;
    extraYaml?: string;
    runtime?: Partial<LocalRuntimeOptions>;
  } = {},
): Promise<MultiProviderHarness> {
  const fakes = {} as Record<ProviderType, ProviderFakes>;
  for (const type of PROVIDER_TYPES) {
    const behaviours = options.behaviours?.[type] ?? {};
    fakes[type] = {
      primary: await FakeProvider.start(`${type}-primary`, behaviours.primary ?? { kind: 'ok' }),
      backup: await FakeProvider.start(`${type}-backup`, behaviours.backup ?? { kind: 'ok' }),
    };
  }
  const instanceYaml = (type: ProviderType, role: keyof ProviderFakes, priority: number) => `
    - name: ${type}-${role}
      baseUrl: ${fakes[type][role].url}${BASE_PATH[type]}
      apiKey: sk-test-${type}-${role}-0123456789
      priority: ${priority}
      firstByteTimeoutSeconds: 0.5`;
  const admin = localClient();
  const tables = await freshTables(admin);
  const config = parseConfig(
    `
${options.requireKey ? `apiKeys:\n  - name: test-app\n    key: ${GATEWAY_KEY}` : ''}
routing:
  defaultProvider: openai
  rules: { "gpt-": openai, "claude-": anthropic, "gemini-": gemini }
providers:
${PROVIDER_TYPES.map((type) => `  ${type}:${instanceYaml(type, 'primary', 1)}${instanceYaml(type, 'backup', 2)}`).join('\n')}
${options.extraYaml ?? FAST_BREAKER_YAML}
`,
    {},
  );
  const { runtime, log } = await startTestRuntime(config, tables, options.runtime);
  return {
    fakes,
    runtime,
    url: runtime.url,
    log,
    tables,
    admin,
    close: async () => {
      await runtime.close();
      await Promise.all(PROVIDER_TYPES.flatMap((type) => [fakes[type].primary.close(), fakes[type].backup.close()]));
      admin.destroy();
    },
  };
}

/** The official OpenAI SDK pointed at a gateway (no SDK retries: the gateway does the failing over). */
export function openAiClient(gatewayUrl: string, apiKey = GATEWAY_KEY): OpenAI {
  return new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey, maxRetries: 0 });
}

/** The official Anthropic SDK pointed at a gateway (sends the key as `x-api-key`; no SDK retries). */
export function anthropicClient(gatewayUrl: string, apiKey = GATEWAY_KEY): Anthropic {
  return new Anthropic({ baseURL: gatewayUrl, apiKey, maxRetries: 0 });
}

/** A gateway response as the Gemini SDK's fetch received it. */
export interface RecordedResponse {
  url: string;
  status: number;
  headers: Headers;
}

/**
 * The official Google Gen AI SDK pointed at a gateway. It sends the key as `x-goog-api-key` and retries only when
 * `httpOptions.retryOptions` is set (it is not). Its `ApiError` carries a status but no headers, so every response
 * its fetch receives is recorded in `responses` for header assertions.
 */
export function genAiClient(
  gatewayUrl: string,
  apiKey = GATEWAY_KEY,
): { genai: GoogleGenAI; responses: RecordedResponse[] } {
  const responses: RecordedResponse[] = [];
  const recordingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    responses.push({ url: String(input), status: response.status, headers: response.headers });
    return response;
  };
  const genai = new GoogleGenAI({ apiKey, httpOptions: { baseUrl: gatewayUrl, fetch: recordingFetch } });
  return { genai, responses };
}
