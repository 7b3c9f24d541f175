import { FakeProvider } from '../local/fake-provider';
import { startLocalRuntime } from '../local/local-runtime';
import { parseConfig } from '../shared/config/load-config';
import { silentLog } from '../shared/observability/log';
import type { HealthSummary } from '../shared/stats/health-summary';
import { twoInstanceConfig } from './two-instance-config';

/** How long a failure takes to show in `/stats` locally (stream poller at its default 200 ms interval). */
export interface StatsLatency {
  samples: number;
  p50Ms: number;
  maxMs: number;
}

/** Causes one failure at a time and polls `/stats` until its count shows, `samples` times. */
export async function measureStatsLatency(dynamoEndpoint: string, samples = 10): Promise<StatsLatency> {
  const primary = await FakeProvider.start('primary', { kind: 'status', status: 503 });
  const backup = await FakeProvider.start('backup', { kind: 'ok' });
  const runtime = await startLocalRuntime({
    config: parseConfig(twoInstanceConfig(primary, backup, { breaker: { failureThreshold: 1000 } }), {}),
    dynamoEndpoint,
    log: silentLog,
    tables: { state: 'latency-state', events: 'latency-events', rollups: 'latency-rollups' },
  });
  const failures = async () => {
    const summary = (await (await fetch(`${runtime.url}/stats`)).json()) as HealthSummary;
    return summary.instances.find((i) => i.name === 'primary')?.counts.lastHour.failures ?? 0;
  };
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const before = await failures();
      const res = await fetch(`${runtime.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"model":"gpt-4o-mini","messages":[]}',
      });
      await res.text();
      const answered = performance.now();
      while ((await failures()) <= before) {
        if (performance.now() - answered > 10_000) throw new Error('the failure never appeared in /stats');
        await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(performance.now() - answered);
    }
  } finally {
    await runtime.close();
    await primary.close();
    await backup.close();
  }
  latencies.sort((a, b) => a - b);
  return {
    samples,
    p50Ms: Math.round(latencies[Math.floor(samples / 2)]),
    maxMs: Math.round(latencies[samples - 1]),
  };
}
