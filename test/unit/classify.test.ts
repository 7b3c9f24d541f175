import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { classifyOutcome, networkErrorKind } from '../../shared/resilience/classify';
import type { Classification, NetworkErrorKind, UpstreamObservation } from '../../shared/resilience/outcome';

const NOW = Date.UTC(2025, 0, 1);

const OPENAI_INSUFFICIENT_QUOTA = JSON.stringify({
  error: {
    message:
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
    type: 'insufficient_quota',
    param: null,
    code: 'insufficient_quota',
  },
});
const ANTHROPIC_OVERLOADED = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}';
const GEMINI_RESOURCE_EXHAUSTED = JSON.stringify({
  error: {
    code: 429,
    message: 'You exceeded your current quota, please check your plan and billing details.',
    status: 'RESOURCE_EXHAUSTED',
    details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '52s' }],
  },
});

interface Row {
  why: string;
  obs: UpstreamObservation;
  expected: Classification;
}

/** Builds a table row: the observation and the verdict SPEC §4.1 gives for it. */
function row(why: string, obs: UpstreamObservation, cls: Classification['class'], retryAfterMs: number | null = null) {
  return { why, obs, expected: { class: cls, retryAfterMs } } satisfies Row;
}

describe('classifyOutcome', () => {
  describe('follows the SPEC §4.1 table', () => {
    it.each<Row>([
      // 2xx
      row('a 200', { status: 200 }, 'success'),
      row('a 204', { status: 204 }, 'success'),
      // client 4xx
      row('a 400', { status: 400 }, 'business_error'),
      row('a 404', { status: 404 }, 'business_error'),
      row('a 409', { status: 409 }, 'business_error'),
      row('a 413', { status: 413 }, 'business_error'),
      row('a 422', { status: 422 }, 'business_error'),
      // auth
      row('a 401', { status: 401 }, 'auth'),
      row('a 403', { status: 403 }, 'auth'),
      row('a 429 with OpenAI insufficient_quota', { status: 429, bodySnippet: OPENAI_INSUFFICIENT_QUOTA }, 'auth'),
      // rate limited
      row('a 429 with Retry-After seconds', { status: 429, headers: { 'retry-after': '7' } }, 'rate_limited', 7_000),
      row('a 429 with retry-after-ms', { status: 429, headers: { 'retry-after-ms': '850' } }, 'rate_limited', 850),
      row(
        'a Gemini 429 with retryDelay',
        { status: 429, bodySnippet: GEMINI_RESOURCE_EXHAUSTED },
        'rate_limited',
        52_000,
      ),
      row('a 429 that says nothing about when', { status: 429 }, 'rate_limited'),
      // transient
      row('a 503', { status: 503 }, 'transient'),
      row('an Anthropic 529', { status: 529, bodySnippet: ANTHROPIC_OVERLOADED }, 'transient'),
      row('an overloaded_error body on a 500', { status: 500, bodySnippet: ANTHROPIC_OVERLOADED }, 'transient'),
      // instance failure
      row('a 500', { status: 500 }, 'instance_failure'),
      row('a 502', { status: 502 }, 'instance_failure'),
      row('a 504', { status: 504 }, 'instance_failure'),
      row('a connect error', { networkError: 'connect' }, 'instance_failure'),
      row('a reset', { networkError: 'reset' }, 'instance_failure'),
      row('a DNS failure', { networkError: 'dns' }, 'instance_failure'),
      row('a TLS failure', { networkError: 'tls' }, 'instance_failure'),
      row('a first-byte timeout', { networkError: 'first_byte_timeout' }, 'instance_failure'),
      // stream failure
      row('a failure after the first byte', { status: 200, afterFirstByte: true }, 'stream_failure'),
    ])('classifies $why as $expected.class', ({ obs, expected }) => {
      // Act
      const verdict = classifyOutcome(obs, NOW);

      // Assess
      expect(verdict).toEqual(expected);
    });
  });

  describe('handles the cases the table leaves implicit', () => {
    it.each<Row>([
      row('a 408 (timeout at the upstream)', { status: 408 }, 'instance_failure'),
      row('a 501', { status: 501 }, 'instance_failure'),
      row('a 599', { status: 599 }, 'instance_failure'),
      row('a 101', { status: 101 }, 'instance_failure'),
      row('a 304', { status: 304 }, 'instance_failure'),
      row('a generic timeout', { networkError: 'timeout' }, 'instance_failure'),
      row('an unknown network error', { networkError: 'other' }, 'instance_failure'),
      row('an observation with neither status nor network error', {}, 'instance_failure'),
      row('a network error after the first byte', { networkError: 'reset', afterFirstByte: true }, 'stream_failure'),
      row(
        'insufficient_quota in error.type only',
        { status: 429, bodySnippet: '{"error":{"type":"insufficient_quota"}}' },
        'auth',
      ),
      row(
        'insufficient_quota in error.code only',
        { status: 429, bodySnippet: '{"error":{"code":"insufficient_quota","type":"requests"}}' },
        'auth',
      ),
      row(
        'insufficient_quota ignoring its Retry-After',
        { status: 429, headers: { 'retry-after': '20' }, bodySnippet: OPENAI_INSUFFICIENT_QUOTA },
        'auth',
      ),
      row(
        'a truncated insufficient_quota body',
        { status: 429, bodySnippet: OPENAI_INSUFFICIENT_QUOTA.slice(0, -30) },
        'auth',
      ),
      row(
        'a 400 whose message merely mentions insufficient_quota',
        {
          status: 400,
          bodySnippet: '{"error":{"type":"invalid_request_error","message":"\\"type\\":\\"insufficient_quota\\""}}',
        },
        'business_error',
      ),
      row('a 503 with Retry-After', { status: 503, headers: { 'retry-after': '2' } }, 'transient', 2_000),
      row('a 529 without a body', { status: 529 }, 'transient'),
      row(
        'a truncated overloaded_error body',
        { status: 500, bodySnippet: ANTHROPIC_OVERLOADED.slice(0, ANTHROPIC_OVERLOADED.indexOf('Overloaded')) },
        'transient',
      ),
      row(
        'an overloaded_error in an SSE error frame',
        { status: 500, bodySnippet: `event: error\ndata: ${ANTHROPIC_OVERLOADED}\n\n` },
        'transient',
      ),
      row(
        'a 500 with Retry-After (no wait carried)',
        { status: 500, headers: { 'retry-after': '5' } },
        'instance_failure',
      ),
      row('a 400 with an HTML body', { status: 400, bodySnippet: '<html>Bad Request</html>' }, 'business_error'),
      row('a 200 with a stray Retry-After', { status: 200, headers: { 'retry-after': '5' } }, 'success'),
    ])('classifies $why as $expected.class', ({ obs, expected }) => {
      // Act
      const verdict = classifyOutcome(obs, NOW);

      // Assess
      expect(verdict).toEqual(expected);
    });
  });
});

