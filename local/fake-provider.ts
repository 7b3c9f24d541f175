import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The API format a request to the fake speaks, chosen by its path. */
export type FakeFormat = 'openai' | 'anthropic' | 'gemini';

/** What the fake provider does with one request. `delayMs` waits before the response head (ms). */
export type FakeBehaviour =
  /** Answers in the request's format; `eventDelayMs` spaces out stream events (the first goes out at once). */
  | { kind: 'ok'; content?: string; delayMs?: number; eventDelayMs?: number }
  /** Answers `status`; without `body`, an error body in the request's format. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  /** Accepts the request and never answers (until the server closes). */
  | { kind: 'hang' }
  /** Destroys the connection without an answer. */
  | { kind: 'reset' }
  /**
   * Answers 200, sends the first `afterEvents` stream events, then destroys the connection mid-stream. A
   * non-streaming request gets the head and half of its JSON body instead.
   */
  | { kind: 'cut'; afterEvents: number; content?: string; delayMs?: number; eventDelayMs?: number };

/** One request the fake provider received. */
export interface FakeHit {
  /** Epoch ms. */
  at: number;
  method: string;
  /** The request target: path and query. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The API format the path belongs to. */
  format: FakeFormat;
  /** When the caller closed the connection before the answer was complete (epoch ms). */
  abortedAt?: number;
}

/** Decides the behaviour for the n-th request (0-based). */
export type BehaviourRule = (hit: FakeHit, n: number) => FakeBehaviour;

/** Input tokens reported for every request. */
const PROMPT_TOKENS = 5;
/** Time a cut stream leaves for its last events to reach the reader before the socket goes (ms). */
const CUT_SETTLE_MS = 50;

/** One answer, ready to send: a JSON body, or the SSE events of a stream (each a complete `...\n\n` frame). */
type Answer = { kind: 'json'; headers: Record<string, string>; body: string } | { kind: 'sse'; events: string[] };

/** The format of a request path: Anthropic `/v1/messages`, Gemini `...:generateContent`, else OpenAI. */
export function formatOfPath(path: string): FakeFormat {
  const pathname = path.split('?')[0];
  if (/\/models\/[^/]+:(stream)?generateContent$/i.test(pathname)) return 'gemini';
  if (pathname.endsWith('/messages')) return 'anthropic';
  return 'openai';
}

/**
 * A provider on loopback that speaks OpenAI Chat Completions, Anthropic Messages and Gemini generateContent (each
 * on its own path, streaming included), whose behaviour a test (or the demo) programs: answers, errors with any
 * status and headers, hangs, resets, streams cut midway. It records every request it receives.
 */
