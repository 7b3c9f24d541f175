import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic, { APIError as AnthropicApiError, AnthropicError } from '@anthropic-ai/sdk';
import { ApiError as GenAiApiError, GoogleGenAI } from '@google/genai';
import OpenAI, { APIError as OpenAiApiError } from 'openai';
import type { ApiFormat } from '../../shared/http/api-errors';
import { streamErrorEvent } from '../../shared/streaming/stream-error-event';

// Proves that the event the gateway sends when an upstream fails mid-stream (SPEC §2) makes each official SDK raise,
// after delivering what came before it — and that without it, a cut stream ends silently.

/** The valid events each fake upstream sends before the error event. */
const PRELUDE: Record<ApiFormat, string> = {
  openai: [{ role: 'assistant', content: '' }, { content: 'Hello' }]
    .map(
      (delta) =>
        `data: ${JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion.chunk',
          created: 1741569952,
          model: 'gpt-4o-mini',
          choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
        })}\n\n`,
    )
    .join(''),
  anthropic:
    `event: message_start\ndata: ${JSON.stringify({
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude-sonnet-4-20250514',
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 5, output_tokens: 1 },
      },
    })}\n\n` +
    `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n` +
    `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } })}\n\n`,
  gemini: `data: ${JSON.stringify({
    candidates: [{ content: { parts: [{ text: 'Hello' }], role: 'model' }, index: 0 }],
    usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 },
    modelVersion: 'gemini-2.0-flash',
  })}\r\n\r\n`,
};

interface Upstream {
  url: string;
  requests: { method?: string; url?: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A fake upstream answering any path with 200 `text/event-stream`: the prelude, then `tail`, then the end. */
async function fakeUpstream(format: ApiFormat, tail: string): Promise<Upstream> {
  const requests: Upstream['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      // Separate writes, so the error event arrives in its own network chunk as it would in production.
      res.write(PRELUDE[format]);
      setTimeout(() => res.end(tail), 10);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Iterates an SDK stream, keeping what arrived before it ended or threw. */
async function drain<T>(stream: AsyncIterable<T>): Promise<{ chunks: T[]; error: unknown }> {
  const chunks: T[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
    return { chunks, error: null };
  } catch (error) {
    return { chunks, error };
  }
}

/** Each SDK's streaming call against `url`, with the text deltas it delivered. */
const CLIENTS: Record<ApiFormat, (url: string) => Promise<{ texts: string[]; error: unknown }>> = {
  openai: async (url) => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const { chunks, error } = await drain(stream);
    return { texts: chunks.map((c) => c.choices[0]?.delta.content ?? ''), error };
  },
  anthropic: async (url) => {
    const client = new Anthropic({ baseURL: url, apiKey: 'x', maxRetries: 0 });
    const stream = await client.messages.create({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const { chunks, error } = await drain(stream);
    const texts = chunks.map((e) =>
      e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : '',
    );
    return { texts, error };
  },
  gemini: async (url) => {
    // Without its own `fetch` the SDK reaches for undici's global dispatcher, which Jest's sandbox does not expose.
    const client = new GoogleGenAI({
      apiKey: 'x',
      httpOptions: { baseUrl: url, fetch: (input, init) => fetch(input, init) },
    });
    const stream = await client.models.generateContentStream({ model: 'gemini-2.0-flash', contents: 'hi' });
    const { chunks, error } = await drain(stream);
    return { texts: chunks.map((c) => c.text ?? ''), error };
  },
};

describe.each(['openai', 'anthropic', 'gemini'] as const)('the official %s SDK, streaming', (format) => {
  let upstream: Upstream | undefined;
  afterEach(async () => {
    await upstream?.close();
    upstream = undefined;
  });

  it('raises its API error on the gateway error event, after delivering the chunks before it', async () => {
    upstream = await fakeUpstream(format, streamErrorEvent(format, 'upstream cut'));

    const { texts, error } = await CLIENTS[format](upstream.url);

    expect(texts.join('')).toBe('Hello');
    expect(error).toBeInstanceOf(
      { openai: OpenAiApiError, anthropic: AnthropicApiError, gemini: GenAiApiError }[format],
    );
    expect((error as Error).message).toContain('upstream cut');
    if (format === 'anthropic') expect(error).toBeInstanceOf(AnthropicError);
    if (format === 'gemini') expect((error as GenAiApiError).status).toBe(502);
  });

  it('ends silently, with no error, when the stream is cut at an event boundary without it', async () => {
    upstream = await fakeUpstream(format, '');

    const { texts, error } = await CLIENTS[format](upstream.url);

    expect(texts.join('')).toBe('Hello');
    expect(error).toBeNull();
  });
});

describe('the gemini SDK', () => {
  it('streams from /v1beta/models/{model}:streamGenerateContent?alt=sse with the key in x-goog-api-key', async () => {
    const upstream = await fakeUpstream('gemini', '');
    try {
      await CLIENTS.gemini(upstream.url);

      expect(upstream.requests).toHaveLength(1);
      expect(upstream.requests[0]).toMatchObject({
        method: 'POST',
        url: '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse',
        headers: expect.objectContaining({ 'x-goog-api-key': 'x' }),
      });
    } finally {
      await upstream.close();
    }
  });

  it('silently ignores an error chunk whose code is not a 4xx/5xx number (so the gateway always sends one)', async () => {
    const upstream = await fakeUpstream('gemini', 'data: {"error":{"message":"upstream cut","status":"INTERNAL"}}\n\n');
    try {
      const { texts, error } = await CLIENTS.gemini(upstream.url);

      expect(texts.join('')).toBe('Hello');
      expect(error).toBeNull();
    } finally {
      await upstream.close();
    }
  });
});
