import type { ApiFormat } from '../../shared/http/api-errors';
import { streamErrorEvent } from '../../shared/streaming/stream-error-event';
import { createStreamWatcher, type StreamWatcher } from '../../shared/streaming/stream-watcher';

const utf8 = new TextEncoder();

/** One SSE event per entry; `event` adds an `event:` line. Gemini's API ends its events with CRLF, the others LF. */
function sse(events: { event?: string; data: unknown }[], eol = '\n'): string {
  return events
    .map(({ event, data }) => {
      const text = typeof data === 'string' ? data : JSON.stringify(data);
      return `${event ? `event: ${event}${eol}` : ''}data: ${text}${eol}${eol}`;
    })
    .join('');
}

// A real-shaped Chat Completions stream: role chunk, content chunks (with multi-byte text), finish chunk, [DONE].
const openAiChunk = (delta: object, finish: string | null = null) => ({
  id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
  object: 'chat.completion.chunk',
  created: 1741569952,
  model: 'gpt-4o-2024-08-06',
  service_tier: 'default',
  system_fingerprint: 'fp_fc9f1d7035',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
});
const OPENAI_BODY = [
  openAiChunk({ role: 'assistant', content: '', refusal: null }),
  openAiChunk({ content: 'Héllo' }),
  openAiChunk({ content: ' 👋 wörld — 你好' }),
  openAiChunk({}, 'stop'),
];
const OPENAI_COMPLETE = sse([...OPENAI_BODY.map((data) => ({ data })), { data: '[DONE]' }]);
const OPENAI_ERROR = {
  error: {
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    param: null,
    code: null,
  },
};

// A real-shaped Messages stream, including the `ping` Anthropic sends between events.
const ANTHROPIC_BODY = [
  {
    event: 'message_start',
    data: {
      type: 'message_start',
      message: {
        id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude-sonnet-4-20250514',
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 25, output_tokens: 1 },
      },
    },
  },
  {
    event: 'content_block_start',
    data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  },
  { event: 'ping', data: { type: 'ping' } },
  {
    event: 'content_block_delta',
    data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Héllo' } },
  },
  {
    event: 'content_block_delta',
    data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' 👋 wörld — 你好' } },
  },
  { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
  {
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 15 },
    },
  },
];
const ANTHROPIC_COMPLETE = sse([...ANTHROPIC_BODY, { event: 'message_stop', data: { type: 'message_stop' } }]);
const ANTHROPIC_OVERLOADED = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };

// A real-shaped streamGenerateContent?alt=sse stream: the last chunk carries finishReason and the full usage.
const geminiChunk = (text: string, last = false) => ({
  candidates: [{ content: { parts: [{ text }], role: 'model' }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 }],
  usageMetadata: last
    ? {
        promptTokenCount: 2,
        candidatesTokenCount: 12,
        totalTokenCount: 14,
        promptTokensDetails: [{ modality: 'TEXT', tokenCount: 2 }],
      }
    : { promptTokenCount: 2, totalTokenCount: 2 },
  modelVersion: 'gemini-2.0-flash',
  responseId: 'mWTSaPGbL8KRqtsPx9DZ2Qc',
});
const GEMINI_BODY = [geminiChunk('Héllo'), geminiChunk(' 👋 wörld')];
const GEMINI_COMPLETE = sse(
  [...GEMINI_BODY, geminiChunk(' — 你好', true)].map((data) => ({ data })),
  '\r\n',
);
const GEMINI_UNAVAILABLE = {
  error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' },
};

const TRANSCRIPTS: Record<
  ApiFormat,
  { complete: string; events: number; body: string; error: string; errorMessage: string }
