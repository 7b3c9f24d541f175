import type { Readable } from 'node:stream';
import { networkErrorKind } from '../resilience/classify';
import type { AttemptLimits, AttemptResult } from '../resilience/failover-loop';
import type { UpstreamObservation } from '../resilience/outcome';
import { RelayStream, type StreamFailure } from '../streaming/relay-stream';
import { createStreamWatcher } from '../streaming/stream-watcher';
import type { ApiFormat } from './api-errors';

/** A request to send to one upstream instance. */
export interface UpstreamRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** The API format of the exchange (for stream parsing and error events). */
  format: ApiFormat;
  /** Records a failure that happens after the first byte reached the client. */
  onStreamFailure?: (failure: StreamFailure) => Promise<void>;
  /** The instance's own time limit for the whole attempt (epoch ms); past it the instance is at fault. */
  instanceDeadline?: number;
}

/** The upstream's answer: a live body stream for 2xx, the (small) error body as text otherwise. */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string>;
  body: Readable | string;
}

/** Error bodies are read up to this many bytes: enough to classify, never a memory risk. */
const ERROR_BODY_LIMIT = 64 * 1024;
const SNIPPET_LIMIT = 4096;
const FIRST_BYTE_TIMEOUT = 'first_byte_timeout';
/** The request's overall budget ran out: the gateway's limit, not the instance's fault. */
const REQUEST_DEADLINE = 'request_deadline';
const INSTANCE_TIMEOUT = 'instance_timeout';

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

/** The HTTP status an error event inside a 200 stream stands for (its `code`, else 502). */
function statusOfStreamError(snippet: string): number {
  const code = Number(/"code"\s*:\s*(\d{3})/.exec(snippet)?.[1]);
  return code >= 400 && code < 600 ? code : 502;
}

/** A short hint from an error body (its error type or code), never its full text. */
function errorSummary(text: string): string {
  const match = /"(?:type|code|status)"\s*:\s*"([A-Za-z0-9_.-]{1,60})"/.exec(text);
  return match ? ` ${match[1]}` : '';
}

function failure(
  kind: UpstreamObservation['networkError'],
  firstByteTimeoutMs: number,
): AttemptResult<UpstreamResponse> {
  const detail = kind === 'first_byte_timeout' ? `no first byte within ${firstByteTimeoutMs} ms` : kind;
  return { observation: { networkError: kind }, response: null, message: `upstream unreachable: ${detail}` };
}

/**
 * Sends one attempt. Waits for the first byte of the body (bounded by the first-byte timeout) before declaring the
 * attempt answered, so an upstream that dies, hangs or opens its stream with an error event can still be failed over.
 * Never throws; network failures come back as observations.
 */
export async function sendUpstream(
  request: UpstreamRequest,
  limits: AttemptLimits,
  now: () => number = Date.now,
): Promise<AttemptResult<UpstreamResponse>> {
  const controller = new AbortController();
  let firstByteTimer = setTimeout(() => controller.abort(FIRST_BYTE_TIMEOUT), limits.firstByteTimeoutMs);
  const deadlineTimer = setTimeout(() => controller.abort(REQUEST_DEADLINE), Math.max(1, limits.deadline - now()));
  const instanceTimer =
    request.instanceDeadline !== undefined && request.instanceDeadline < limits.deadline
      ? setTimeout(() => controller.abort(INSTANCE_TIMEOUT), Math.max(1, request.instanceDeadline - now()))
      : undefined;
  const cleanup = () => {
    clearTimeout(firstByteTimer);
    clearTimeout(deadlineTimer);
    clearTimeout(instanceTimer);
  };
  const kindOf = (error: unknown) =>
    controller.signal.reason === FIRST_BYTE_TIMEOUT ? 'first_byte_timeout' : networkErrorKind(error);

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
    return failure(kindOf(error), limits.firstByteTimeoutMs);
  }
  const headers = headersOf(response);

  if (response.status < 200 || response.status >= 300) {
    // An error body that stalls must not eat the request's budget: it gets the first-byte timeout again.
    clearTimeout(firstByteTimer);
    firstByteTimer = setTimeout(() => controller.abort(FIRST_BYTE_TIMEOUT), limits.firstByteTimeoutMs);
    let text = '';
    try {
      text = await readLimited(response);
    } catch {
      // A body cut short still leaves the status to classify.
    }
    cleanup();
    return {
      observation: { status: response.status, headers, bodySnippet: text.slice(0, SNIPPET_LIMIT) },
      response: { status: response.status, headers, body: text },
      message: `HTTP ${response.status}${errorSummary(text)}`,
    };
  }

  // A bodiless answer (204, 205) is an empty, already-finished body, not a stream that never ends.
  const source =
    response.body ??
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.close();
      },
    });
  const reader = source.getReader();
  let first: Awaited<ReturnType<typeof reader.read>>;
  try {
    first = await reader.read();
  } catch (error) {
    cleanup();
    return failure(kindOf(error), limits.firstByteTimeoutMs);
  }
  clearTimeout(firstByteTimer);

  const sse = (headers['content-type'] ?? '').includes('text/event-stream');
  const watcher = sse ? createStreamWatcher(request.format) : null;
  if (watcher && first.value) watcher.push(first.value);
  if (watcher?.error) {
    // The stream opened with an error event: nothing reached the client yet, so this attempt can fail over.
    reader.cancel().catch(() => {});
    cleanup();
    const snippet = watcher.error.snippet.slice(0, SNIPPET_LIMIT);
    const status = statusOfStreamError(snippet);
    return {
      observation: { status, headers, bodySnippet: snippet },
      response: { status, headers, body: snippet },
      message: `stream opened with an error event${errorSummary(snippet)}`,
    };
  }

  const body = new RelayStream(first.done ? null : first.value, reader, {
    format: request.format,
    watcher,
    abort: (reason) => controller.abort(reason),
    onFailure: request.onStreamFailure ?? (async () => {}),
    abortReason: () => controller.signal.reason,
    cleanup,
  });
  return {
    observation: { status: response.status, headers },
    response: { status: response.status, headers, body },
    message: `HTTP ${response.status}`,
  };
}
