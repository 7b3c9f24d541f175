import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { type DynamoDbLocal, startDynamoDbLocal } from '../local/dynamodb-local';
import { killAllChildren } from './children';
import { measureColdStart } from './cold-start';
import { measureDynamoCalls } from './dynamo-calls';
import { measureFleet } from './fleet';
import { measureOverhead } from './overhead';
import { type PortkeyGateway, type PortkeyStatus, startPortkey } from './portkey';
import { type BenchResults, renderMarkdown } from './report';
import { measureStatsLatency } from './stats-latency';
import { measureStreamingTtfb } from './streaming-ttfb';

const ROOT = join(__dirname, '..');
const RESULTS = join(ROOT, 'bench', 'results', 'latest.json');
const MARKDOWN = join(ROOT, 'BENCHMARKS.md');
/** The whole run stops (children killed, exit 1) if it takes longer than this. */
const WATCHDOG_MS = 9 * 60_000;

/** DynamoDB Local, once started: stopped on every way out, the watchdog and signals included. */
let dynamo: DynamoDbLocal | null = null;

/** Stops everything this run started. */
async function stopEverything(): Promise<void> {
  await killAllChildren();
  await dynamo?.stop();
  dynamo = null;
}

function log(line: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  log(`${name}…`);
  const result = await run();
  log(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

/**
 * `npm run bench`: runs every benchmark (loopback only, bounded in requests and time), writes
 * bench/results/latest.json and regenerates BENCHMARKS.md from it. `npm run bench -- --report` only regenerates
 * BENCHMARKS.md from the last results.
 */
async function main(): Promise<void> {
  if (process.argv.includes('--report')) {
    const results = JSON.parse(readFileSync(RESULTS, 'utf8')) as BenchResults;
    writeFileSync(MARKDOWN, `${renderMarkdown(results)}\n`);
    log(`BENCHMARKS.md regenerated from ${RESULTS}`);
    return;
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${WATCHDOG_MS / 60_000} minutes; stopping`);
    void stopEverything().finally(() => process.exit(1));
  }, WATCHDOG_MS);
  watchdog.unref();
  const started = performance.now();
  const loadStart = loadavg()[0];
  const local = await step('DynamoDB Local', () => startDynamoDbLocal());
  dynamo = local;
  let portkey: PortkeyGateway | null = null;
  try {
    const dynamoCalls = await step('DynamoDB calls per request', () => measureDynamoCalls(local.endpoint));
    const costRate = 10;
    const dynamoCost = await step(`DynamoDB cost at ${costRate} req/s`, () =>
      measureDynamoCalls(local.endpoint, {
        requestsPerRegime: 100,
        ratePerSecond: costRate,
        tables: { state: 'cost-state', events: 'cost-events', rollups: 'cost-rollups' },
      }),
    );
    let portkeyStatus: PortkeyStatus;
    try {
      portkey = await step('Portkey start', () => startPortkey());
      portkeyStatus = { available: true, version: portkey.version };
    } catch (error) {
      portkeyStatus = { available: false, reason: (error as Error).message.split('\n')[0] };
      log(`Portkey unavailable: ${portkeyStatus.reason}`);
    }
    const overhead = await step('overhead', () => measureOverhead(local.endpoint, { portkey, log }));
    if (!overhead.portkey.available && portkey) {
      // It started but did not reach the upstream: leave it out of the streaming run too.
      portkeyStatus = overhead.portkey;
      await portkey.stop();
      portkey = null;
    }
    const streaming = await step('streaming TTFB', () => measureStreamingTtfb(local.endpoint, 60, portkey));
    await portkey?.stop();
    portkey = null;
    const statsLatency = await step('event → stats latency', () => measureStatsLatency(local.endpoint));
    const fleet = await step('fleet coherence', () => measureFleet(local.endpoint, { log }));
    const coldStart = await step('cold start', () => measureColdStart());
    const results: BenchResults = {
      date: new Date().toISOString(),
      machine: `${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}, Node ${process.version}`,
      loadAverage: { start: loadStart, end: loadavg()[0] },
      durationSeconds: Math.round((performance.now() - started) / 1000),
      portkey: portkeyStatus,
      overhead,
      streaming,
      fleet,
      dynamoCalls,
      dynamoCost: { ratePerSecond: costRate, regimes: dynamoCost },
      coldStart,
      statsLatency,
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
    const markdown = renderMarkdown(results);
    writeFileSync(MARKDOWN, `${markdown}\n`);
    console.log(`\n${markdown}`);
    log(`results: ${RESULTS}; BENCHMARKS.md regenerated; total ${results.durationSeconds} s`);
  } finally {
    await portkey?.stop();
    await stopEverything();
    clearTimeout(watchdog);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopEverything().finally(() => process.exit(130));
  });
}

main().catch(async (error) => {
  console.error(error);
  await stopEverything();
  process.exit(1);
});