> = {
  openai: {
    complete: OPENAI_COMPLETE,
    events: 5,
    body: sse(OPENAI_BODY.map((data) => ({ data }))),
    error: sse([{ data: OPENAI_ERROR }]),
    errorMessage: OPENAI_ERROR.error.message,
  },
  anthropic: {
    complete: ANTHROPIC_COMPLETE,
    events: 8,
    body: sse(ANTHROPIC_BODY),
    error: sse([{ event: 'error', data: ANTHROPIC_OVERLOADED }]),
    errorMessage: 'Overloaded',
  },
  gemini: {
    complete: GEMINI_COMPLETE,
    events: 3,
    body: sse(
      GEMINI_BODY.map((data) => ({ data })),
      '\r\n',
    ),
    error: sse([{ data: GEMINI_UNAVAILABLE }], '\r\n'),
    errorMessage: GEMINI_UNAVAILABLE.error.message,
  },
};
const FORMATS = Object.keys(TRANSCRIPTS) as ApiFormat[];

/** Feeds the bytes in pieces of the given sizes (cycled), as a network would deliver them. */
function watch(format: ApiFormat, input: string | Uint8Array, pieceSizes: number[] = [Number.MAX_SAFE_INTEGER]) {
  const bytes = typeof input === 'string' ? utf8.encode(input) : input;
  const watcher = createStreamWatcher(format);
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = pieceSizes[i % pieceSizes.length];
    watcher.push(bytes.subarray(at, at + size));
    at += size;
  }
  return watcher;
}

const state = (w: StreamWatcher) => ({ complete: w.complete, error: w.error, events: w.events });

describe.each(FORMATS)('a %s stream watcher', (format) => {
  const t = TRANSCRIPTS[format];

  it('sees a whole stream as complete, with no error, counting every event', () => {
    const w = watch(format, t.complete);

    expect(state(w)).toEqual({ complete: true, error: null, events: t.events });
  });

  it('does not see the stream as complete when it is cut anywhere before the end of its terminal event', () => {
    const bytes = utf8.encode(t.complete);
    const completeAt: number[] = [];

    for (let cut = 0; cut <= bytes.length; cut++) {
      if (watch(format, bytes.subarray(0, cut)).complete) completeAt.push(cut);
    }

    expect(completeAt).toEqual([bytes.length]);
  });

  it('does not see the stream as complete when it stops cleanly before its terminal event', () => {
    const w = watch(format, t.body);

    expect(state(w)).toEqual({ complete: false, error: null, events: t.events - 1 });
  });

  it('reports an error event after some content with its message and data, and no completion', () => {
    const w = watch(format, t.body + t.error);

    expect(w.complete).toBe(false);
    expect(w.events).toBe(t.events);
    expect(w.error?.message).toBe(t.errorMessage);
    expect(JSON.parse(w.error?.snippet ?? '')).toEqual(JSON.parse(t.error.split('data: ')[1]));
  });

  it("reports the gateway's own error event (streamErrorEvent) with its message", () => {
    const w = watch(format, t.body + streamErrorEvent(format, 'upstream cut'));

    expect(w.error?.message).toBe('upstream cut');
    expect(w.complete).toBe(false);
  });

  it('keeps the first error when several arrive', () => {
    const w = watch(format, t.error + streamErrorEvent(format, 'second'));

    expect(w.error?.message).toBe(t.errorMessage);
  });

  it('gives the same result fed byte by byte, in odd-sized pieces, or in one chunk', () => {
    for (const input of [t.complete, t.body + t.error, t.body]) {
      const whole = state(watch(format, input));

      expect(state(watch(format, input, [1]))).toEqual(whole);
      expect(state(watch(format, input, [3, 1, 7, 2, 64, 5]))).toEqual(whole);
    }
  });

  it('keeps multi-byte characters split across chunks intact', () => {
    const message = 'échec — 上游 👋 überlastet';
    const text = t.body + streamErrorEvent(format, message);
    // Split two bytes into the 4-byte emoji of the error message, then feed a byte at a time for a while.
    const insideEmoji = utf8.encode(text.slice(0, text.lastIndexOf('👋'))).length + 2;

    for (const sizes of [[1], [insideEmoji, 1, 1, 1]]) {
      expect(watch(format, text, sizes).error?.message).toBe(message);
    }
  });

  it.each([
    ['random bytes', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)],
    ['invalid UTF-8', Uint8Array.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0x0a, 0x0a, 0xf0, 0x9f, 0x0a, 0x0a])],
    ['lone CRs and odd fields', utf8.encode('\r\r\r:comment\rretry: x\rid: 1\rfoo: bar\r\r\n\n\r')],
    ['non-JSON data', utf8.encode('data: {"error":\n\ndata: {\n\nevent: error\ndata: \n\n')],
    ['JSON that is not an object', utf8.encode('data: null\n\ndata: 42\n\ndata: []\n\ndata: "error"\n\n')],
    ['odd shapes', utf8.encode('data: {"candidates":null,"error":[1]}\n\ndata: {"candidates":[null,1,{}]}\n\n')],
    ['a BOM and a huge unterminated line', utf8.encode(`\uFEFFdata: ${'x'.repeat(200_000)}`)],
  ])('never throws on %s', (_name, bytes) => {
    expect(() => {
      const w = watch(format, bytes, [1, 2, 3, 5, 8, 13]);
      void w.complete;
      void w.error;
    }).not.toThrow();
  });

  it('still sees the end after an event too large to buffer', () => {
    const w = createStreamWatcher(format);
    const megabyte = utf8.encode('y'.repeat(1024 * 1024));

    w.push(utf8.encode('data: '));
    for (let i = 0; i < 17; i++) w.push(megabyte);
    w.push(utf8.encode(`\n\n${t.complete}`));

    expect(w.complete).toBe(true);
  });
});

