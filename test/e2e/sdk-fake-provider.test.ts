import { FakeProvider } from '../../local/fake-provider';
import { SDK_SURFACES } from '../support/sdk-surfaces';

// The fake upstream is only worth testing the gateway against if the official SDKs accept what it sends: each SDK
// here talks to a fake directly, with no gateway in between.

describe.each(SDK_SURFACES)('the fake provider, called directly by the official $sdk SDK', (sdk) => {
  let fake: FakeProvider;
  beforeEach(async () => {
    fake = await FakeProvider.start('fake');
  });
  afterEach(async () => {
    await fake.close();
  });

  it.each([false, true])('answers in the SDK’s format (streaming: %s)', async (stream) => {
    const reply = await sdk.call(fake.url, { stream });

    expect(reply.error).toBeUndefined();
    expect(reply.pieces.join('')).toBe('Hello from fake');
    expect(reply.events).toEqual(stream ? sdk.healthyStreamEvents : ['response']);
    expect(reply.finishReason).toBe(sdk.finishReason);
    expect(reply.usage).toEqual({ input: 5, output: 3 });
    expect(fake.hits[0].format).toBe(sdk.provider);
  });

  it('makes the SDK raise its API error with the status it answers', async () => {
    fake.behave({ kind: 'status', status: 503 });

    const reply = await sdk.call(fake.url, { stream: false });

    expect(sdk.isApiError(reply.error)).toBe(true);
    expect(sdk.statusOf(reply.error)).toBe(503);
  });

  it('cuts a stream after the given number of events by dropping the connection', async () => {
    fake.behave({ kind: 'cut', afterEvents: 2 });

    const reply = await sdk.call(fake.url, { stream: true });

    expect(reply.events).toEqual(sdk.healthyStreamEvents.slice(0, 2));
    expect(reply.ended).toBe(false);
    // A network error, not the SDK's API error: nothing in the stream says why it ended.
    expect(reply.error).toBeDefined();
    expect(sdk.isApiError(reply.error)).toBe(false);
  });
});

describe('the fake provider', () => {
  let fake: FakeProvider;
  beforeEach(async () => {
    fake = await FakeProvider.start('fake');
  });
  afterEach(async () => {
    await fake.close();
  });

  async function post(path: string, body: object = { model: 'm', messages: [] }) {
    const response = await fetch(`${fake.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { error: { type?: string } } };
  }

  it('sends error bodies in the format of the path it was called on', async () => {
    fake.behave((hit) => ({ kind: 'status', status: hit.path.includes('flash') ? 503 : 529 }));

    const anthropic = await post('/v1/messages');
    const gemini = await post('/v1beta/models/gemini-2.5-flash:generateContent', { contents: [] });

    expect(anthropic).toEqual({
      status: 529,
      body: { type: 'error', error: { type: 'overloaded_error', message: 'fake 529' } },
    });
    expect(gemini).toEqual({ status: 503, body: { error: { code: 503, message: 'fake 503', status: 'UNAVAILABLE' } } });
  });

  it('keeps the OpenAI error body for other paths and reports api_error for an Anthropic 500', async () => {
    fake.behave({ kind: 'status', status: 500 });

    const openai = await post('/v1/chat/completions');
    const anthropic = await post('/v1/messages');

    expect(openai.body).toEqual({ error: { message: 'fake 500', type: 'server_error' } });
    expect(anthropic.body.error.type).toBe('api_error');
  });

  it('cuts a non-streaming answer halfway through its JSON body', async () => {
    fake.behave({ kind: 'cut', afterEvents: 0 });

    const response = await fetch(`${fake.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm' }) });
    const body = await response.text().catch((error: unknown) => error);

    expect(response.status).toBe(200);
    expect(body).toMatchObject({ message: 'terminated' });
  });

  it('spaces stream events by eventDelayMs, sending the first one at once', async () => {
    fake.behave({ kind: 'ok', eventDelayMs: 100 });

    const started = Date.now();
    const response = await fetch(`${fake.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
      method: 'POST',
      body: JSON.stringify({ contents: [] }),
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const firstByteMs = Date.now() - started;
    while (!(await reader.read()).done) {}
    const totalMs = Date.now() - started;

    // Three events: the first is not held back, then two gaps of at least 100 ms each follow it.
    expect(totalMs - firstByteMs).toBeGreaterThanOrEqual(190);
  });
});
