import { FakeProvider } from '../local/fake-provider';
import { startLocalRuntime } from '../local/local-runtime';
import { parseConfig } from '../shared/config/load-config';
import { silentLog } from '../shared/observability/log';
import type { PortkeyGateway } from './portkey';

/** Latency percentiles of one path (ms). */
export interface StreamTimings {
  path: string;
  requests: number;
  ttfbP50: number;
  ttfbP99: number;
  totalP50: number;
  totalP99: number;
}

/** Time to first and last byte of one streamed request (ms). */
async function timeStream(url: string, body: string, headers: Record<string, string>): Promise<[number, number]> {
  const start = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let first = 0;
  for (;;) {
    const { done } = await reader.read();
    if (!first) first = performance.now() - start;
    if (done) break;
  }
  return [first, performance.now() - start];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(2));
}

/**
 * Streaming time to first byte and to last byte, direct to a fake upstream versus through the local runtime (and
 * through Portkey when it runs), measured alternately in one run (the upstream waits 30 ms before its first event,
 * then 10 ms between 20 events).
 */
export async function measureStreamingTtfb(
  dynamoEndpoint: string,
  requests = 60,
  portkey: PortkeyGateway | null = null,
): Promise<StreamTimings[]> {
  const words = Array.from({ length: 20 }, (_, i) => `token${i}`).join(' ');
  const upstream = await FakeProvider.start('upstream', { kind: 'ok', content: words, delayMs: 30, eventDelayMs: 10 });
  const runtime = await startLocalRuntime({
    config: parseConfig(
      `
providers:
  openai: [{ name: upstream, baseUrl: "${upstream.url}", apiKey: k }]
routing: { defaultProvider: openai }
`,
      {},
    ),
    dynamoEndpoint,
    log: silentLog,
  });
  const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const direct: [number, number][] = [];
  const gateway: [number, number][] = [];
  const viaPortkey: [number, number][] = [];
  const portkeyStream = async () => {
    if (portkey) {
      return timeStream(`${portkey.url}/v1/chat/completions`, body, portkey.headersFor(upstream.url));
    }
    return null;
  };
  try {
    for (let i = 0; i < 5; i++) {
      // warm-up
      await timeStream(`${runtime.url}/v1/chat/completions`, body, {});
      await portkeyStream();
    }
    for (let i = 0; i < requests; i++) {
      direct.push(await timeStream(`${upstream.url}/v1/chat/completions`, body, { authorization: 'Bearer k' }));
      gateway.push(await timeStream(`${runtime.url}/v1/chat/completions`, body, {}));
      const viaPk = await portkeyStream();
      if (viaPk) viaPortkey.push(viaPk);
    }
  } finally {
    await runtime.close();
    await upstream.close();
  }
  const summary = (path: string, t: [number, number][]): StreamTimings => ({
    path,
    requests: t.length,
    ttfbP50: percentile(
      t.map((x) => x[0]),
      50,
    ),
    ttfbP99: percentile(
      t.map((x) => x[0]),
      99,
    ),
    totalP50: percentile(
      t.map((x) => x[1]),
      50,
    ),
    totalP99: percentile(
      t.map((x) => x[1]),
      99,
    ),
  });
  return [
    summary('direct to upstream', direct),
    summary('through the local runtime', gateway),
    ...(viaPortkey.length > 0 ? [summary('through Portkey', viaPortkey)] : []),
  ];
}