/** Resolves with what the promise rejects with; fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

/** Listens on an ephemeral port on 127.0.0.1 and resolves with the port. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Closes the server and waits until it has stopped listening. */
async function close(server: Server): Promise<void> {
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

describe('networkErrorKind', () => {
  describe('with real fetch errors', () => {
    it('maps a refused connection to connect', async () => {
      // Prepare: a port that was just free, so nothing listens on it
      const server = createServer();
      const port = await listen(server);
      await close(server);

      // Act
      const err = await rejectionOf(fetch(`http://127.0.0.1:${port}/`));

      // Assess
      expect(networkErrorKind(err)).toBe('connect');
    });

    describe('against a server that accepts and never answers', () => {
      const sockets = new Set<Socket>();
      const server = createServer((socket) => sockets.add(socket));
      let port: number;

      beforeAll(async () => {
        port = await listen(server);
      });

      afterAll(async () => {
        for (const socket of sockets) socket.destroy();
        await close(server);
      });

      it('maps an AbortSignal.timeout abort to timeout', async () => {
        // Act
        const err = await rejectionOf(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(50) }));

        // Assess
        expect(networkErrorKind(err)).toBe('timeout');
      });

      it('maps an AbortController abort to timeout', async () => {
        // Prepare
        const controller = new AbortController();
        const pending = fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal });

        // Act
        controller.abort();
        const err = await rejectionOf(pending);

        // Assess
        expect(networkErrorKind(err)).toBe('timeout');
      });
    });
  });

  describe('with synthetic undici-shaped errors', () => {
    /** The shape undici throws: a TypeError whose cause carries the system error code. */
    function fetchFailed(code: string): Error {
      return new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
    }

    it.each<{ code: string; kind: NetworkErrorKind }>([
      { code: 'ECONNREFUSED', kind: 'connect' },
      { code: 'EHOSTUNREACH', kind: 'connect' },
      { code: 'ENETUNREACH', kind: 'connect' },
      { code: 'UND_ERR_CONNECT_TIMEOUT', kind: 'connect' },
      { code: 'ECONNRESET', kind: 'reset' },
      { code: 'EPIPE', kind: 'reset' },
      { code: 'UND_ERR_SOCKET', kind: 'reset' },
      { code: 'UND_ERR_CLOSED', kind: 'reset' },
      { code: 'ENOTFOUND', kind: 'dns' },
      { code: 'EAI_AGAIN', kind: 'dns' },
      { code: 'ERR_TLS_CERT_ALTNAME_INVALID', kind: 'tls' },
      { code: 'ERR_SSL_WRONG_VERSION_NUMBER', kind: 'tls' },
      { code: 'CERT_HAS_EXPIRED', kind: 'tls' },
      { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', kind: 'tls' },
      { code: 'SELF_SIGNED_CERT_IN_CHAIN', kind: 'tls' },
      { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', kind: 'tls' },
      { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', kind: 'tls' },
      { code: 'ETIMEDOUT', kind: 'timeout' },
      { code: 'UND_ERR_HEADERS_TIMEOUT', kind: 'timeout' },
      { code: 'EWHATEVER', kind: 'other' },
    ])('maps a cause with code $code to $kind', ({ code, kind }) => {
      // Act
      const mapped = networkErrorKind(fetchFailed(code));

      // Assess
      expect(mapped).toBe(kind);
    });

    it('reads a code on the error itself', () => {
      // Prepare
      const err = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

      // Act / Assess
      expect(networkErrorKind(err)).toBe('reset');
    });

    it('follows a cause nested two levels deep', () => {
      // Prepare
      const err = new Error('upstream call failed', { cause: fetchFailed('ENOTFOUND') });

      // Act / Assess
      expect(networkErrorKind(err)).toBe('dns');
    });

    it.each([
      { why: 'a TimeoutError DOMException', err: new DOMException('timed out', 'TimeoutError') },
      { why: 'an AbortError DOMException', err: new DOMException('aborted', 'AbortError') },
    ])('maps $why to timeout', ({ err }) => {
      // Act / Assess
      expect(networkErrorKind(err)).toBe('timeout');
    });

    it.each([
      { why: 'an error without a code', err: new TypeError('fetch failed') },
      { why: 'a string', err: 'boom' },
      { why: 'null', err: null },
      { why: 'undefined', err: undefined },
      { why: 'a numeric code', err: { code: 111 } },
    ])('maps $why to other', ({ err }) => {
      // Act / Assess
      expect(networkErrorKind(err)).toBe('other');
    });
  });
});
