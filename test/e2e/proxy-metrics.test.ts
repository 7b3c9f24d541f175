import { MemoryMetrics } from '../../shared/observability/metrics-sink';
import { type Harness, startHarness } from '../support/gateway-harness';

describe('proxy metrics', () => {
  let h: Harness;
  const metrics = new MemoryMetrics();
  beforeAll(async () => {
    h = await startHarness({
      primary: { kind: 'status', status: 503 },
      backup: { kind: 'ok', content: Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '), eventDelayMs: 20 },
      runtime: { metrics },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('records requests, attempts and per-instance upstream latency, with the documented dimensions', async () => {
    await h.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

    const names = metrics.points.map((p) => p.name);
    expect(names.filter((n) => n === 'Requests')).toHaveLength(1);
    expect(metrics.points.find((p) => p.name === 'Attempts')).toEqual({
      name: 'Attempts',
      value: 2,
      dimensions: { provider: 'openai' },
    });
    const latencies = metrics.points.filter((p) => p.name === 'UpstreamLatency');
    expect(latencies.map((p) => p.dimensions)).toEqual([
      { provider: 'openai', instance: 'primary' },
      { provider: 'openai', instance: 'backup' },
    ]);
    expect(latencies.every((p) => p.value >= 0)).toBe(true);
  });

  it('flushes metrics once the streamed response has ended, not while it streams', async () => {
    const before = metrics.flushes;
    const stream = await h.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const iterator = stream[Symbol.asyncIterator]();

    await iterator.next();
    const duringStream = metrics.flushes;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      // drain
    }
    for (let i = 0; i < 40 && metrics.flushes === before; i++) await new Promise((r) => setTimeout(r, 25));

    expect(duringStream).toBe(before);
    expect(metrics.flushes).toBe(before + 1);
  });
});

describe('an instance whose provider key cannot be read', () => {
  it('is failed over and counted against, without the request failing', async () => {
    const { handleProxyRequest } = await import('../../shared/gateway/proxy-service');
    const h = await startHarness();
    try {
      const deps = {
        ...h.runtime.deps,
        providerKey: async (instance: { name: string; apiKey: string }) => {
          if (instance.name === 'primary') throw new Error('Secret llm-gateway/x/primary has no value yet');
          return instance.apiKey;
        },
      };

      const response = await handleProxyRequest(
        {
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { 'content-type': 'application/json' },
          query: {},
          body: Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })),
          requestId: 'req-secret',
          remainingMs: 30_000,
        },
        deps,
      );

      // The answer is read to its end, as the runtime would, so that nothing of the upstream call stays open.
      const body = typeof response.body === 'string' ? response.body : (await response.body.toArray()).join('');
      expect(response.statusCode).toBe(200);
      expect(response.headers['x-gateway-instance']).toBe('backup');
      expect(body).toContain('chat.completion');
      expect(h.primary.hits).toHaveLength(0);
      const record = (await h.runtime.deps.breaker.view(['primary'])).get('primary');
      expect(record?.lastFailureClass).toBe('auth');
    } finally {
      await h.close();
    }
  });
});
