import type { Classification, NetworkErrorKind, OutcomeClass, UpstreamObservation } from './outcome';
import { field, retryAfterFromResponse, tryParseJson } from './retry-after';

// Fallbacks for bodies that are truncated or not JSON (e.g. an SSE `event: error` frame).
const INSUFFICIENT_QUOTA = /"(?:code|type)"\s*:\s*"insufficient_quota"/;
const OVERLOADED_ERROR = /"type"\s*:\s*"overloaded_error"/;

/**
 * Classifies one upstream attempt per SPEC §4.1. `now` (epoch ms) resolves an HTTP-date `Retry-After`;
 * `retryAfterMs` is set only for rate_limited and transient outcomes.
 */
export function classifyOutcome(obs: UpstreamObservation, now: number): Classification {
  if (obs.afterFirstByte) return verdict('stream_failure');
  if (obs.networkError !== undefined || obs.status === undefined) return verdict('instance_failure');
  const { status, headers, bodySnippet } = obs;
  if (status >= 200 && status < 300) return verdict('success');
  if (status === 401 || status === 403) return verdict('auth');
  // Checked before 429: an exhausted quota does not come back after Retry-After, so it is a credentials problem.
  if (isInsufficientQuota(bodySnippet)) return verdict('auth');
  if (status === 429) return verdict('rate_limited', retryAfterFromResponse(headers, bodySnippet, now));
  if (status === 503 || status === 529 || isOverloaded(bodySnippet)) {
    return verdict('transient', retryAfterFromResponse(headers, bodySnippet, now));
  }
  // 408 is a timeout at the upstream, not a fault in the request.
  if (status >= 400 && status < 500 && status !== 408) return verdict('business_error');
  return verdict('instance_failure');
}

/**
 * Maps an error thrown by Node's fetch (undici) to a network error kind, looking at the error and its `cause`
 * chain. A timeout abort gives 'timeout'; the caller upgrades it to 'first_byte_timeout' when that is what it was.
 */
export function networkErrorKind(err: unknown): NetworkErrorKind {
  let current: unknown = err;
  // A few levels cover undici's `TypeError('fetch failed', { cause })` and any wrapper around it.
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const kind = kindFromName(field(current, 'name')) ?? kindFromCode(field(current, 'code'));
    if (kind !== null) return kind;
    current = field(current, 'cause');
  }
  return 'other';
}

/** The kind named by an error's `name`, if it names one. */
function kindFromName(name: unknown): NetworkErrorKind | null {
  return name === 'AbortError' || name === 'TimeoutError' ? 'timeout' : null;
}

/** The kind named by a Node/undici/OpenSSL error `code`, if it names one. */
function kindFromCode(code: unknown): NetworkErrorKind | null {
  if (typeof code !== 'string') return null;
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    case 'ETIMEDOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout';
  }
  return isTlsCode(code) ? 'tls' : null;
}

/** True for Node TLS errors and OpenSSL certificate verification codes. */
function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT') ||
    code.includes('SELF_SIGNED') ||
    // The one OpenSSL verification code that names neither CERT nor SELF_SIGNED.
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  );
}

/** True when an OpenAI error body says the account's quota is used up (`error.code` or `error.type`). */
function isInsufficientQuota(body: string | undefined): boolean {
  if (body === undefined) return false;
  const parsed = tryParseJson(body);
  if (parsed === undefined) return INSUFFICIENT_QUOTA.test(body);
  const error = field(parsed, 'error');
  return field(error, 'code') === 'insufficient_quota' || field(error, 'type') === 'insufficient_quota';
}

/** True when an Anthropic error body says the API is overloaded (`error.type` is `overloaded_error`). */
function isOverloaded(body: string | undefined): boolean {
  if (body === undefined) return false;
  const parsed = tryParseJson(body);
  if (parsed === undefined) return OVERLOADED_ERROR.test(body);
  return field(field(parsed, 'error'), 'type') === 'overloaded_error';
}

/** A classification; the wait defaults to none. */
function verdict(cls: OutcomeClass, retryAfterMs: number | null = null): Classification {
  return { class: cls, retryAfterMs };
}
