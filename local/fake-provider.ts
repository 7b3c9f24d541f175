import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What the fake provider does with one request. */
export type FakeBehaviour =
  | { kind: 'ok'; content?: string; delayMs?: number }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  /** Accepts the request and never answers (until the server closes). */
  | { kind: 'hang' }
  /** Destroys the connection without an answer. */
  | { kind: 'reset' };

/** One request the fake provider received. */
export interface FakeHit {
  /** Epoch ms. */
  at: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Decides the behaviour for the n-th request (0-based). */
export type BehaviourRule = (hit: FakeHit, n: number) => FakeBehaviour;

/**
 * An OpenAI-compatible provider on loopback whose behaviour a test (or the demo) programs: answers, errors with any
 * status and headers, hangs, resets. It records every request it receives.
 */
export class FakeProvider {
  readonly hits: FakeHit[] = [];
  private rule: BehaviourRule;
  private readonly sockets = new Set<Socket>();

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
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const hit: FakeHit = {
      at: Date.now(),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    const n = this.hits.length;
    this.hits.push(hit);
    const behaviour = this.rule(hit, n);
    if (behaviour.kind === 'hang') return;
    if (behaviour.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
    if (behaviour.kind === 'status') {
      res.writeHead(behaviour.status, { 'content-type': 'application/json', ...(behaviour.headers ?? {}) });
      res.end(
        behaviour.body ?? JSON.stringify({ error: { message: `fake ${behaviour.status}`, type: 'server_error' } }),
      );
      return;
    }
    this.answer(hit, behaviour.content ?? `Hello from ${this.name}`, res);
  }

  private answer(hit: FakeHit, content: string, res: ServerResponse): void {
    let request: { model?: string; stream?: boolean } = {};
    try {
      request = JSON.parse(hit.body);
    } catch {
      // Not JSON: answer with defaults.
    }
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const model = request.model ?? 'fake-model';
    const usage = {
      prompt_tokens: 5,
      completion_tokens: content.split(' ').length,
      total_tokens: 5 + content.split(' ').length,
    };
    if (request.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const words = content.split(' ');
      words.forEach((word, i) => {
        const delta = { ...(i === 0 ? { role: 'assistant' } : {}), content: i === 0 ? word : ` ${word}` };
        const chunk = {
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          choices: [{ index: 0, delta, finish_reason: null }],
        };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      });
      const last = {
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
        usage,
      };
      res.end(`data: ${JSON.stringify(last)}\n\ndata: [DONE]\n\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': id });
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          { index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' },
        ],
        usage,
      }),
    );
  }
}
