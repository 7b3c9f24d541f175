import { Agent, request as httpRequest } from 'node:http';

/** Where one benchmark path sends its requests. */
export interface LoadTarget {
  name: string;
  /** Full URL (http, loopback). */
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What one closed-loop run measured. */
export interface LoadRun {
  /** Latency of each completed request (ms). */
  latencies: number[];
  /** Requests that failed (network error, timeout, or a status other than 2xx). */
  errors: number;
  /** Wall time of the run (ms). */
  elapsedMs: number;
}

/** One HTTP exchange on a keep-alive agent; resolves with the status (0 on a network error or timeout). */
function exchange(agent: Agent, target: LoadTarget, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(
      target.url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(target.body)),
          ...target.headers,
        },
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(target.body);
  });
}

/** A keep-alive agent sized for `concurrency` connections. */
export function loadAgent(concurrency: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
}

/**
 * A closed loop: `concurrency` workers send `requests` requests in total, each waiting for its answer before the next.
 * Bounded in count and in time (no new request after `timeLimitMs`); each request times out after `requestTimeoutMs`.
 * `ratePerSecond`, when set, paces the starts (request i not before i / rate seconds).
 */
export async function closedLoop(
  target: LoadTarget | ((i: number) => LoadTarget),
  options: {
    requests: number;
    concurrency: number;
    agent: Agent;
    timeLimitMs?: number;
    requestTimeoutMs?: number;
    ratePerSecond?: number;
    onResponse?: (i: number, status: number, startedAt: number) => void;
  },
): Promise<LoadRun> {
  const targetOf = typeof target === 'function' ? target : () => target;
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const start = performance.now();
  const stopAt = start + (options.timeLimitMs ?? 60_000);
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= options.requests || performance.now() > stopAt) return;
      if (options.ratePerSecond) {
        const due = start + (i * 1000) / options.ratePerSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const t0 = performance.now();
      const status = await exchange(options.agent, targetOf(i), options.requestTimeoutMs ?? 10_000);
      latencies.push(performance.now() - t0);
      if (status < 200 || status >= 300) errors++;
      options.onResponse?.(i, status, t0);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { latencies, errors, elapsedMs: performance.now() - start };
}

/** The p-th percentile (nearest rank) of `values`, in their unit, rounded to 2 decimals. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return round(sorted[rank]);
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
