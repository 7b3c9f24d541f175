import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { measureDynamoCalls } from './dynamo-calls';

/** `npm run bench`: runs the benchmarks (loopback only, bounded) and writes bench/results/latest.json + a table. */
async function main(): Promise<void> {
  const dynamoCalls = await measureDynamoCalls();
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}, Node ${process.version}`,
    dynamoCalls,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', `${JSON.stringify(result, null, 2)}\n`);
  const rows = dynamoCalls.map(
    (r) =>
      `| ${r.regime} | ${r.requests} | ${r.readsPerRequest} | ${r.writesPerRequest} | ${JSON.stringify(r.commands)} |`,
  );
  console.log(
    [
      `DynamoDB calls per request (one container, sequential requests) — ${result.date}, ${result.machine}`,
      '',
      '| regime | requests | reads/request | writes/request | commands |',
      '|---|---|---|---|---|',
      ...rows,
    ].join('\n'),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
