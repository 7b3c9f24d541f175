import { type Harness, startHarness } from '../support/gateway-harness';

describe('bad input to the OpenAI route gets a clear OpenAI-format error and never reaches an upstream', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  async function send(path: string, init: RequestInit) {
    const res = await fetch(`${h.runtime.url}${path}`, init);
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: JSON.parse(text) as { error: { message: string; type: string; code: string | null } },
    };
  }
  const json = { 'content-type': 'application/json' };

  it.each([
    [
      'malformed JSON',
      '/v1/chat/completions',
      { method: 'POST', headers: json, body: '{"model": "gpt' },
      400,
      'invalid_json',
    ],
    [
      'a JSON array body',
      '/v1/chat/completions',
      { method: 'POST', headers: json, body: '[1,2]' },
      400,
      'invalid_request',
    ],
    [
      'a missing model',
      '/v1/chat/completions',
      { method: 'POST', headers: json, body: '{"messages":[]}' },
      400,
      'missing_required_parameter',
    ],
    [
      'missing messages',
      '/v1/chat/completions',
      { method: 'POST', headers: json, body: '{"model":"gpt-4o"}' },
      400,
      'missing_required_parameter',
    ],
    [
      'an unsupported content type',
      '/v1/chat/completions',
      { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' },
      415,
      'unsupported_media_type',
    ],
    ['an unknown route', '/v1/nothing-here', { method: 'POST', headers: json, body: '{}' }, 404, 'not_found'],
    ['a wrong method', '/v1/chat/completions', { method: 'GET' }, 405, 'method_not_allowed'],
    [
      'a body over 6 MB',
      '/v1/chat/completions',
      {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(6 * 1024 * 1024) }] }),
      },
      413,
      'request_too_large',
    ],
  ] as const)('%s → %i', async (_name, path, init, status, code) => {
    const res = await send(path, init as RequestInit);

    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(typeof res.body.error.message).toBe('string');
    expect(res.headers.get('x-gateway-request-id')).toBeTruthy();
    expect(h.primary.hits).toHaveLength(0);
    expect(h.backup.hits).toHaveLength(0);
  });

  it('names the model that no routing rule matches (404)', async () => {
    h.runtime.deps.config.routing.defaultProvider = undefined;
    try {
      const res = await send('/v1/chat/completions', {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ model: 'mystery-model', messages: [] }),
      });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('model_not_found');
      expect(res.body.error.message).toContain('mystery-model');
    } finally {
      h.runtime.deps.config.routing.defaultProvider = 'openai';
    }
  });
});
