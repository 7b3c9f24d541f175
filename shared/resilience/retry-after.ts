/**
 * How long an upstream asks us to wait before trying it again, read from `retry-after-ms`, `Retry-After` or a
 * Gemini `RetryInfo.retryDelay` (SPEC §4.1, 429 row). Pure: the clock is a parameter.
 */

const DECIMAL_SECONDS = /^\d+(?:\.\d+)?$/;
const GOOGLE_DURATION = /^(\d+(?:\.\d+)?)s$/;
// IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT") and obsolete RFC 850 ("Wednesday, 21-Oct-15 07:28:00 GMT").
const IMF_OR_RFC850_DATE = /^[A-Za-z]{3,9}, \d{1,2}[ -][A-Za-z]{3}[ -]\d{2,4} \d{2}:\d{2}:\d{2} (?:GMT|UTC)$/;
// asctime ("Wed Oct 21 07:28:00 2015"), which has no zone and is GMT by definition.
const ASCTIME_DATE = /^[A-Za-z]{3} [A-Za-z]{3} {1,2}\d{1,2} \d{2}:\d{2}:\d{2} \d{4}$/;
// For bodies cut off before the JSON closes; Gemini durations are always in seconds.
const RETRY_DELAY_FALLBACK = /"retryDelay"\s*:\s*"([\d.]+)s"/;
const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * Parses a `Retry-After` header value: delta-seconds (decimals allowed, e.g. "1.5") or an HTTP-date.
 * Returns ms to wait from `now` (epoch ms); a date in the past gives 0; anything unparseable gives null.
 */
export function parseRetryAfterHeader(value: string, now: number): number | null {
  const trimmed = value.trim();
  if (DECIMAL_SECONDS.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = parseHttpDate(trimmed);
  return at === null ? null : Math.max(0, at - now);
}

/** Parses the `retry-after-ms` header (OpenAI, Azure OpenAI): non-negative milliseconds, decimals rounded up. */
export function parseRetryAfterMsHeader(value: string): number | null {
  const trimmed = value.trim();
  return DECIMAL_SECONDS.test(trimmed) ? Math.ceil(Number(trimmed)) : null;
}

/** Parses a google.protobuf.Duration in its JSON form ("52s", "1.5s", "0.250s") into ms; null if malformed. */
export function parseGoogleDuration(value: string): number | null {
  const match = GOOGLE_DURATION.exec(value.trim());
  return match ? Math.round(Number(match[1]) * 1000) : null;
}

/**
 * The wait (ms) an upstream response asks for, from the first usable source in order: `retry-after-ms` header,
 * `retry-after` header, Gemini body `error.details[].retryDelay`. Header names are lower-case; `now` is epoch ms.
 */
export function retryAfterFromResponse(
  headers: Record<string, string> | undefined,
  bodySnippet: string | undefined,
  now: number,
): number | null {
  const msHeader = headers?.['retry-after-ms'];
  const fromMsHeader = msHeader === undefined ? null : parseRetryAfterMsHeader(msHeader);
  if (fromMsHeader !== null) return fromMsHeader;
  const header = headers?.['retry-after'];
  const fromHeader = header === undefined ? null : parseRetryAfterHeader(header, now);
  if (fromHeader !== null) return fromHeader;
  return bodySnippet === undefined ? null : retryDelayFromGoogleBody(bodySnippet);
}

/**
 * Reads `retryDelay` (ms) from a Google RPC error body's RetryInfo detail. Tolerates non-JSON and truncated bodies
 * by falling back to a regex.
 */
export function retryDelayFromGoogleBody(body: string): number | null {
  const parsed = tryParseJson(body);
  if (parsed === undefined) {
    const match = RETRY_DELAY_FALLBACK.exec(body);
    return match ? parseGoogleDuration(`${match[1]}s`) : null;
  }
  // Gemini's non-SSE streaming endpoint wraps the error object in an array.
  const root = Array.isArray(parsed) ? parsed[0] : parsed;
  const details = field(field(root, 'error'), 'details');
  if (!Array.isArray(details)) return null;
  for (const detail of details) {
    const delay = field(detail, 'retryDelay');
    if (field(detail, '@type') === RETRY_INFO_TYPE && typeof delay === 'string') return parseGoogleDuration(delay);
  }
  return null;
}

/** An HTTP-date (RFC 9110 §5.6.7, all three forms) as epoch ms, or null. */
function parseHttpDate(value: string): number | null {
  let text: string;
  if (IMF_OR_RFC850_DATE.test(value)) text = value;
  else if (ASCTIME_DATE.test(value)) text = `${value} GMT`;
  else return null;
  const at = Date.parse(text);
  return Number.isFinite(at) ? at : null;
}

/** JSON.parse that answers undefined instead of throwing. */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Reads one property of an unknown value, or undefined when it is not an object. */
export function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}
