import { allEvents } from '../support/dynamo';
import { type MultiProviderHarness, type ProviderFakes, startMultiProviderHarness } from '../support/gateway-harness';
import { SDK_SURFACES, type SdkReply } from '../support/sdk-surfaces';

// SPEC §2 and §4 as each official SDK sees them: apps keep their SDK, change the base URL and key, and get their
// answers intact, failover they do not notice, and errors in their own SDK's types.

/** Bounds every scenario: the slowest one waits out a 0.5 s first-byte timeout. */
const TEST_TIMEOUT_MS = 10_000;

const MODES = [
  ['a non-streaming call', false],
  ['a streaming call', true],
] as const;

function header(reply: SdkReply, name: string): string | null {
  return reply.headers?.get(name) ?? null;
}

/** Polls `read` until it returns a non-empty list or `timeoutMs` passes; returns the last result. */
async function eventually<T>(read: () => Promise<T[]>, timeoutMs = 2000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  let result = await read();
  while (result.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    result = await read();
  }
  return result;
}

describe.each(SDK_SURFACES)('the official $sdk SDK through the gateway', (sdk) => {
  let h: MultiProviderHarness;
  let fakes: ProviderFakes;
  const text = (instance: keyof ProviderFakes) => `Hello from ${sdk.provider}-${instance}`;

  beforeEach(async () => {
    h = await startMultiProviderHarness({ requireKey: true });
    fakes = h.fakes[sdk.provider];
  });
  afterEach(async () => {
    await h?.close();
  });

  describe.each(MODES)('%s', (_mode, stream) => {
    it(
      'receives the text intact and in order, with its stop reason and usage',
      async () => {
        const reply = await sdk.call(h.url, { stream });

        expect(reply.error).toBeUndefined();
        expect(reply.pieces).toEqual(stream ? ['Hello', ' from', ` ${sdk.provider}-primary`] : [text('primary')]);
        expect(reply.pieces.join('')).toBe(text('primary'));
        expect(reply.events).toEqual(stream ? sdk.healthyStreamEvents : ['response']);
        expect(reply.ended).toBe(true);
        expect(reply.finishReason).toBe(sdk.finishReason);
        expect(reply.usage).toEqual({ input: 5, output: 3 });
        expect(header(reply, 'x-gateway-instance')).toBe(`${sdk.provider}-primary`);
        expect(header(reply, 'x-gateway-attempts')).toBe('1');
        expect(header(reply, 'x-gateway-request-id')).toBeTruthy();
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'is served by the backup when the primary answers 503, and x-gateway-instance names the backup',
      async () => {
        fakes.primary.behave({ kind: 'status', status: 503 });

        const reply = await sdk.call(h.url, { stream });

        expect(reply.error).toBeUndefined();
        expect(reply.pieces.join('')).toBe(text('backup'));
        expect(reply.ended).toBe(true);
        expect(header(reply, 'x-gateway-instance')).toBe(`${sdk.provider}-backup`);
        expect(header(reply, 'x-gateway-attempts')).toBe('2');
        expect(fakes.primary.hits).toHaveLength(1);
        expect(fakes.backup.hits).toHaveLength(1);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'is served by the backup without waiting when the primary answers 429 with Retry-After: 30',
      async () => {
        fakes.primary.behave({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });

        const reply = await sdk.call(h.url, { stream });

        expect(reply.error).toBeUndefined();
        expect(reply.pieces.join('')).toBe(text('backup'));
        expect(header(reply, 'x-gateway-instance')).toBe(`${sdk.provider}-backup`);
        expect(fakes.primary.hits).toHaveLength(1);
        expect(fakes.backup.hits).toHaveLength(1);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'is served by the backup when the primary sends no first byte within its 0.5 s first-byte timeout',
      async () => {
        fakes.primary.behave({ kind: 'hang' });

        const reply = await sdk.call(h.url, { stream });

        expect(reply.error).toBeUndefined();
        expect(reply.pieces.join('')).toBe(text('backup'));
        expect(header(reply, 'x-gateway-instance')).toBe(`${sdk.provider}-backup`);
        expect(header(reply, 'x-gateway-attempts')).toBe('2');
        expect(fakes.primary.hits).toHaveLength(1);
      },
      TEST_TIMEOUT_MS,
    );

    if (stream) {
      it(
        'raises an error after the first chunks when the upstream cuts the stream midway, instead of ending silently',
        async () => {
          fakes.primary.behave({ kind: 'cut', afterEvents: 2 });
          fakes.backup.behave({ kind: 'cut', afterEvents: 2 });

          const reply = await sdk.call(h.url, { stream: true });

          // The two events sent before the cut arrive; then the gateway's error event makes the SDK raise its API
          // error (a dropped connection would raise a network error instead).
          expect(reply.events).toEqual(sdk.healthyStreamEvents.slice(0, 2));
          expect(reply.ended).toBe(false);
          expect(sdk.isApiError(reply.error)).toBe(true);
          // Bytes had reached the client: no failover, and the failure is recorded against the primary.
          expect(header(reply, 'x-gateway-instance')).toBe(`${sdk.provider}-primary`);
          expect(fakes.backup.hits).toHaveLength(0);
          // The SDK raises on the error event, which the gateway sends before its breaker write completes.
          const failures = await eventually(async () =>
            (await allEvents(h.admin, h.tables)).filter((e) => e.type === 'failure'),
          );
          expect(failures.map((e) => [e.instance, e.failureClass])).toEqual([
            [`${sdk.provider}-primary`, 'stream_failure'],
          ]);
        },
        TEST_TIMEOUT_MS,
      );
    }

    it(
      'raises an error with status 503 and a Retry-After header when every instance is down',
      async () => {
        fakes.primary.behave({ kind: 'status', status: 500 });
        fakes.backup.behave({ kind: 'status', status: 500 });

        const reply = await sdk.call(h.url, { stream });

        expect(sdk.isApiError(reply.error)).toBe(true);
        expect(sdk.statusOf(reply.error)).toBe(503);
        expect(Number(header(reply, 'retry-after'))).toBeGreaterThanOrEqual(1);
        expect(reply.pieces).toEqual([]);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "raises the SDK's authentication error for a wrong gateway key, without calling any upstream",
      async () => {
        const reply = await sdk.call(h.url, { stream, key: 'gw-wrong-key-456' });

        expect(sdk.isAuthenticationError(reply.error)).toBe(true);
        expect(sdk.statusOf(reply.error)).toBe(401);
        expect(fakes.primary.hits).toHaveLength(0);
        expect(fakes.backup.hits).toHaveLength(0);
      },
      TEST_TIMEOUT_MS,
    );
  });
});
