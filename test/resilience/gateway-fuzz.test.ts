import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { type FakeBehaviour, FakeProvider } from '../../local/fake-provider';
import { type LocalRuntime, startLocalRuntime } from '../../local/local-runtime';
import { parseConfig } from '../../shared/config/load-config';
import type { GatewayConfig } from '../../shared/config/schema';
import type { GatewayRequest } from '../../shared/gateway/gateway-http';
import { createProxyDeps } from '../../shared/gateway/proxy-deps';
import { PROXY_ROUTES } from '../../shared/gateway/proxy-routes';
import { handleProxyRequest } from '../../shared/gateway/proxy-service';
import type { ApiFormat } from '../../shared/http/api-errors';
import { MemoryLog } from '../../shared/observability/log';
import { MemoryBreakerStore } from '../../shared/store/memory-breaker-store';
import { MemorySessionStore } from '../../shared/store/session-store';
import { readBody, within } from './support';

// Property-based tests (fast-check) of the proxy over arbitrary client input and arbitrary upstream answers: the
// gateway never answers 500, never throws, never hangs, and never repeats a provider key to a client or a log.
// Requests go straight to `handleProxyRequest` with a fresh container (in-memory breaker) per run, for speed and so
// that no run inherits another's breaker state; one property goes over HTTP through the local runtime.

jest.setTimeout(30_000);

const GATEWAY_KEY = 'gw-fuzz-key-0123456789';
/** Provider keys that must never come back: three match the scrubber's key patterns, one (Azure style) matches none. */
const PROVIDER_KEYS = {
  openai: 'sk-test-PROVIDERKEY-abcdef123456',
  azureStyle: '0123456789abcdefPROVIDERKEY0123456789ab',
  anthropic: 'sk-ant-test-PROVIDERKEY-abcdef123456',
  gemini: 'AIzaPROVIDERKEY-gemini-abcdef1234567890',
};
const SECRETS = [...Object.values(PROVIDER_KEYS), 'PROVIDERKEY'];
/** HTTP statuses whose responses carry no body. */
const BODILESS = [204, 205, 304];

