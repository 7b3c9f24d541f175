import { FakeProvider } from '../local/fake-provider';
import { startGatewayProcess } from './gateway-process';
import { closedLoop, type LoadRun, type LoadTarget, loadAgent, percentile, round } from './load';
import type { PortkeyGateway, PortkeyStatus } from './portkey';

/** The three ways to reach the fake upstream. */
export type OverheadPath = 'direct' | 'llm-gateway' | 'llm-gateway (memory store)' | 'portkey';

/** One path's numbers in one cell (latencies in ms). */
export interface PathNumbers {
  path: OverheadPath;
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  mean: number;
  /** Requests per second over the path's measured rounds. */
  rps: number;
}

/** One cell: an upstream latency and a concurrency, every path measured in alternating rounds. */
export interface OverheadCell {
  upstreamDelayMs: number;
  concurrency: number;
  rounds: number;
  paths: PathNumbers[];
  /** DynamoDB reads (BatchGetItem calls) of the llm-gateway process (shared store) while it served this cell. */
  gatewayReads: { calls: number; perSecond: number; perRequest: number };
}

export interface OverheadResult {
  portkey: PortkeyStatus;
  cells: OverheadCell[];
}

const MODEL_FOR_DELAY: Record<number, string> = { 0: 'gpt-bench-0ms', 20: 'gpt-bench-20ms' };

/**
 * Non-streaming overhead: the same fake upstream (answering at once, or after 20 ms) called directly, through the
 * local runtime (in its own Node process, DynamoDB breaker store, as one Lambda container) and through Portkey (in its
 * own Node process), at concurrency 1 and 32. Paths are measured in alternating rounds within one run so that drift on
 * a shared machine hits all of them alike.
 */
