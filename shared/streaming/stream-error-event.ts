import { type ApiFormat, apiErrorBody } from '../http/api-errors';

/**
 * The SSE text (ending in a blank line) that makes the client's official SDK raise an error mid-stream, sent when an
 * upstream fails after the first byte (SPEC §2, §4.1). `status` is the HTTP-like status the error reports (4xx/5xx).
 * Send it at an event boundary: appended to a half-sent event it would merge into that event.
 *
 * - openai: `data: {"error":{...}}` — openai `src/core/streaming.ts` throws `APIError` for data with a truthy `error`.
 * - anthropic: `event: error` — `@anthropic-ai/sdk` `src/core/streaming.ts` throws `APIError` for that event name.
 * - gemini: `data: {"error":{"code":<4xx|5xx>,...}}` — `@google/genai` `throwIfStreamErrorChunk` throws `ApiError`
 *   only when `error.code` is a number in 400–599.
 */
export function streamErrorEvent(format: ApiFormat, message: string, status = 502): string {
  // Gemini's SDK ignores an error chunk whose code is not 4xx/5xx, so never emit one.
  const code = Number.isInteger(status) && status >= 400 && status < 600 ? status : 502;
  const body = apiErrorBody(format, code, message, format === 'openai' ? 'upstream_stream_failure' : null);
  return format === 'anthropic' ? `event: error\ndata: ${body}\n\n` : `data: ${body}\n\n`;
}