describe('format-specific details', () => {
  it('openai: an explicit `"error": null` is not an error (the SDK ignores it too)', () => {
    const w = watch('openai', sse([{ data: { ...openAiChunk({ content: 'x' }), error: null } }]));

    expect(w.error).toBeNull();
  });

  it('openai: [DONE] without the blank line that ends the event is not yet complete', () => {
    expect(watch('openai', 'data: [DONE]\n').complete).toBe(false);
    expect(watch('openai', 'data: [DONE]\n\n').complete).toBe(true);
  });

  it('anthropic: an event without an `event:` name is not message_stop (the SDK skips nameless events)', () => {
    const w = watch('anthropic', sse([{ data: { type: 'message_stop' } }]));

    expect(w.complete).toBe(false);
  });

  it('anthropic: the snippet of an overloaded error names `overloaded_error` for the classifier', () => {
    const w = watch('anthropic', TRANSCRIPTS.anthropic.error);

    expect(w.error?.snippet).toContain('overloaded_error');
  });

  it('anthropic: an error event whose data is not JSON reports its raw text', () => {
    const w = watch('anthropic', 'event: error\ndata: upstream exploded\n\n');

    expect(w.error).toEqual({ message: 'upstream exploded', snippet: 'upstream exploded' });
  });

  it('gemini: a prompt blocked before any candidate (promptFeedback.blockReason) is a proper end', () => {
    const w = watch('gemini', sse([{ data: { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: {} } }]));

    expect(w.complete).toBe(true);
  });

  it('gemini: a finishReason on any candidate ends the stream', () => {
    const data = { candidates: [{ index: 0 }, { index: 1, finishReason: 'MAX_TOKENS' }] };

    expect(watch('gemini', sse([{ data }])).complete).toBe(true);
  });

  it('cuts the snippet of a huge error to 4 KB of UTF-8 without splitting a character', () => {
    const message = '€'.repeat(10_000);
    const w = watch('openai', streamErrorEvent('openai', message));

    const snippetBytes = utf8.encode(w.error?.snippet).length;
    expect(snippetBytes).toBeLessThanOrEqual(4096);
    expect(snippetBytes).toBeGreaterThan(4090);
    expect(w.error?.snippet).not.toContain('\uFFFD');
    expect(w.error?.message.length).toBeLessThanOrEqual(4096);
  });
});
