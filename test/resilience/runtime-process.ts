/**
 * A local runtime in a process of its own, for tests that must see whether the runtime's process survives something
 * (an uncaught error inside the test's own process would fail the whole test file instead of one assertion).
 * Run with `node --import tsx runtime-process.ts`; it starts one fake upstream answering after `UPSTREAM_DELAY_MS`
 * and a runtime in front of it (in-memory breaker store), prints `{"url": ...}` on one line, and runs until killed.
 */
import { FakeProvider } from '../../local/fake-provider';
import { startLocalRuntime } from '../../local/local-runtime';
import { parseConfig } from '../../shared/config/load-config';
import { silentLog } from '../../shared/observability/log';
import { MemoryBreakerStore } from '../../shared/store/memory-breaker-store';

async function main(): Promise<void> {
  const upstream = await FakeProvider.start('slow', {
    kind: 'ok',
    delayMs: Number(process.env.UPSTREAM_DELAY_MS ?? 0),
  });
  const runtime = await startLocalRuntime({
    config: parseConfig(
      `
routing: { defaultProvider: openai }
providers:
  openai:
    - { name: slow, baseUrl: "${upstream.url}/v1", apiKey: sk-test-slow-0123456789, firstByteTimeoutSeconds: 5 }
`,
      {},
    ),
    dynamoEndpoint: 'http://127.0.0.1:1',
    store: new MemoryBreakerStore(),
    createTables: false,
    pollStream: false,
    log: silentLog,
  });
  process.stdout.write(`${JSON.stringify({ url: runtime.url })}\n`);
}

void main();