/** The three proxied routes, with a valid body for each. */
interface Route {
  format: ApiFormat;
  path: (stream: boolean) => string;
  query: (stream: boolean) => Record<string, string>;
  body: (stream: boolean) => Record<string, unknown>;
  /** The body field that must be an array. */
  required: 'messages' | 'contents';
}
const ROUTES: Route[] = [
  {
    format: 'openai',
    path: () => '/v1/chat/completions',
    query: () => ({}),
    body: (stream) => ({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'hi' }] }),
    required: 'messages',
  },
  {
    format: 'anthropic',
    path: () => '/v1/messages',
    query: () => ({}),
    body: (stream) => ({
      model: 'claude-sonnet-4',
      max_tokens: 16,
      stream,
      messages: [{ role: 'user', content: 'hi' }],
    }),
    required: 'messages',
  },
  {
    format: 'gemini',
    path: (stream) => `/v1beta/models/gemini-2.0-flash:${stream ? 'streamGenerateContent' : 'generateContent'}`,
    query: (stream): Record<string, string> => (stream ? { alt: 'sse' } : {}),
    body: () => ({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    required: 'contents',
  },
];

function config(upstreamUrl: string): GatewayConfig {
  return parseConfig(
    `
apiKeys: [ { name: fuzz, key: ${GATEWAY_KEY} } ]
routing: { defaultProvider: openai, rules: { "gpt-": openai, "claude-": anthropic, "gemini-": gemini } }
providers:
  openai:
    - { name: openai-1, baseUrl: "${upstreamUrl}/v1", apiKey: ${PROVIDER_KEYS.openai}, priority: 1, firstByteTimeoutSeconds: 0.2, requestTimeoutSeconds: 2 }
    - { name: openai-2, baseUrl: "${upstreamUrl}/v1", apiKey: ${PROVIDER_KEYS.azureStyle}, priority: 2, firstByteTimeoutSeconds: 0.2, requestTimeoutSeconds: 2 }
  anthropic:
    - { name: anthropic-1, baseUrl: "${upstreamUrl}", apiKey: ${PROVIDER_KEYS.anthropic}, firstByteTimeoutSeconds: 0.2, requestTimeoutSeconds: 2 }
  gemini:
    - { name: gemini-1, baseUrl: "${upstreamUrl}", apiKey: ${PROVIDER_KEYS.gemini}, firstByteTimeoutSeconds: 0.2, requestTimeoutSeconds: 2 }
retry: { maxAttempts: 2, rateLimitMaxDelaySeconds: 0.05, totalTimeoutSeconds: 3 }
`,
    {},
  );
}

/** What one request produced: the response with its body read (or how reading it failed), and the log. */
interface Exchange {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Set when the body stream failed (a cut JSON body) or did not end within 5 s. */
  bodyError: string | null;
  log: string;
}

describe('the gateway under arbitrary input (property-based)', () => {
  let upstream: FakeProvider;
  let gatewayConfig: GatewayConfig;
  beforeAll(async () => {
    upstream = await FakeProvider.start('upstream', { kind: 'ok' });
    gatewayConfig = config(upstream.url);
  });
  afterAll(async () => {
    await upstream?.close();
  });

  /** Sends one request to a fresh container and reads its whole answer, bounded in time. */
  async function exchange(request: Omit<GatewayRequest, 'requestId' | 'remainingMs'>): Promise<Exchange> {
    const log = new MemoryLog();
    const deps = createProxyDeps({
      config: gatewayConfig,
      store: new MemoryBreakerStore(),
      sessions: new MemorySessionStore(),
      log,
    });
    const response = await within(
      handleProxyRequest({ ...request, requestId: randomUUID(), remainingMs: 10_000 }, deps),
      4000,
      null,
    );
    if (response === null) throw new Error('the gateway did not answer within 4 s (its request budget is 3 s)');
    let bodyError: string | null = null;
    const body = await within(
      readBody(response.body).catch((error: unknown) => {
        bodyError = String(error);
        return '';
      }),
      5000,
      null,
    );
    if (body === null) bodyError = 'the body did not end within 5 s';
    return { status: response.statusCode, headers: response.headers, body: body ?? '', bodyError, log: log.text() };
  }

  /** Which secrets a text contains. */
  function leaked(...texts: string[]): string[] {
    return SECRETS.filter((secret) => texts.some((text) => text.includes(secret)));
  }

  /** The error body shape of each API format (SPEC §2). */
  function hasErrorShape(format: ApiFormat, body: string): boolean {
    const parsed = JSON.parse(body);
    switch (format) {
      case 'openai':
        return typeof parsed.error?.message === 'string' && typeof parsed.error?.type === 'string';
      case 'anthropic':
        return parsed.type === 'error' && typeof parsed.error?.message === 'string';
      case 'gemini':
        return typeof parsed.error?.code === 'number' && typeof parsed.error?.status === 'string';
    }
  }

  const route = fc.constantFrom(...ROUTES);
  const auth = fc.constantFrom<Record<string, string>>(
    { authorization: `Bearer ${GATEWAY_KEY}` },
    { 'x-api-key': GATEWAY_KEY },
    { 'x-goog-api-key': GATEWAY_KEY },
  );
  /** Printable ASCII and Latin-1 text, tabs included: what an HTTP server lets through in a header value. */
  const headerValue = fc.string({
    unit: fc
      .integer({ min: 0x1f, max: 0xff })
      .filter((c) => c !== 0x7f)
      .map((c) => (c === 0x1f ? '\t' : String.fromCharCode(c))),
    maxLength: 30,
  });
  const headerName = fc.oneof(
    fc.stringMatching(/^x-[a-z0-9-]{1,12}$/),
    fc.constantFrom(
      'connection',
      'keep-alive',
      'transfer-encoding',
      'te',
      'upgrade',
      'expect',
      'host',
      'content-length',
      'accept-encoding',
      'content-encoding',
      'x-session-id',
      'openai-organization',
      'x-forwarded-for',
      'cookie',
      'proxy-connection',
    ),
  );
  const oddHeaders = fc.dictionary(headerName, headerValue, { maxKeys: 4 });

  /** A request that is wrong in exactly one way, with the status that mistake earns. */
  const mistake: fc.Arbitrary<{
    what: string;
    request: Omit<GatewayRequest, 'requestId' | 'remainingMs'>;
    status: number;
    format: ApiFormat;
  }> = fc.oneof(
    // A body that is not JSON at all.
    fc
      .tuple(route, auth, fc.uint8Array({ maxLength: 120 }))
      .filter(([, , bytes]) => !isJsonObject(bytes))
      .map(([r, a, bytes]) => ({
        what: 'garbage bytes',
        request: post(r, false, { 'content-type': 'application/json', ...a }, Buffer.from(bytes)),
        status: 400,
        format: r.format,
      })),
    // JSON, but not an object.
    fc
      .tuple(route, auth, fc.jsonValue())
      .filter(([, , v]) => typeof v !== 'object' || v === null || Array.isArray(v))
      .map(([r, a, v]) => ({
        what: 'a JSON value that is not an object',
        request: post(r, false, { 'content-type': 'application/json', ...a }, Buffer.from(JSON.stringify(v))),
        status: 400,
        format: r.format,
      })),
    // An object whose required field is missing or of the wrong type (extra fields of any kind around it).
    fc
      .tuple(
        route,
        auth,
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
        fc.option(
          fc.jsonValue({ maxDepth: 1 }).filter((v) => !Array.isArray(v)),
          { nil: undefined },
        ),
        fc.option(fc.oneof(fc.constantFrom('', '  ', null), fc.integer(), fc.array(fc.string())), { nil: undefined }),
      )
      .map(([r, a, extra, badRequired, badModel]) => {
        const body: Record<string, unknown> = { ...extra, ...r.body(false) };
        if (badModel !== undefined && r.format !== 'gemini') body.model = badModel;
        else if (badRequired === undefined) delete body[r.required];
        else body[r.required] = badRequired;
        return {
          what: 'a missing or mistyped required field',
          request: post(r, false, { 'content-type': 'application/json', ...a }, Buffer.from(JSON.stringify(body))),
          status: 400,
          format: r.format,
        };
      }),
    // A content type that is not JSON.
    fc
      .tuple(
        route,
        auth,
        fc.oneof(
          fc.constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/xml',
            'application/jsonp',
            'image/png',
          ),
          fc.string({ minLength: 1, maxLength: 20 }),
        ),
      )
      .filter(([, , type]) => type.trim() !== '' && !/^application\/([a-z.+-]*\+)?json\b/i.test(type.trim()))
      .map(([r, a, type]) => ({
        what: 'a content type that is not JSON',
        request: post(r, false, { 'content-type': type, ...a }, Buffer.from(JSON.stringify(r.body(false)))),
        status: 415,
        format: r.format,
      })),
    // No gateway key, or a wrong one, in any of the places keys go.
    fc
      .tuple(
        route,
        fc.option(
          fc.tuple(
            fc.constantFrom('authorization', 'x-api-key', 'x-goog-api-key'),
            fc.string({ minLength: 1, maxLength: 40 }),
          ),
        ),
      )
      .filter(
        ([, k]) =>
          k === null || (k[1].trim() !== GATEWAY_KEY && k[1].replace(/^Bearer\s+/i, '').trim() !== GATEWAY_KEY),
      )
      .map(([r, k]) => ({
        what: 'a missing or wrong gateway key',
        request: post(
          r,
          false,
          { 'content-type': 'application/json', ...(k ? { [k[0]]: k[1] } : {}) },
          Buffer.from(JSON.stringify(r.body(false))),
        ),
        status: 401,
        format: r.format,
      })),
    // A path the gateway does not serve.
    fc
      .tuple(fc.webPath(), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), auth)
      .filter(
        ([path]) => !PROXY_ROUTES.some((r) => r.path.test(path)) && !['/stats', '/health', '/metrics'].includes(path),
      )
      .map(([path, method, a]) => ({
        what: 'an unknown route',
        request: {
          method,
          path: path || '/',
          headers: { 'content-type': 'application/json', ...a },
          query: {},
          body: Buffer.from('{}'),
        },
        status: 404,
        format: formatOf(path || '/'),
      })),
    // A method the route does not take.
    fc.tuple(route, fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), auth).map(([r, method, a]) => ({
      what: 'a wrong method',
      request: {
        ...post(r, false, { 'content-type': 'application/json', ...a }, Buffer.from(JSON.stringify(r.body(false)))),
        method,
      },
      status: 405,
      format: r.format,
    })),
    // A model routed to another provider's API format.
    fc
      .tuple(fc.constantFrom(ROUTES[0], ROUTES[1]), auth, fc.stringMatching(/^[a-z0-9.-]{1,12}$/))
      .map(([r, a, suffix]) => ({
        what: 'a model of another API format',
        request: post(
          r,
          false,
          { 'content-type': 'application/json', ...a },
          Buffer.from(
            JSON.stringify({ ...r.body(false), model: `${r.format === 'openai' ? 'claude-' : 'gemini-'}${suffix}` }),
          ),
        ),
        status: 400,
        format: r.format,
      })),
    // A header the upstream request could not carry (NUL, CR, LF, a character beyond Latin-1, a bad name).
    fc
      .tuple(
        route,
        auth,
        fc.constantFrom(
          ['x-odd', 'a\u0000b'],
          ['x-odd', 'a\rb'],
          ['x-odd', 'line\nbreak'],
          ['x-odd', 'euro €'],
          ['x odd', 'v'],
          ['x-odd(', 'v'],
          ['x-ödd', 'v'],
        ),
      )
      .map(([r, a, [name, value]]) => ({
        what: 'an invalid header',
        request: post(
          r,
          false,
          { 'content-type': 'application/json', ...a, [name]: value },
          Buffer.from(JSON.stringify(r.body(false))),
        ),
        status: 400,
        format: r.format,
      })),
  );

  it('answers every client mistake with its 4xx in the client API format, never reaching an upstream or leaking a key', async () => {
    upstream.behave({ kind: 'ok' });
    const hitsBefore = upstream.hits.length;
    await fc.assert(
      fc.asyncProperty(mistake, async ({ request, status, format }) => {
        const answer = await exchange(request);

        expect(answer.status).toBe(status);
        expect(hasErrorShape(format, answer.body)).toBe(true);
        expect(answer.headers['x-gateway-request-id']).toBeTruthy();
        expect(leaked(answer.body, JSON.stringify(answer.headers), answer.log)).toEqual([]);
      }),
      { numRuns: 300 },
    );
    expect(upstream.hits.length - hitsBefore).toBe(0);
  });

  it('answers any request at all, valid or not, with something other than a 5xx while the upstreams are healthy', async () => {
    upstream.behave({ kind: 'ok' });
    /** `arbitrary` one time in `oneIn`, else null: each request is valid but for a few rare twists. */
    const rarely = <T>(arbitrary: fc.Arbitrary<T>, oneIn = 5) =>
      fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });
    const anyRequest = fc
      .record({
        route,
        stream: fc.boolean(),
        auth,
        extraFields: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
        headers: fc.oneof(fc.constant({}), oddHeaders),
        method: rarely(fc.oneof(fc.constantFrom('GET', 'PUT'), fc.stringMatching(/^[A-Z]{1,7}$/))),
        path: rarely(
          fc.oneof(
            fc.constantFrom('/v1/chat/completions', '/v1/messages', '/v1/models'),
            fc.stringMatching(/^\/v1beta\/models\/[^/:]{0,20}:(generateContent|streamGenerateContent)$/),
            fc.webPath(),
          ),
        ),
        contentType: rarely(
          fc.constantFrom('text/plain', 'application/problem+json', '', 'application/json; charset=latin1'),
        ),
        query: rarely(fc.dictionary(fc.constantFrom('alt', 'key', 'x'), fc.string({ maxLength: 10 }), { maxKeys: 2 })),
        body: rarely(
          fc.oneof(
            fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
            fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')),
          ),
        ),
      })
      .map((g) => {
        const base = post(
          g.route,
          g.stream,
          { ...g.headers, 'content-type': 'application/json', ...g.auth },
          Buffer.from(JSON.stringify({ ...g.extraFields, ...g.route.body(g.stream) })),
        );
        return {
          ...base,
          method: g.method ?? base.method,
          path: g.path ?? base.path,
          headers: g.contentType === null ? base.headers : { ...base.headers, 'content-type': g.contentType },
          query: g.query ?? base.query,
          body: g.body ?? base.body,
        };
      });
    const hitsBefore = upstream.hits.length;
    await fc.assert(
      fc.asyncProperty(anyRequest, async (request) => {
        const answer = await exchange(request);

        expect(answer.status).toBeGreaterThanOrEqual(200);
        expect(answer.status).toBeLessThan(500);
        expect(answer.bodyError).toBeNull();
        expect(leaked(answer.body, JSON.stringify(answer.headers), answer.log)).toEqual([]);
      }),
      { numRuns: 300 },
    );
    // Not a vacuous property: a fair share of the requests were valid enough to be proxied.
    expect(upstream.hits.length - hitsBefore).toBeGreaterThan(60);
  });

  /** Arbitrary answers an upstream might give: any status, odd headers, any body, cut streams, resets. */
  const retryAfterGarbage = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
    fc.double().map(String),
    fc.nat({ max: 999_999_999_999 }).map(String),
    fc.constantFrom(
      'Wed, 21 Oct 2015 07:28:00 GMT',
      'Sun, 06 Nov 2994 08:49:37 GMT',
      'Sun Nov  6 08:49:37 1994',
      'tomorrow',
      '1.5',
      '  3 ',
    ),
  );
  const upstreamHeaders = fc.record(
    {
      'retry-after': retryAfterGarbage,
      'retry-after-ms': retryAfterGarbage,
      'content-type': fc.oneof(
        fc.constantFrom('application/json', 'text/event-stream', 'text/plain', 'text/html'),
        fc.string({ maxLength: 15 }),
      ),
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x-unknown'),
      'x-random': fc.string({ maxLength: 20 }),
    },
    { requiredKeys: [] },
  );
  const upstreamBody = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''),
    fc
      .record({
        error: fc.record(
          {
            message: fc.string({ maxLength: 30 }),
            type: fc.constantFrom('overloaded_error', 'insufficient_quota', 'rate_limit_error', 'server_error'),
            code: fc.oneof(
              fc.integer({ min: 100, max: 599 }),
              fc.constantFrom('insufficient_quota', 'rate_limit_exceeded'),
            ),
            details: fc.array(
              fc.record({
                '@type': fc.constant('type.googleapis.com/google.rpc.RetryInfo'),
                retryDelay: fc.oneof(
                  retryAfterGarbage,
                  retryAfterGarbage.map((s) => `${s}s`),
                ),
              }),
              { maxLength: 2 },
            ),
          },
          { requiredKeys: [] },
        ),
      })
      .map((v) => JSON.stringify(v)),
    // SSE text that stops anywhere: a truncated stream, possibly mid-event.
    fc.tuple(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }), fc.nat(40)).map(([events, cut]) => {
      const text = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('');
      return text.slice(0, Math.max(0, text.length - cut));
    }),
  );
  const upstreamAnswer: fc.Arbitrary<FakeBehaviour> = fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        kind: fc.constant('status' as const),
        // Statuses without a body (204, 205, 304) have a test of their own below.
        status: fc.integer({ min: 200, max: 599 }).filter((status) => !BODILESS.includes(status)),
        headers: upstreamHeaders,
        body: upstreamBody,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('status' as const),
        status: fc.integer({ min: 100, max: 199 }),
        body: upstreamBody,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('cut' as const),
        afterEvents: fc.nat(4),
        content: fc.constantFrom('one', 'one two three four five'),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'ok' as const }) },
  );

  it('answers whatever the upstreams answer with a valid status (never 500), ends every body in bounded time, and never leaks a key', async () => {
    await fc.assert(
      fc.asyncProperty(route, fc.boolean(), auth, upstreamAnswer, async (r, stream, a, behaviour) => {
        upstream.behave(behaviour);
        const startedAt = Date.now();
        const answer = await exchange(
          post(r, stream, { 'content-type': 'application/json', ...a }, Buffer.from(JSON.stringify(r.body(stream)))),
        );

        expect(Number.isInteger(answer.status) && answer.status >= 100 && answer.status <= 599).toBe(true);
        expect(answer.status).not.toBe(500);
        expect(answer.log).not.toMatch(/Unexpected error while proxying/);
        // A body either ends, or (a JSON body cut mid-way upstream) fails; it never hangs past the request budget.
        expect(answer.bodyError ?? '').not.toMatch(/did not end/);
        expect(Date.now() - startedAt).toBeLessThan(5000);
        // The gateway's own Retry-After (on answers it made itself) is delta-seconds.
        if (!answer.headers['x-gateway-instance'] && answer.headers['retry-after'] !== undefined) {
          expect(answer.headers['retry-after']).toMatch(/^\d+$/);
        }
        expect(leaked(answer.body, JSON.stringify(answer.headers), answer.log)).toEqual([]);
      }),
      { numRuns: 150 },
    );
    upstream.behave({ kind: 'ok' });
  });

  // Finding: a 2xx without a body (204, 205) hangs the request for ever, past every deadline: the upstream client reads
  // the first chunk of `response.body ?? new ReadableStream()`, and that stand-in stream never ends (nor does the
  // abort of the fetch reach it). 304, the other bodiless status, is answered.
  it('answers an upstream 204, 205 or 304 (no body) within the request budget', async () => {
    const statusFor = { openai: 204, anthropic: 205, gemini: 304 };
    upstream.behave((hit) => ({ kind: 'status', status: statusFor[hit.format] }));
    const startedAt = Date.now();
    const answers = await Promise.all(
      ROUTES.map(async (r) => {
        const answer = await exchange(
          post(
            r,
            false,
            { 'content-type': 'application/json', 'x-api-key': GATEWAY_KEY },
            Buffer.from(JSON.stringify(r.body(false))),
          ),
        ).catch((error: Error) => ({ status: error.message }));
        return `${statusFor[r.format]} → ${answer.status}`;
      }),
    );
    upstream.behave({ kind: 'ok' });

    expect(answers).not.toContainEqual(expect.stringContaining('did not answer'));
    expect(Date.now() - startedAt).toBeLessThan(3500);
  });

  // Finding: an upstream error whose `error.code` (or `type`/`status`) holds the instance's key is summarised into the
  // gateway's own 503 ("tried openai-2 (HTTP 401 <key>)") and into the failover event, because the summary is scrubbed
  // only by key-shaped patterns (sk-…, AIza…), and an Azure-style key matches none.
  it('never repeats an instance key that a failing upstream echoes in its error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(401, 403, 429, 500, 502, 503),
        fc.constantFrom('message', 'code', 'type', 'status'),
        fc.boolean(),
        async (status, field, inHeader) => {
          // Every instance echoes the key it was sent; the OpenAI route tries openai-1 (sk-…) then openai-2 (Azure style).
          upstream.behave((hit): FakeBehaviour => {
            const sent = String(hit.headers.authorization ?? hit.headers['x-api-key'] ?? '').replace(/^Bearer /, '');
            return {
              kind: 'status',
              status,
              headers: inHeader ? { 'x-echo': sent } : ({} as Record<string, string>),
              body: JSON.stringify({
                error: {
                  [field]: sent,
                  message: field === 'message' ? `Incorrect API key provided: ${sent}` : 'bad key',
                },
              }),
            };
          });
          const answer = await exchange(
            post(
              ROUTES[0],
              false,
              { 'content-type': 'application/json', authorization: `Bearer ${GATEWAY_KEY}` },
              Buffer.from(JSON.stringify(ROUTES[0].body(false))),
            ),
          );

          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(leaked(answer.body, JSON.stringify(answer.headers), answer.log)).toEqual([]);
        },
      ),
      { numRuns: 24, endOnFailure: true },
    );
    upstream.behave({ kind: 'ok' });
  });

  // Finding: `Retry-After` is read with Number() and no upper bound; 309+ digits make it Infinity, which becomes the
  // instance's cool-down (for ever) and the gateway's own `retry-after: Infinity`. (With DynamoDB, the record then
  // cannot be written: "Special numeric value Infinity is not allowed", and the container falls back to memory.)
  it('answers an absurdly large Retry-After with a valid Retry-After and a finite cool-down', async () => {
    upstream.behave({ kind: 'status', status: 429, headers: { 'retry-after': '9'.repeat(400) } });
    const r = ROUTES[1];
    const answer = await exchange(
      post(
        r,
        false,
        { 'content-type': 'application/json', 'x-api-key': GATEWAY_KEY },
        Buffer.from(JSON.stringify(r.body(false))),
      ),
    );
    upstream.behave({ kind: 'ok' });

    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toMatch(/^\d+$/);
  });

  // Finding: a header value with a control character (0x01-0x1F except TAB/LF/CR, or DEL) passes the gateway's
  // `new Headers()` check but fails undici's own check when the upstream request is made; the gateway then takes it for
  // a network failure of the instance: it answers 503 and counts a failure against a healthy instance. Node's HTTP
  // server (the local runtime) rejects such headers itself; whether API Gateway does decides how reachable this is.
  it('answers a header value with a control character as a client mistake, counting nothing against the instance', async () => {
    upstream.behave({ kind: 'ok' });
    const control = fc.constantFrom(
      ...[...Array.from({ length: 31 }, (_, i) => i + 1), 0x7f].filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x0d),
    );
    await fc.assert(
      fc.asyncProperty(route, control, async (r, c) => {
        const answer = await exchange(
          post(
            r,
            false,
            { 'content-type': 'application/json', 'x-api-key': GATEWAY_KEY, 'x-odd': `a${String.fromCharCode(c)}b` },
            Buffer.from(JSON.stringify(r.body(false))),
          ),
        );

        expect({ char: c, status: answer.status }).toEqual({ char: c, status: 400 });
        expect(answer.log).not.toMatch(/Failure recorded/);
      }),
      { numRuns: 20, endOnFailure: true },
    );
  });
});

