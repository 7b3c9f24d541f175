import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { startDynamoDbLocal } from '../local/dynamodb-local';
import { measureDynamoCalls } from './dynamo-calls';
import { measureStatsLatency } from './stats-latency';
import { measureStreamingTtfb } from './streaming-ttfb';

/** `npm run bench`: runs the benchmarks (loopback only, bounded) and writes bench/results/latest.json + tables. */
async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const dynamo = await startDynamoDbLocal();
  try {
    const dynamoCalls = await measureDynamoCalls(dynamo.endpoint);
    const streaming = await measureStreamingTtfb(dynamo.endpoint);
    const statsLatency = await measureStatsLatency(dynamo.endpoint);
    const result = {
      date: new Date().toISOString(),
      machine: `${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}, Node ${process.version}`,
      dynamoCalls,
      streaming,
      statsLatency,
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/latest.json', `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      [
        `${result.date}, ${result.machine}`,
        '',
        'DynamoDB calls per request (one container, sequential requests)',
        '',
        '| regime | requests | reads/request | writes/request | commands |',
        '|---|---|---|---|---|',
        ...dynamoCalls.map(
          (r) =>
            `| ${r.regime} | ${r.requests} | ${r.readsPerRequest} | ${r.writesPerRequest} | ${JSON.stringify(r.commands)} |`,
        ),
        '',
        'Streaming (OpenAI SSE, 20 events): time to first / last byte, ms',
        '',
        '| path | requests | TTFB p50 | TTFB p99 | total p50 | total p99 |',
        '|---|---|---|---|---|---|',
        ...streaming.map(
          (s) => `| ${s.path} | ${s.requests} | ${s.ttfbP50} | ${s.ttfbP99} | ${s.totalP50} | ${s.totalP99} |`,
        ),
        '',
        `Failure event → visible in /stats (local stream poller, 200 ms interval): p50 ${statsLatency.p50Ms} ms, max ${statsLatency.maxMs} ms over ${statsLatency.samples} samples`,
      ].join('\n'),
    );
  } finally {
    await dynamo.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
