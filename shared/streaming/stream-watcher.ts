import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { ApiFormat } from '../http/api-errors';

/** Watches an SSE body as it passes through to the client: did it end properly, did it carry an error event? */
export interface StreamWatcher {
  /** Feed raw bytes of the SSE body as they pass through (chunks may split events and UTF-8 sequences anywhere). */
  push(chunk: Uint8Array): void;
  /** True once the format's proper end was seen: openai `data: [DONE]`; anthropic `event: message_stop`; gemini a data chunk whose candidates[*].finishReason is set. */
  readonly complete: boolean;
  /** The first error event seen, if any: openai a data JSON with top-level `error`; anthropic `event: error` (data {type:'error',error:{type,message}}); gemini a data JSON with top-level `error` ({code,message,status}). `snippet` is the event's data text (≤ 4 KB) so the caller can classify it (e.g. overloaded_error). */
  readonly error: { message: string; snippet: string } | null;
  /** Number of SSE events seen so far. */
  readonly events: number;
}

/** The most an error snippet holds, in UTF-8 bytes. */
const SNIPPET_BYTES = 4096;
/**
 * The most the parser buffers for one unfinished event, in characters. Past it the event is dropped and parsing
 * resumes at the next event, so a huge or endless line costs bounded memory and cannot hide a later end marker.
 */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/** What one SSE event means in a format: the stream's proper end, an error (its message), or neither. */
type EventMeaning = { kind: 'end' } | { kind: 'error'; message: string } | { kind: 'other' };
const END: EventMeaning = { kind: 'end' };
const OTHER: EventMeaning = { kind: 'other' };

/** How each format marks its end and its errors, read from one parsed SSE event (mirrors each official SDK). */
const EVENT_READERS: Record<ApiFormat, (event: EventSourceMessage) => EventMeaning> = {
  // openai/src/core/streaming.ts: `[DONE]` ends the stream; any data whose `error` is truthy raises APIError.
  openai: (event) => {
    if (event.data.startsWith('[DONE]')) return END;
    const error = parseObject(event.data)?.error;
    return error ? { kind: 'error', message: messageOf(error, event.data) } : OTHER;
  },
  // @anthropic-ai/sdk/src/core/streaming.ts: only the event name matters (`event: error` raises APIError).
  anthropic: (event) => {
    if (event.event === 'message_stop') return END;
    if (event.event !== 'error') return OTHER;
    return { kind: 'error', message: messageOf(parseObject(event.data)?.error, event.data) };
  },
  // Gemini has no end event: the last chunk carries a candidate's finishReason (or a prompt-level blockReason).
  gemini: (event) => {
    const chunk = parseObject(event.data);
    if (!chunk) return OTHER;
    if (isObject(chunk.error)) return { kind: 'error', message: messageOf(chunk.error, event.data) };
    const finished =
      (Array.isArray(chunk.candidates) && chunk.candidates.some((c) => isObject(c) && Boolean(c.finishReason))) ||
      (isObject(chunk.promptFeedback) && Boolean(chunk.promptFeedback.blockReason));
    return finished ? END : OTHER;
  },
};

/** Creates a watcher for an SSE body in the given API format. It never throws, whatever bytes it is fed. */
export function createStreamWatcher(format: ApiFormat): StreamWatcher {
  const read = EVENT_READERS[format];
  const decoder = new TextDecoder('utf-8');
  let complete = false;
  let error: StreamWatcher['error'] = null;
  let events = 0;
  let overflowed = false;

  const parser = createParser({
    maxBufferSize: MAX_EVENT_CHARS,
    onEvent(event) {
      events++;
      const meaning = safely(() => read(event), OTHER);
      if (meaning.kind === 'end') complete = true;
      else if (meaning.kind === 'error' && !error) error = { message: meaning.message, snippet: snippet(event.data) };
    },
    onError(parseError) {
      // Unknown fields and bad `retry:` values are ignored, as browsers do; an overflow needs a reset.
      if (parseError.type === 'max-buffer-size-exceeded') overflowed = true;
    },
  });

  return {
    push(chunk) {
      safely(() => {
        if (overflowed) {
          parser.reset();
          overflowed = false;
        }
        parser.feed(decoder.decode(chunk, { stream: true }));
      }, undefined);
    },
    get complete() {
      return complete;
    },
    get error() {
      return error;
    },
    get events() {
      return events;
    },
  };
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseObject(text: string): JsonObject | null {
  const value = safely(() => JSON.parse(text) as unknown, null);
  return isObject(value) ? value : null;
}

/** The human message of an error (`error.message`, or the error itself when a string), else the raw event text. */
function messageOf(error: unknown, raw: string): string {
  if (typeof error === 'string' && error) return snippet(error);
  if (isObject(error) && typeof error.message === 'string' && error.message) return snippet(error.message);
  return snippet(raw);
}

/** The text cut to at most SNIPPET_BYTES of UTF-8, never splitting a character. */
function snippet(text: string): string {
  if (text.length <= SNIPPET_BYTES / 3) return text;
  const bytes = new Uint8Array(SNIPPET_BYTES);
  const { read } = new TextEncoder().encodeInto(text, bytes);
  return text.slice(0, read);
}

function safely<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