export async function measureOverhead(
  dynamoEndpoint: string,
  options: {
    /** Portkey, started by the caller; null when it could not run (reported as such). */
    portkey: PortkeyGateway | null;
    c1Requests?: number;
    c32Requests?: number;
    rounds?: number;
    log?: (line: string) => void;
  },
): Promise<OverheadResult> {
  const log = options.log ?? (() => {});
  const rounds = options.rounds ?? 5;
  const upstreams = {
    0: await FakeProvider.start('up-0ms', { kind: 'ok' }),
    20: await FakeProvider.start('up-20ms', { kind: 'ok', delayMs: 20 }),
  } as Record<number, FakeProvider>;
  const gatewayConfig = `
routing: { defaultProvider: openai }
providers:
  openai:
    - { name: up-0ms, baseUrl: "${upstreams[0].url}", apiKey: k, models: [${MODEL_FOR_DELAY[0]}] }
    - { name: up-20ms, baseUrl: "${upstreams[20].url}", apiKey: k, models: [${MODEL_FOR_DELAY[20]}] }
`;
  const gateway = await startGatewayProcess({
    configYaml: gatewayConfig,
    dynamoEndpoint,
    tables: { state: 'overhead-state', events: 'overhead-events', rollups: 'overhead-rollups' },
    memoryStore: false,
    createTables: true,
  });
  // The same gateway with per-process in-memory breakers: what the shared store costs on the request path.
  const memoryGateway = await startGatewayProcess({
    configYaml: gatewayConfig,
    dynamoEndpoint,
    memoryStore: true,
    createTables: false,
  });
  let portkey = options.portkey;
  let portkeyStatus: OverheadResult['portkey'] = portkey
    ? { available: true, version: portkey.version }
    : { available: false, reason: 'not running' };
  const agents = {
    direct: loadAgent(32),
    'llm-gateway': loadAgent(32),
    'llm-gateway (memory store)': loadAgent(32),
    portkey: loadAgent(32),
  };
  const targetFor = (path: OverheadPath, delay: number): LoadTarget => {
    const upstream = upstreams[delay];
    const body = JSON.stringify({ model: MODEL_FOR_DELAY[delay], messages: [{ role: 'user', content: 'hi' }] });
    switch (path) {
      case 'direct':
        return { name: path, url: `${upstream.url}/v1/chat/completions`, headers: { authorization: 'Bearer k' }, body };
      case 'llm-gateway':
        return { name: path, url: `${gateway.url}/v1/chat/completions`, headers: {}, body };
      case 'llm-gateway (memory store)':
        return { name: path, url: `${memoryGateway.url}/v1/chat/completions`, headers: {}, body };
      case 'portkey':
        return {
          name: path,
          url: `${portkey?.url}/v1/chat/completions`,
          headers: portkey?.headersFor(upstream.url) ?? {},
          body,
        };
    }
  };
  try {
    if (portkey) {
      const reason = await verifyReachesUpstream(targetFor('portkey', 0), upstreams[0]);
      if (reason) {
        portkeyStatus = { available: false, reason: `Portkey did not reach the fake upstream: ${reason}` };
        portkey = null;
      }
    }
    for (const path of ['llm-gateway', 'llm-gateway (memory store)'] as const) {
      const problem = await verifyReachesUpstream(targetFor(path, 0), upstreams[0]);
      if (problem) throw new Error(`${path} did not reach the fake upstream: ${problem}`);
    }
    const paths: OverheadPath[] = [
      'direct',
      'llm-gateway',
      'llm-gateway (memory store)',
      ...(portkey ? (['portkey'] as const) : []),
    ];

    // Warm-up: connections, JIT, the breaker cache.
    for (const delay of [0, 20]) {
      for (const path of paths) {
        await closedLoop(targetFor(path, delay), { requests: 100, concurrency: 8, agent: agents[path] });
      }
    }

    const cells: OverheadCell[] = [];
    const plan = [
      { concurrency: 1, delay: 0, requests: options.c1Requests ?? 300 },
      { concurrency: 1, delay: 20, requests: options.c1Requests ?? 300 },
      { concurrency: 32, delay: 0, requests: options.c32Requests ?? 2000 },
      { concurrency: 32, delay: 20, requests: options.c32Requests ?? 2000 },
    ];
    for (const { concurrency, delay, requests } of plan) {
      const runs = new Map<OverheadPath, LoadRun[]>(paths.map((p) => [p, []]));
      const perRound = Math.ceil(requests / rounds);
      const readsBefore = (await gateway.usage()).commands.BatchGetItemCommand ?? 0;
      for (let r = 0; r < rounds; r++) {
        // Rotate the order each round so that no path always goes first.
        const order = paths.map((_, i) => paths[(i + r) % paths.length]);
        for (const path of order) {
          runs.get(path)?.push(
            await closedLoop(targetFor(path, delay), {
              requests: perRound,
              concurrency,
              agent: agents[path],
              timeLimitMs: 60_000,
            }),
          );
        }
      }
      const reads = ((await gateway.usage()).commands.BatchGetItemCommand ?? 0) - readsBefore;
      const gatewayRuns = runs.get('llm-gateway') ?? [];
      const gatewaySeconds = gatewayRuns.reduce((sum, r) => sum + r.elapsedMs, 0) / 1000;
      const gatewayRequests = gatewayRuns.reduce((sum, r) => sum + r.latencies.length, 0);
      const cell: OverheadCell = {
        upstreamDelayMs: delay,
        concurrency,
        rounds,
        paths: paths.map((path) => summarize(path, runs.get(path) ?? [])),
        gatewayReads: {
          calls: reads,
          perSecond: round(reads / Math.max(0.001, gatewaySeconds), 1),
          perRequest: round(reads / Math.max(1, gatewayRequests), 4),
        },
      };
      cells.push(cell);
      log(
        `overhead c=${concurrency} upstream ${delay} ms: ${cell.paths.map((p) => `${p.path} p50 ${p.p50} p99 ${p.p99} ${p.rps} req/s`).join('; ')}; gateway DynamoDB reads ${cell.gatewayReads.perSecond}/s`,
      );
    }
    return { portkey: portkeyStatus, cells };
  } finally {
    for (const agent of Object.values(agents)) agent.destroy();
    await gateway.stop();
    await memoryGateway.stop();
    for (const upstream of Object.values(upstreams)) await upstream.close();
  }
}

function summarize(path: OverheadPath, runs: LoadRun[]): PathNumbers {
  const latencies = runs.flatMap((r) => r.latencies);
  const elapsedMs = runs.reduce((sum, r) => sum + r.elapsedMs, 0);
  return {
    path,
    requests: latencies.length,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    mean: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)),
    rps: Math.round((latencies.length / elapsedMs) * 1000),
  };
}

/** Sends one request; returns why it did not reach `upstream` with a 200, or null when it did. */
async function verifyReachesUpstream(target: LoadTarget, upstream: FakeProvider): Promise<string | null> {
  const before = upstream.hits.length;
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...target.headers },
      body: target.body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.status !== 200) return `HTTP ${res.status}: ${text.slice(0, 200)}`;
    if (!text.includes(`Hello from ${upstream.name}`)) return `unexpected body: ${text.slice(0, 200)}`;
    if (upstream.hits.length !== before + 1) return `the upstream saw ${upstream.hits.length - before} requests`;
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
