import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { networkErrorKind } from '../resilience/classify';
import type { AttemptLimits, AttemptResult } from '../resilience/failover-loop';

/** A request to send to one upstream instance. */
export interface UpstreamRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Aborts the attempt when the client goes away. */
  signal?: AbortSignal;
}

/** The upstream's answer: a live body stream for 2xx, the (small) error body as text otherwise. */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string>;
  body: Readable | string;
}

/** Error bodies are read up to this many bytes: enough to classify, never a memory risk. */
const ERROR_BODY_LIMIT = 64 * 1024;

const FIRST_BYTE_TIMEOUT = 'first_byte_timeout';

function headersOf(response: Response): Record<string, string> {
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

async function readLimited(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < ERROR_BODY_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, ERROR_BODY_LIMIT);
}

/**
 * Sends one attempt with fetch: aborts if no response head arrives within the first-byte timeout, or when the
 * deadline passes (body included). Never throws; network failures come back classified-ready.
 */
export async function sendUpstream(
  request: UpstreamRequest,
  limits: AttemptLimits,
  now: () => number = Date.now,
): Promise<AttemptResult<UpstreamResponse>> {
  const controller = new AbortController();
  const abortFromClient = () => controller.abort(request.signal?.reason);
  request.signal?.addEventListener('abort', abortFromClient, { once: true });
  const firstByteTimer = setTimeout(() => controller.abort(FIRST_BYTE_TIMEOUT), limits.firstByteTimeoutMs);
  const deadlineTimer = setTimeout(() => controller.abort('deadline'), Math.max(1, limits.deadline - now()));
  const cleanup = () => {
    clearTimeout(firstByteTimer);
    clearTimeout(deadlineTimer);
    request.signal?.removeEventListener('abort', abortFromClient);
  };
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
    });
  } catch (error) {
    cleanup();
    const kind = controller.signal.reason === FIRST_BYTE_TIMEOUT ? 'first_byte_timeout' : networkErrorKind(error);
    const detail = kind === 'first_byte_timeout' ? `no response within ${limits.firstByteTimeoutMs} ms` : kind;
    return { observation: { networkError: kind }, response: null, message: `upstream unreachable: ${detail}` };
  }
  clearTimeout(firstByteTimer);
  const headers = headersOf(response);
  if (response.status >= 200 && response.status < 300) {
    const body = response.body
      ? Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>)
      : Readable.from([]);
    body.once('close', cleanup);
    return {
      observation: { status: response.status, headers },
      response: { status: response.status, headers, body },
      message: `HTTP ${response.status}`,
    };
  }
  let text = '';
  try {
    text = await readLimited(response);
  } catch {
    // A body cut short still leaves the status to classify.
  }
  cleanup();
  return {
    observation: { status: response.status, headers, bodySnippet: text.slice(0, 4096) },
    response: { status: response.status, headers, body: text },
    message: `HTTP ${response.status}${errorSummary(text)}`,
  };
}

/** A short hint from an error body (its error type or code), never its full text. */
function errorSummary(text: string): string {
  const match = /"(?:type|code|status)"\s*:\s*"([A-Za-z0-9_.-]{1,60})"/.exec(text);
  return match ? ` ${match[1]}` : '';
}
