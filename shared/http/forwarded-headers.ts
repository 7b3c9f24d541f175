/** Request headers never forwarded upstream: hop-by-hop, client credentials, and infrastructure headers. */
const DROPPED_REQUEST = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'authorization',
  'x-api-key',
  'x-goog-api-key',
  'cookie',
  'accept-encoding',
  'via',
  'forwarded',
  'x-session-id',
  // Undici refuses it, and a proxy answers 100-continue itself.
  'expect',
  // These choose which organization or project the gateway's provider key bills: not the client's to pick.
  'openai-organization',
  'openai-project',
  'x-goog-user-project',
]);
const DROPPED_REQUEST_PREFIXES = ['x-forwarded-', 'x-amzn-', 'x-amz-', 'cloudfront-', 'x-gateway-'];

/** Response headers never returned to the client: hop-by-hop and body-encoding headers fetch has undone. */
const DROPPED_RESPONSE = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'set-cookie',
]);

/** The client's request headers that go upstream unchanged (lower-case names). */
export function forwardableRequestHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (DROPPED_REQUEST.has(lower) || DROPPED_REQUEST_PREFIXES.some((p) => lower.startsWith(p))) continue;
    out[lower] = value;
  }
  return out;
}

/** The upstream's response headers that go back to the client. */
export function forwardableResponseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!DROPPED_RESPONSE.has(name.toLowerCase())) out[name.toLowerCase()] = value;
  }
  return out;
}
