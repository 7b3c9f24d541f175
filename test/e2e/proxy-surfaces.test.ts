import { GATEWAY_KEY, type MultiProviderHarness, startMultiProviderHarness } from '../support/gateway-harness';

describe('the proxy API surface beyond the happy path', () => {
  let h: MultiProviderHarness;
  beforeAll(async () => {
    h = await startMultiProviderHarness({
      requireKey: true,
      extraYaml: `
retry: { maxAttempts: 3, totalTimeoutSeconds: 20 }
`,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  const upstreamHits = () =>
    Object.values(h.fakes).reduce((n, pair) => n + pair.primary.hits.length + pair.backup.hits.length, 0);

  async function send(path: string, init: RequestInit & { key?: string | null } = {}) {
    const headers = new Headers(init.headers);
    if (init.key !== null) headers.set('x-api-key', init.key ?? GATEWAY_KEY);
    const res = await fetch(`${h.url}${path}`, { ...init, headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
  }
  const json = { 'content-type': 'application/json' };

  describe.each([
    {
      api: 'Anthropic',
      path: '/v1/messages',
      good: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
      missing: { model: 'claude-sonnet-4-5', max_tokens: 10 },
      shape: (body: { type?: string; error?: { type?: string; message?: string } }) => {
        expect(body.type).toBe('error');
        expect(typeof body.error?.type).toBe('string');
        return body.error?.message ?? '';
      },
    },
    {
      api: 'Gemini',
      path: '/v1beta/models/gemini-2.0-flash:generateContent',
      good: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] },
      missing: { generationConfig: {} },
      shape: (body: { error?: { code?: number; status?: string; message?: string } }) => {
        expect(typeof body.error?.code).toBe('number');
        expect(typeof body.error?.status).toBe('string');
        return body.error?.message ?? '';
      },
    },
  ])('$api errors come in the $api error shape, with no upstream call', ({ path, good, missing, shape }) => {
    it.each([
      ['malformed JSON', 400, { body: '{"model": ', headers: json }],
      ['a missing required field', 400, { body: JSON.stringify(missing), headers: json }],
      ['an unsupported content type', 415, { body: 'hi', headers: { 'content-type': 'text/plain' } }],
      ['a wrong method', 405, { method: 'GET' }],
      ['no gateway key', 401, { body: JSON.stringify(good), headers: json, key: null }],
      ['a wrong gateway key', 401, { body: JSON.stringify(good), headers: json, key: 'nope' }],
    ] as const)('%s → %i', async (_name, status, init) => {
      const before = upstreamHits();

      const res = await send(path, { method: 'POST', ...init });

      expect(res.status).toBe(status);
      expect(shape(res.json).length).toBeGreaterThan(0);
      expect(upstreamHits()).toBe(before);
      expect(res.text).not.toContain('nope');
    });
  });

  it('accepts the Gemini key as ?key= and does not forward it upstream', async () => {
    const res = await send(`/v1beta/models/gemini-2.0-flash:generateContent?key=${GATEWAY_KEY}`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
      key: null,
    });

    expect(res.status).toBe(200);
    const hit = h.fakes.gemini.primary.hits.at(-1);
    expect(hit?.path).not.toContain(GATEWAY_KEY);
    expect(hit?.headers['x-goog-api-key']).not.toBe(GATEWAY_KEY);
  });

  it('refuses a model routed to a provider of another format with a 400 naming both', async () => {
    const res = await send('/v1/chat/completions', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] }),
    });

    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain('claude-sonnet-4-5');
    expect(res.json.error.message).toContain('anthropic');
  });

  it('lists the routable models in OpenAI list format, behind the gateway key', async () => {
    const unauthorized = await send('/v1/models', { key: null });
    const res = await send('/v1/models');

    expect(unauthorized.status).toBe(401);
    expect(res.status).toBe(200);
    expect(res.json.object).toBe('list');
    expect(Array.isArray(res.json.data)).toBe(true);
  });

  it.each(['/stats', '/health', '/metrics'])('requires the gateway key on %s', async (path) => {
    const without = await fetch(`${h.url}${path}`);
    const wrong = await fetch(`${h.url}${path}`, { headers: { authorization: 'Bearer nope' } });
    const right = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${GATEWAY_KEY}` } });

    expect([without.status, wrong.status]).toEqual([401, 401]);
    expect(right.status).toBe(200);
  });

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    const fake = h.fakes.openai.primary;
    fake.behave({ kind: 'ok', content: Array.from({ length: 60 }, (_, i) => `w${i}`).join(' '), eventDelayMs: 100 });
    const client = new AbortController();
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${GATEWAY_KEY}` },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      signal: client.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();

    client.abort();
    const hit = fake.hits.at(-1);
    for (let i = 0; i < 40 && hit?.abortedAt === undefined; i++) await new Promise((r) => setTimeout(r, 50));

    expect(hit?.abortedAt).toBeDefined();
    // The 60-event stream would take 6 s; the upstream connection closed long before.
    expect((hit?.abortedAt ?? Number.POSITIVE_INFINITY) - (hit?.at ?? 0)).toBeLessThan(3000);
    fake.behave({ kind: 'ok' });
  });
});
