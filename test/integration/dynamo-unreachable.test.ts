import { freePort } from '../../local/dynamodb-local';
import { FakeProvider } from '../../local/fake-provider';
import { startLocalRuntime } from '../../local/local-runtime';
import { parseConfig } from '../../shared/config/load-config';
import { MemoryLog } from '../../shared/observability/log';

describe('when DynamoDB is unreachable', () => {
  it('still answers every request from a healthy upstream, failing over on in-memory breaker state', async () => {
    const primary = await FakeProvider.start('primary', { kind: 'status', status: 503 });
    const backup = await FakeProvider.start('backup', { kind: 'ok' });
    const deadPort = await freePort(); // nothing listens here: every DynamoDB call is refused
    const log = new MemoryLog();
    const runtime = await startLocalRuntime({
      config: parseConfig(
        `
providers:
  openai:
    - { name: primary, baseUrl: "${primary.url}", apiKey: k1, priority: 1 }
    - { name: backup, baseUrl: "${backup.url}", apiKey: k2, priority: 2 }
routing: { defaultProvider: openai }
store: { timeoutSeconds: 0.2 }
`,
        {},
      ),
      dynamoEndpoint: `http://127.0.0.1:${deadPort}`,
      createTables: false,
      log,
    });
    try {
      const statuses: number[] = [];
      const instances: (string | null)[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`${runtime.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
        });
        statuses.push(res.status);
        instances.push(res.headers.get('x-gateway-instance'));
        await res.text();
      }

      expect(statuses).toEqual(Array(8).fill(200));
      expect(new Set(instances)).toEqual(new Set(['backup']));
      // The in-memory breaker opened after 3 failures, so the primary stopped receiving traffic.
      expect(primary.hits).toHaveLength(3);
      const warnings = log.lines.filter(
        (l) => l.level === 'warn' && l.message.includes('Breaker state store unavailable'),
      );
      expect(warnings.length).toBeGreaterThanOrEqual(1);
    } finally {
      await runtime.close();
      await primary.close();
      await backup.close();
    }
  });
});
