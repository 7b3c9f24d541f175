import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FakeProvider } from '../../local/fake-provider';
import { type LocalRuntime, startLocalRuntime } from '../../local/local-runtime';
import { parseConfig } from '../../shared/config/load-config';
import type { ApiFormat } from '../../shared/http/api-errors';
import { MemoryLog } from '../../shared/observability/log';
import { MemoryBreakerStore } from '../../shared/store/memory-breaker-store';
import { eventually, pause, within } from './support';

// Peers that never finish: a client that sends its body one byte at a time (slow loris), an upstream whose stream
// never ends, a client that leaves before its answer starts. Each must be bounded by a timeout and leave nothing
// behind, and none may hold up anyone else.

jest.setTimeout(20_000);

/** An upstream stream of 200 words, one event every 200 ms: 40 s, far longer than the instance may take. */
const ENDLESS = {
  kind: 'ok' as const,
  content: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '),
  eventDelayMs: 200,
};

/** A streaming request in each API format, and how its client recognises the gateway's error event. */
const STREAMS: { format: ApiFormat; path: string; body: object; errorEvent: RegExp }[] = [
  {
    format: 'openai',
    path: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
    errorEvent: /data: \{"error":\{"message":"upstream exceeded its request timeout mid-stream"/,
  },
  {
    format: 'anthropic',
    path: '/v1/messages',
    body: { model: 'claude-sonnet-4', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] },
    errorEvent:
      /event: error\ndata: \{"type":"error","error":\{"type":"[a-z_]+","message":"upstream exceeded its request timeout mid-stream"/,
  },
  {
    format: 'gemini',
    path: '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse',
    body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] },
    errorEvent: /data: \{"error":\{"code":5\d\d,"message":"upstream exceeded its request timeout mid-stream"/,
  },
];

describe('slow and endless peers through the local runtime', () => {
  let upstream: FakeProvider;
  let runtime: LocalRuntime;
  let store: MemoryBreakerStore;
  beforeAll(async () => {
    upstream = await FakeProvider.start('upstream', { kind: 'ok' });
    store = new MemoryBreakerStore();
    runtime = await startLocalRuntime({
      config: parseConfig(
        `
routing: { defaultProvider: openai, rules: { "gpt-": openai, "claude-": anthropic, "gemini-": gemini } }
providers:
  openai:
    - { name: openai-1, baseUrl: "${upstream.url}/v1", apiKey: sk-test-openai-0123456789, requestTimeoutSeconds: 1 }
  anthropic:
    - { name: anthropic-1, baseUrl: "${upstream.url}", apiKey: sk-test-anthropic-0123456789, requestTimeoutSeconds: 1 }
  gemini:
    - { name: gemini-1, baseUrl: "${upstream.url}", apiKey: test-gemini-0123456789, requestTimeoutSeconds: 1 }
breaker: { failureThreshold: 100 }
`,
        {},
      ),
      dynamoEndpoint: 'http://127.0.0.1:1',
      store,
      createTables: false,
      pollStream: false,
      log: new MemoryLog(),
    });
  });
  afterAll(async () => {
    await runtime?.close();
    await upstream?.close();
  });

  it.each(STREAMS)(
    'ends a never-ending $format upstream stream at the instance request timeout, with an error event, and closes the upstream connection',
    async ({ format, path, body, errorEvent }) => {
      // Prepare: the upstream streams for 40 s; the instance allows 1 s per request.
      upstream.behave(ENDLESS);
      const sentAt = Date.now();

      // Act: read the client's stream to its end.
      const res = await fetch(`${runtime.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(8000),
      });
      const text = await res.text();
      const endedAfter = Date.now() - sentAt;

      // Assess: the stream started (200, events relayed), then ended with the error event in the client's format, about
      // when the instance's 1 s ran out; the upstream connection was closed then too, and the failure was recorded.
      expect(res.status).toBe(200);
      expect(text).toMatch(/w0/);
      expect(text).toMatch(errorEvent);
      expect(endedAfter).toBeGreaterThanOrEqual(900);
      expect(endedAfter).toBeLessThan(3000);
      const hit = upstream.hits.at(-1);
      expect(hit?.format).toBe(format);
      const abortedAt = await eventually('the upstream to see its connection closed', 2000, async () => hit?.abortedAt);
      expect(abortedAt - sentAt).toBeLessThan(3000);
      expect(
        store.events.filter(
          (e) => e.type === 'failure' && e.failureClass === 'stream_failure' && e.instance === `${format}-1`,
        ),
      ).toHaveLength(1);
    },
  );

  it('serves a client that sends its body slowly but completely, and serves others meanwhile', async () => {
    // Prepare: a raw socket that sends the headers at once and the body two bytes every 100 ms (about 1.7 s).
    upstream.behave({ kind: 'ok' });
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [] });
    const socket = await rawRequest(runtime.port, body.length);
    const answer = collect(socket);

    // Act: trickle the body, while other clients send ordinary requests.
    const trickle = (async () => {
      for (let i = 0; i < body.length; i += 2) {
        socket.write(body.slice(i, i + 2));
        await pause(100);
      }
    })();
    const others = await Promise.all(Array.from({ length: 5 }, () => timedChat(runtime.url)));
    await trickle;
    const response = await answer;

    // Assess: the others were not held up, and the slow request got its answer once its body was complete.
    expect(others.map((o) => o.status)).toEqual([200, 200, 200, 200, 200]);
    expect(Math.max(...others.map((o) => o.ms))).toBeLessThan(1000);
    expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(response).toMatch(/"content":"Hello from upstream"/);
  });

  it('does not hold anyone up for a slow-loris client, never forwards its half-received body, and frees its socket on close', async () => {
    // Prepare: a separate runtime (closed by this test), and a raw socket that announces 100 000 body bytes and sends
    // one every 100 ms: it would take almost three hours.
    const slowRuntime = await startLocalRuntime({
      config: parseConfig(
        `
routing: { defaultProvider: openai }
providers:
  openai:
    - { name: openai-1, baseUrl: "${upstream.url}/v1", apiKey: sk-test-openai-0123456789 }
`,
        {},
      ),
      dynamoEndpoint: 'http://127.0.0.1:1',
      store: new MemoryBreakerStore(),
      createTables: false,
      pollStream: false,
      log: new MemoryLog(),
    });
    upstream.behave({ kind: 'ok' });
    const hitsBefore = upstream.hits.length;
    const socket = await rawRequest(slowRuntime.port, 100_000);
    const closed = once(socket, 'close');
    const drip = setInterval(() => socket.writable && socket.write('a'), 100);
    try {
      // Act: other clients keep being served while the loris drips for 2 s.
      const others: { status: number; ms: number }[] = [];
      for (let i = 0; i < 4; i++) {
        others.push(await timedChat(slowRuntime.url));
        await pause(500);
      }

      // Assess: nobody waited on the loris, and its incomplete request never reached the upstream.
      expect(others.map((o) => o.status)).toEqual([200, 200, 200, 200]);
      expect(Math.max(...others.map((o) => o.ms))).toBeLessThan(1000);
      expect(upstream.hits.length - hitsBefore).toBe(others.length);
      // The runtime answers 408 and closes a request whose body has not arrived within server.requestTimeout (30 s),
      // which Node checks only every connectionsCheckingInterval (30 s): measured at 60 s, too long to wait for here,
      // so that bound is reported rather than asserted. Closing the runtime frees the socket at once.
      expect(socket.destroyed).toBe(false);
    } finally {
      clearInterval(drip);
      const closedAt = Date.now();
      await slowRuntime.close();
      await within(closed, 2000, null);
      expect(socket.destroyed).toBe(true);
      expect(Date.now() - closedAt).toBeLessThan(2000);
    }
  });
});

describe('a client that leaves before its answer starts', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });

  it('leaves the local runtime process running and serving', async () => {
    // Prepare: a runtime in a process of its own, in front of an upstream that takes 1.5 s to answer.
    child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'runtime-process.ts')], {
      env: { ...process.env, UPSTREAM_DELAY_MS: '1500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const exited = once(child, 'exit');
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const [line] = (await within(once(lines, 'line'), 10_000, ['{}'])) as string[];
    const { url } = JSON.parse(line) as { url?: string };
    if (!url) throw new Error(`the runtime process did not start within 10 s: ${stderr.join('')}`);

    // Act: a client gives up 200 ms into its request, while the gateway still waits for the upstream.
    await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
      signal: AbortSignal.timeout(200),
    }).catch(() => undefined);
    await within(exited, 2000, null);

    // Assess: the process is still running, and the next client is served.
    const crash = stderr.join('').match(/Error: [^\n]*/)?.[0] ?? '';
    expect({ exitCode: child.exitCode, crash }).toEqual({ exitCode: null, crash: '' });
    const next = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
      signal: AbortSignal.timeout(5000),
    });
    expect(next.status).toBe(200);
  });
});

/** Opens a raw connection and sends the head of a chat completion request announcing `contentLength` body bytes. */
async function rawRequest(port: number, contentLength: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    'POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n' +
      `content-length: ${contentLength}\r\nconnection: close\r\n\r\n`,
  );
  return socket;
}

/** Everything the socket receives until it closes. */
async function collect(socket: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('utf8');
}

/** One ordinary chat completion, with its status and how long it took (ms). */
async function timedChat(url: string): Promise<{ status: number; ms: number }> {
  const sentAt = Date.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    signal: AbortSignal.timeout(5000),
  });
  await res.text();
  return { status: res.status, ms: Date.now() - sentAt };
}
