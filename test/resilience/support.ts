/** Helpers shared by the resilience suite: steady client traffic, whole answers, bounded waits on real time. */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { handleProxyRequest, type ProxyDeps } from '../../shared/gateway/proxy-service';

/** What one client request of a traffic run got back. */
export interface TrafficResult {
  status: number;
  /** The instance that answered (`x-gateway-instance`), if any. */
  instance: string | null;
  /** From sending the request to the end of the answer body (ms). */
  ms: number;
  /** The answer body, kept for anything but a 200 (for failure messages). */
  body?: string;
  /** A network error instead of a response (the gateway dropped the request). */
  error?: string;
}

/** Sends the n-th request (0-based) of a traffic run and reads its whole answer. */
export type SendRequest = (n: number) => Promise<Omit<TrafficResult, 'ms'>>;

/** A running traffic generator: `stop()` lets in-flight requests finish and returns every result. */
export interface Traffic {
  /** Results so far (grows while running). */
  readonly results: TrafficResult[];
  stop(): Promise<TrafficResult[]>;
}

/** Keeps `concurrency` requests in flight until stopped, the way a busy client fleet would. */
export function runTraffic(concurrency: number, send: SendRequest): Traffic {
  const results: TrafficResult[] = [];
  let stopped = false;
  let n = 0;
  const worker = async () => {
    while (!stopped) {
      const sentAt = Date.now();
      try {
        results.push({ ...(await send(n++)), ms: Date.now() - sentAt });
      } catch (error) {
        results.push({ status: 0, instance: null, ms: Date.now() - sentAt, error: String(error) });
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    results,
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
      return results;
    },
  };
}

/** The body every traffic request sends: a small OpenAI chat completion. */
function chatBody(n: number): string {
  return JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${n}` }] });
}

/** An OpenAI chat completion over HTTP to the gateway at `url` (a local runtime), with optional extra headers. */
export function httpChat(url: (n: number) => string, headers: (n: number) => Record<string, string> = () => ({})) {
  return async (n: number): Promise<Omit<TrafficResult, 'ms'>> => {
    const res = await fetch(`${url(n)}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers(n) },
      body: chatBody(n),
      signal: AbortSignal.timeout(10_000),
    });
    const body = await res.text();
    return {
      status: res.status,
      instance: res.headers.get('x-gateway-instance'),
      ...(res.status === 200 ? {} : { body: body.slice(0, 500) }),
    };
  };
}

/**
 * An OpenAI chat completion handed straight to one container's proxy (`handleProxyRequest` with its deps), without
 * the HTTP leg from the client: the same gateway code for a fraction of the CPU.
 */
export function directChat(depsFor: (n: number) => ProxyDeps) {
  return async (n: number): Promise<Omit<TrafficResult, 'ms'>> => {
    const response = await handleProxyRequest(
      {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json' },
        query: {},
        body: Buffer.from(chatBody(n)),
        requestId: randomUUID(),
        remainingMs: 30_000,
      },
      depsFor(n),
    );
    const body = await readBody(response.body);
    return {
      status: response.statusCode,
      instance: response.headers['x-gateway-instance'] ?? null,
      ...(response.statusCode === 200 ? {} : { body: body.slice(0, 500) }),
    };
  };
}

/** A gateway response body as text, read to its end when it streams. */
export async function readBody(body: string | Readable): Promise<string> {
  if (!(body instanceof Readable)) return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

/** Waits `ms` of real time (these tests run real breakers and real servers on the wall clock). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settles like `promise`, or resolves to `fallback` after `ms`; the timer never outlives the race. */
export async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 50 ms until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (${lastError})` : ''}`);
    }
    await pause(50);
  }
}
