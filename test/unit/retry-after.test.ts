import {
  parseGoogleDuration,
  parseRetryAfterHeader,
  parseRetryAfterMsHeader,
  retryAfterFromResponse,
} from '../../shared/resilience/retry-after';

// 30 s before "Wed, 21 Oct 2015 07:28:00 GMT".
const NOW = Date.UTC(2015, 9, 21, 7, 27, 30);

// The shape Gemini returns for a per-minute quota 429 (pretty-printed, as the API sends it).
const GEMINI_RESOURCE_EXHAUSTED = JSON.stringify(
  {
    error: {
      code: 429,
      message:
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
      status: 'RESOURCE_EXHAUSTED',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [
            {
              quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
              quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
              quotaDimensions: { location: 'global', model: 'gemini-2.0-flash' },
              quotaValue: '15',
            },
          ],
        },
        {
          '@type': 'type.googleapis.com/google.rpc.Help',
          links: [
            {
              description: 'Learn more about Gemini API quotas',
              url: 'https://ai.google.dev/gemini-api/docs/rate-limits',
            },
          ],
        },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '52s' },
      ],
    },
  },
  null,
  2,
);

describe('parseRetryAfterHeader', () => {
  it.each([
    { value: '120', expected: 120_000, why: 'whole delta-seconds' },
    { value: '0', expected: 0, why: 'zero seconds' },
    { value: '1.5', expected: 1_500, why: 'decimal delta-seconds' },
    { value: ' 2 ', expected: 2_000, why: 'delta-seconds with surrounding spaces' },
    { value: 'Wed, 21 Oct 2015 07:28:00 GMT', expected: 30_000, why: 'an IMF-fixdate 30 s in the future' },
    { value: 'Wednesday, 21-Oct-15 07:28:00 GMT', expected: 30_000, why: 'an RFC 850 date 30 s in the future' },
    { value: 'Wed Oct 21 07:28:00 2015', expected: 30_000, why: 'an asctime date 30 s in the future' },
    { value: 'Wed, 21 Oct 2015 07:27:00 GMT', expected: 0, why: 'a date in the past' },
  ])('reads $why ("$value") as $expected ms', ({ value, expected }) => {
    // Act
    const waitMs = parseRetryAfterHeader(value, NOW);

    // Assess
    expect(waitMs).toBe(expected);
  });

  it.each([
    '',
    'soon',
    '-5',
    '1e3',
    '1.5s',
    '0x10',
    'foo 1',
    'Wed, 21 Oct 2015',
    'Wed, 32 Oct 2015 07:28:00 GMT',
    'Wed, 21 Oct 2015 07:28:00 PST',
  ])('rejects the garbage value "%s" with null', (value) => {
    // Act
    const waitMs = parseRetryAfterHeader(value, NOW);

    // Assess
    expect(waitMs).toBeNull();
  });
});

describe('parseRetryAfterMsHeader', () => {
  it.each([
    { value: '250', expected: 250 },
    { value: '0', expected: 0 },
    { value: '250.4', expected: 251 },
    { value: 'abc', expected: null },
    { value: '-1', expected: null },
    { value: '', expected: null },
  ])('reads "$value" as $expected', ({ value, expected }) => {
    // Act
    const waitMs = parseRetryAfterMsHeader(value);

    // Assess
    expect(waitMs).toBe(expected);
  });
});

describe('parseGoogleDuration', () => {
  it.each([
    { value: '52s', expected: 52_000 },
    { value: '1.5s', expected: 1_500 },
    { value: '0.250s', expected: 250 },
    { value: '3.000000001s', expected: 3_000 },
    { value: '52', expected: null },
    { value: '52ms', expected: null },
    { value: '-1s', expected: null },
    { value: '', expected: null },
  ])('reads "$value" as $expected', ({ value, expected }) => {
    // Act
    const waitMs = parseGoogleDuration(value);

    // Assess
    expect(waitMs).toBe(expected);
  });
});

interface ResponseRow {
  why: string;
  headers: Record<string, string> | undefined;
  body: string | undefined;
  expected: number | null;
}

describe('retryAfterFromResponse', () => {
  it.each<ResponseRow>([
    {
      why: 'prefers retry-after-ms over retry-after',
      headers: { 'retry-after-ms': '1500', 'retry-after': '2' },
      body: undefined,
      expected: 1_500,
    },
    {
      why: 'falls back to retry-after when retry-after-ms is garbage',
      headers: { 'retry-after-ms': 'later', 'retry-after': '2' },
      body: undefined,
      expected: 2_000,
    },
    {
      why: 'reads an HTTP-date retry-after against now',
      headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' },
      body: undefined,
      expected: 30_000,
    },
    {
      why: 'prefers a header over the body retryDelay',
      headers: { 'retry-after': '3' },
      body: GEMINI_RESOURCE_EXHAUSTED,
      expected: 3_000,
    },
    {
      why: 'reads retryDelay from a Gemini RESOURCE_EXHAUSTED body',
      headers: {},
      body: GEMINI_RESOURCE_EXHAUSTED,
      expected: 52_000,
    },
    {
      why: 'reads retryDelay from a Gemini error wrapped in an array',
      headers: undefined,
      body: `[${GEMINI_RESOURCE_EXHAUSTED}]`,
      expected: 52_000,
    },
    {
      why: 'reads retryDelay from a truncated body',
      headers: undefined,
      body: GEMINI_RESOURCE_EXHAUSTED.slice(0, GEMINI_RESOURCE_EXHAUSTED.indexOf('52s') + 4),
      expected: 52_000,
    },
    {
      why: 'gives null for a body truncated before retryDelay',
      headers: undefined,
      body: GEMINI_RESOURCE_EXHAUSTED.slice(0, GEMINI_RESOURCE_EXHAUSTED.indexOf('RetryInfo')),
      expected: null,
    },
    {
      why: 'ignores a retryDelay outside a RetryInfo detail',
      headers: undefined,
      body: '{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.Help","retryDelay":"9s"}]}}',
      expected: null,
    },
    {
      why: 'gives null for a non-JSON body',
      headers: undefined,
      body: '<html><body>429 Too Many Requests</body></html>',
      expected: null,
    },
    { why: 'gives null when nothing says how long', headers: undefined, body: undefined, expected: null },
  ])('$why', ({ headers, body, expected }) => {
    // Act
    const waitMs = retryAfterFromResponse(headers, body, NOW);

    // Assess
    expect(waitMs).toBe(expected);
  });
});