export class FakeProvider {
  readonly hits: FakeHit[] = [];
  private rule: BehaviourRule;
  private readonly sockets = new Set<Socket>();
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly server: Server,
    readonly url: string,
    rule: BehaviourRule,
  ) {
    this.rule = rule;
  }

  /** Starts a fake provider on a free loopback port. */
  static async start(name: string, rule: BehaviourRule | FakeBehaviour = { kind: 'ok' }): Promise<FakeProvider> {
    let provider: FakeProvider | undefined;
    const server = createServer((req, res) => provider?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    provider = new FakeProvider(
      name,
      server,
      `http://127.0.0.1:${port}`,
      typeof rule === 'function' ? rule : () => rule,
    );
    server.on('connection', (socket) => {
      provider?.sockets.add(socket);
      socket.once('close', () => provider?.sockets.delete(socket));
    });
    return provider;
  }

  /** Replaces the behaviour from now on. */
  behave(rule: BehaviourRule | FakeBehaviour): void {
    this.rule = typeof rule === 'function' ? rule : () => rule;
  }

  /** Requests received at or after `since` (epoch ms). */
  hitsSince(since: number): FakeHit[] {
    return this.hits.filter((h) => h.at >= since);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = req.url ?? '/';
    const hit: FakeHit = {
      at: Date.now(),
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      format: formatOfPath(path),
    };
    const n = this.hits.length;
    this.hits.push(hit);
    res.once('close', () => {
      if (!res.writableFinished) hit.abortedAt = Date.now();
    });
    const behaviour = this.rule(hit, n);
    if (behaviour.kind === 'hang') return;
    if (behaviour.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (behaviour.delayMs) await pause(behaviour.delayMs);
    if (behaviour.kind === 'status') {
      res.writeHead(behaviour.status, { 'content-type': 'application/json', ...(behaviour.headers ?? {}) });
      res.end(behaviour.body ?? errorBody(hit.format, behaviour.status));
      return;
    }
    const answer = this.answer(hit, behaviour.content ?? `Hello from ${this.name}`);
    const cutAfter = behaviour.kind === 'cut' ? behaviour.afterEvents : undefined;
    if (answer.kind === 'json') {
      res.writeHead(200, { 'content-type': 'application/json', ...answer.headers });
      if (cutAfter === undefined) {
        res.end(answer.body);
        return;
      }
      await write(res, answer.body.slice(0, Math.floor(answer.body.length / 2)));
      await this.cut(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const count = Math.min(cutAfter ?? answer.events.length, answer.events.length);
    for (let i = 0; i < count; i++) {
      if (i > 0 && behaviour.eventDelayMs) await pause(behaviour.eventDelayMs);
      if (this.closed || res.destroyed) return;
      await write(res, answer.events[i]);
    }
    if (cutAfter === undefined) res.end();
    else await this.cut(res);
  }

  /** Ends a response abruptly: no terminating chunk, the socket destroyed. */
  private async cut(res: ServerResponse): Promise<void> {
    await pause(CUT_SETTLE_MS);
    res.socket?.destroy();
  }

  private answer(hit: FakeHit, content: string): Answer {
    let request: { model?: unknown; stream?: unknown } = {};
    try {
      request = JSON.parse(hit.body);
    } catch {
      // Not JSON: answer with defaults.
    }
    const words = content.split(' ');
    const bodyModel = typeof request.model === 'string' ? request.model : undefined;
    switch (hit.format) {
      case 'openai':
        return openAiAnswer(words, bodyModel ?? 'fake-model', request.stream === true);
      case 'anthropic':
        return anthropicAnswer(words, bodyModel ?? 'fake-model', request.stream === true);
      case 'gemini': {
        const [, model, action] = /\/models\/([^/]+):(\w+)/.exec(hit.path.split('?')[0]) ?? [];
        return geminiAnswer(words, decodeURIComponent(model ?? 'fake-model'), action === 'streamGenerateContent');
      }
    }
  }
}

function openAiAnswer(words: string[], model: string, stream: boolean): Answer {
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const content = words.join(' ');
  const usage = {
    prompt_tokens: PROMPT_TOKENS,
    completion_tokens: words.length,
    total_tokens: PROMPT_TOKENS + words.length,
  };
  if (!stream) {
    return {
      kind: 'json',
      headers: { 'x-request-id': id },
      body: JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          { index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' },
        ],
        usage,
      }),
    };
  }
  const chunk = (delta: object, finishReason: string | null, extra: object = {}) =>
    sseData({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
      ...extra,
    });
  return {
    kind: 'sse',
    events: [
      ...words.map((word, i) =>
        chunk({ ...(i === 0 ? { role: 'assistant' } : {}), content: i === 0 ? word : ` ${word}` }, null),
      ),
      chunk({}, 'stop', { usage }),
      'data: [DONE]\n\n',
    ],
  };
}

function anthropicAnswer(words: string[], model: string, stream: boolean): Answer {
  const id = `msg_${randomUUID().replace(/-/g, '')}`;
  const text = words.join(' ');
  if (!stream) {
    return {
      kind: 'json',
      headers: { 'request-id': `req_${randomUUID().replace(/-/g, '')}` },
      body: JSON.stringify({
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: PROMPT_TOKENS, output_tokens: words.length },
      }),
    };
  }
  const event = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  return {
    kind: 'sse',
    events: [
      event('message_start', {
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: PROMPT_TOKENS, output_tokens: 1 },
        },
      }),
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      event('ping', {}),
      ...words.map((word, i) =>
        event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: i === 0 ? word : ` ${word}` } }),
      ),
      event('content_block_stop', { index: 0 }),
      event('message_delta', {
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: words.length },
      }),
      event('message_stop', {}),
    ],
  };
}

function geminiAnswer(words: string[], model: string, stream: boolean): Answer {
  const responseId = randomUUID().replace(/-/g, '').slice(0, 22);
  const usageMetadata = {
    promptTokenCount: PROMPT_TOKENS,
    candidatesTokenCount: words.length,
    totalTokenCount: PROMPT_TOKENS + words.length,
  };
  const response = (text: string, last: boolean) => ({
    candidates: [
      { content: { parts: [{ text }], role: 'model' }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 },
    ],
    ...(last ? { usageMetadata } : {}),
    modelVersion: model,
    responseId,
  });
  if (!stream) return { kind: 'json', headers: {}, body: JSON.stringify(response(words.join(' '), true)) };
  return {
    kind: 'sse',
    events: words.map((word, i) => sseData(response(i === 0 ? word : ` ${word}`, i === words.length - 1))),
  };
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
};
const GEMINI_ERROR_STATUSES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The provider's own error body for `status`, as the real API would send it. */
function errorBody(format: FakeFormat, status: number): string {
  const message = `fake ${status}`;
  switch (format) {
    case 'openai':
      return JSON.stringify({ error: { message, type: 'server_error' } });
    case 'anthropic':
      return JSON.stringify({
        type: 'error',
        error: {
          type: ANTHROPIC_ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'),
          message,
        },
      });
    case 'gemini':
      return JSON.stringify({
        error: {
          code: status,
          message,
          status: GEMINI_ERROR_STATUSES[status] ?? (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT'),
        },
      });
  }
}

function sseData(data: object): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

/** Writes and waits until the chunk is handed to the socket (or the write failed). */
function write(res: ServerResponse, chunk: string): Promise<void> {
  return new Promise((resolve) => res.write(chunk, () => resolve()));
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