describe('the local runtime under garbage bytes over HTTP (property-based)', () => {
  let upstream: FakeProvider;
  let runtime: LocalRuntime;
  let log: MemoryLog;
  beforeAll(async () => {
    upstream = await FakeProvider.start('upstream', { kind: 'ok' });
    log = new MemoryLog();
    runtime = await startLocalRuntime({
      config: config(upstream.url),
      dynamoEndpoint: 'http://127.0.0.1:1',
      store: new MemoryBreakerStore(),
      createTables: false,
      pollStream: false,
      log,
    });
  });
  afterAll(async () => {
    await runtime?.close();
    await upstream?.close();
  });

  it('answers any bytes with any content type on any route with a 4xx, and keeps serving', async () => {
    const paths = fc.constantFrom(
      '/v1/chat/completions',
      '/v1/messages',
      '/v1beta/models/gemini-2.0-flash:generateContent',
    );
    const contentType = fc.option(
      fc.oneof(
        fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'multipart/form-data'),
        fc.stringMatching(/^[a-z]{1,8}\/[a-z+.-]{1,12}$/),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        paths,
        contentType,
        fc.uint8Array({ maxLength: 300 }).filter((b) => !isJsonObject(b)),
        async (path, type, bytes) => {
          const res = await fetch(`${runtime.url}${path}`, {
            method: 'POST',
            headers: { 'x-api-key': GATEWAY_KEY, ...(type === null ? {} : { 'content-type': type }) },
            body: bytes,
            signal: AbortSignal.timeout(5000),
          });
          const text = await res.text();

          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(leaked(text)).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
    const healthy = await fetch(`${runtime.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': GATEWAY_KEY },
      body: JSON.stringify(ROUTES[0].body(false)),
    });
    expect(healthy.status).toBe(200);
    await healthy.text();
    expect(upstream.hits).toHaveLength(1);
    expect(leaked(log.text())).toEqual([]);
  });

  function leaked(...texts: string[]): string[] {
    return SECRETS.filter((secret) => texts.some((text) => text.includes(secret)));
  }
});

/** A POST of `body` to the route (streaming or not) with the given headers. */
function post(
  route: Route,
  stream: boolean,
  headers: Record<string, string>,
  body: Buffer,
): Omit<GatewayRequest, 'requestId' | 'remainingMs'> {
  return { method: 'POST', path: route.path(stream), headers, query: route.query(stream), body };
}

/** True when the bytes parse as a JSON object (which some mistakes must not be). */
function isJsonObject(bytes: Uint8Array): boolean {
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** The API format of a path's client, for errors on unknown paths (as the gateway decides it). */
function formatOf(path: string): ApiFormat {
  if (path.startsWith('/v1beta/')) return 'gemini';
  if (path.startsWith('/v1/messages')) return 'anthropic';
  return 'openai';
}
