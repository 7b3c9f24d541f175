import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { FakeProvider } from '../local/fake-provider';
import { breakerSchema } from '../shared/config/schema';
import { createDynamoClient } from '../shared/store/dynamo-client';
import type { TableNames } from '../shared/store/table-definitions';
import { stopChild } from './children';
import { type GatewayProcess, type StoppedMessage, startGatewayProcess, type Transition } from './gateway-process';
import { closedLoop, loadAgent, percentile, round } from './load';
import { twoInstanceConfig } from './two-instance-config';

/** The breaker settings of the fleet benchmark. */
export const FLEET_BREAKER = {
  failureThreshold: 3,
  initialBackoffSeconds: 1,
  maxBackoffSeconds: 4,
  backoffMultiplier: 2,
  jitterRatio: 0,
} as const;

const BREAKER_DEFAULTS = breakerSchema.parse({});
/** The gateway's default breaker read cache (breaker.cacheSeconds). */
export const DEFAULT_CACHE_SECONDS = BREAKER_DEFAULTS.cacheSeconds;
/** The gateway's default hold-back after an uncleared failure (breaker.holdBackSeconds; 0: off). */
export const DEFAULT_HOLD_BACK_SECONDS = BREAKER_DEFAULTS.holdBackSeconds;
/** The hold-back of the runs that turn it on. */
export const FLEET_HOLD_BACK_SECONDS = 1;

/** One kind of breaker store the fleet runs with, and the breaker settings that vary between the runs. */
export interface FleetVariant {
  store: 'shared DynamoDB' | 'in-memory per process';
  /** breaker.cacheSeconds of a shared run (0: every request reads the breaker items); null for in-memory breakers. */
  cacheSeconds: number | null;
  /** breaker.holdBackSeconds of the run (0: off, the default). */
  holdBackSeconds: number;
}

/**
 * The runs, in order: shared with the defaults (the default read cache, no hold-back); shared with the default cache
 * and a hold-back; shared with no cache and a hold-back (the strictest); in-memory per process with the defaults.
 */
export const FLEET_VARIANTS: readonly FleetVariant[] = [
  { store: 'shared DynamoDB', cacheSeconds: DEFAULT_CACHE_SECONDS, holdBackSeconds: DEFAULT_HOLD_BACK_SECONDS },
  { store: 'shared DynamoDB', cacheSeconds: DEFAULT_CACHE_SECONDS, holdBackSeconds: FLEET_HOLD_BACK_SECONDS },
  { store: 'shared DynamoDB', cacheSeconds: 0, holdBackSeconds: FLEET_HOLD_BACK_SECONDS },
  { store: 'in-memory per process', cacheSeconds: null, holdBackSeconds: DEFAULT_HOLD_BACK_SECONDS },
];

/**
 * The store, then the cache of a shared run and the hold-back when on: 'shared DynamoDB, 1 s cache', 'shared DynamoDB,
 * no cache, 1 s hold-back', 'in-memory per process'.
 */
export function fleetLabel(variant: FleetVariant): string {
  const parts: string[] = [variant.store];
  if (variant.cacheSeconds !== null) {
    parts.push(variant.cacheSeconds === 0 ? 'no cache' : `${variant.cacheSeconds} s cache`);
  }
  if (variant.holdBackSeconds > 0) parts.push(`${variant.holdBackSeconds} s hold-back`);
  return parts.join(', ');
}

/** Tables of their own for each shared run (named after its cache and hold-back), so none sees another's state. */
function tablesOf(variant: FleetVariant): TableNames | undefined {
  if (variant.cacheSeconds === null) return undefined;
  const prefix = `fleet-cache-${variant.cacheSeconds}-hold-${variant.holdBackSeconds}`;
  return { state: `${prefix}-state`, events: `${prefix}-events`, rollups: `${prefix}-rollups` };
}

/**
 * A burst of attempts on the dead instance: the detection, or the probe(s) of one backoff window. Attempts less than
 * BURST_GAP_MS apart belong to the same burst (the shortest backoff is 1 s).
 */
export interface Burst {
  /** Its first attempt, ms after the instance died. */
  atMs: number;
  hits: number;
}

export const BURST_GAP_MS = 400;

function bursts(times: number[]): Burst[] {
  const out: Burst[] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (out.length === 0 || t - last >= BURST_GAP_MS) out.push({ atMs: Math.round(t), hits: 0 });
    out[out.length - 1].hits++;
    last = t;
  }
  return out;
}

/** One fleet run: N processes, one kind of breaker store. */
export interface FleetRun extends FleetVariant {
  /** fleetLabel of the variant. */
  label: string;
  processes: number;
  requests: number;
  /** Requests answered with something other than 2xx. */
  errors: number;
  /** Their statuses (0: no answer). */
  errorStatuses: Record<string, number>;
  /** Requests the gateways answered 503 "no healthy instance". */
  noHealthyInstance: number;
  seconds: number;
  /** Attempts that reached the dead instance. */
  deadHits: number;
  /** When the first circuit opened, ms after the instance died. */
  firstOpenMs: number | null;
  /** Attempts before the first circuit opened. */
  hitsBeforeOpen: number;
  /**
   * The detection: attempts before the first retry time (the first opening + the initial backoff), so those before the
   * opening and those of containers that had not seen it yet; every attempt when no circuit opened.
   */
  detectionHits: number;
  /** Circuit openings (the fleet's in a shared run; every process's own in the in-memory run). */
  openings: number;
  /** Attempts in each one-second bucket after the instance died. */
  hitsPerSecond: number[];
  /** Every attempt grouped in bursts: usually the detection, then one burst per backoff window. */
  bursts: Burst[];
  /** The attempts after the detection, grouped in bursts: a backoff window's probe(s) each. */
  probeBursts: Burst[];
  /** Backoff windows that elapsed during the run after the first opening (schedule 1, 2, 4, 4, … s). */
  backoffWindowsElapsed: number;
  /** failureThreshold + one probe per elapsed backoff window, for the whole fleet. */
  target: number;
  /** DynamoDB usage of the whole fleet, per request, and its commands in total. */
  dynamo: {
    callsPerRequest: number;
    rruPerRequest: number;
    wruPerRequest: number;
    commands: Record<string, number>;
  };
  /** Breaker store calls that failed across the fleet (each makes a container use its in-memory view for 2 s). */
  storeErrors: number;
  /** Client-side latency of the fleet's requests (ms). */
  p50Ms: number;
  p99Ms: number;
}

export interface FleetResult {
  /** The breaker settings common to every run (each run's cacheSeconds and holdBackSeconds are its own). */
  breaker: typeof FLEET_BREAKER;
  ratePerSecond: number;
  concurrency: number;
  warmupRequests: number;
  runs: FleetRun[];
}

/** Backoff windows of the schedule that end before `untilMs` when the circuit first opened at `openedAtMs`. */
function windowsElapsed(openedAtMs: number, untilMs: number): number {
  let t = openedAtMs;
  let count = 0;
  for (let k = 0; k < 1000; k++) {
    t += backoffSeconds(k) * 1000;
    if (t > untilMs) break;
    count++;
  }
  return count;
}

function backoffSeconds(reopenCount: number): number {
  return Math.min(
    FLEET_BREAKER.initialBackoffSeconds * FLEET_BREAKER.backoffMultiplier ** reopenCount,
    FLEET_BREAKER.maxBackoffSeconds,
  );
}

/** The `circuit_open` transitions of `instance` in the events table (epoch ms), bounded scan. */
async function openingsInTable(dynamoEndpoint: string, table: string, instance: string): Promise<number[]> {
  const client = createDynamoClient({ endpoint: dynamoEndpoint, timeoutMs: 5000, localCredentials: true });
  const times: number[] = [];
  try {
    let start: Record<string, unknown> | undefined;
    for (let page = 0; page < 100; page++) {
      const out: ScanCommandOutput = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) {
        if (item.type === 'circuit_open' && item.instance === instance) times.push(Number(item.timestamp));
      }
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
  } finally {
    client.destroy();
  }
  return times.sort((a, b) => a - b);
}

/**
 * Fleet coherence: `processes` gateway processes (separate Node processes, separate caches, like Lambda containers)
 * share one DynamoDB Local. Of two OpenAI instances the preferred one dies (answers 503 from then on) after a warm-up
 * during which it was healthy. `requests` requests then go round-robin across the processes, paced at
 * `ratePerSecond` with at most `concurrency` in flight, and every attempt that reaches the dead instance is counted
 * with its time. The run is made once per FLEET_VARIANTS entry: shared with the default breaker settings (1 s read
 * cache, no hold-back), shared with the cache and a 1 s hold-back, shared with no cache (every request reads the
 * breaker items) and a 1 s hold-back, and per-process in-memory breakers with the default settings.
 */
export async function measureFleet(
  dynamoEndpoint: string,
  options: {
    processes?: number;
    requests?: number;
    concurrency?: number;
    ratePerSecond?: number;
    /** Requests sent while the preferred instance is still healthy, before it dies (not counted). */
    warmupRequests?: number;
    log?: (line: string) => void;
  } = {},
): Promise<FleetResult> {
  const processes = options.processes ?? 8;
  const requests = options.requests ?? 2000;
  const concurrency = options.concurrency ?? 16;
  const ratePerSecond = options.ratePerSecond ?? 160;
  const warmupRequests = options.warmupRequests ?? 240;
  const log = options.log ?? (() => {});
  const dead = await FakeProvider.start('dead', { kind: 'ok' });
  const healthy = await FakeProvider.start('healthy', { kind: 'ok' });
  const configYaml = (variant: FleetVariant) =>
    twoInstanceConfig(dead, healthy, {
      instance: { requestTimeoutSeconds: 5, firstByteTimeoutSeconds: 3 },
      breaker: {
        ...FLEET_BREAKER,
        ...(variant.cacheSeconds === null ? {} : { cacheSeconds: variant.cacheSeconds }),
        holdBackSeconds: variant.holdBackSeconds,
      },
      retry: { maxAttempts: 3, totalTimeoutSeconds: 20 },
      store: { timeoutSeconds: 1 },
    });
  const runs: FleetRun[] = [];
  try {
    for (const variant of FLEET_VARIANTS) {
      const memoryStore = variant.cacheSeconds === null;
      const tables = tablesOf(variant);
      const members: GatewayProcess[] = [];
      const agent = loadAgent(concurrency);
      try {
        // The first creates the tables; the others start together once they exist.
        const start = (createTables: boolean) =>
          startGatewayProcess({ configYaml: configYaml(variant), dynamoEndpoint, tables, memoryStore, createTables });
        members.push(await start(!memoryStore));
        const rest = await Promise.allSettled(Array.from({ length: processes - 1 }, () => start(false)));
        for (const r of rest) if (r.status === 'fulfilled') members.push(r.value);
        const failed = rest.find((r) => r.status === 'rejected');
        if (failed) throw (failed as PromiseRejectedResult).reason;

        const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
        const target = (i: number) => ({
          name: 'fleet',
          url: `${members[i % members.length].url}/v1/chat/completions`,
          headers: {},
          body,
        });
        // Warm-up with the preferred instance still healthy (JIT, connections, breaker caches), then it dies.
        dead.behave({ kind: 'ok' });
        await closedLoop(target, { requests: warmupRequests, concurrency, agent, ratePerSecond, timeLimitMs: 30_000 });
        dead.behave({ kind: 'status', status: 503 });
        const firstHit = dead.hits.length;
        const t0 = Date.now();
        const errorStatuses: Record<string, number> = {};
        const run = await closedLoop(target, {
          requests,
          concurrency,
          agent,
          ratePerSecond,
          timeLimitMs: 60_000,
          requestTimeoutMs: 30_000,
          onResponse: (_, status) => {
            if (status < 200 || status >= 300) errorStatuses[status] = (errorStatuses[status] ?? 0) + 1;
          },
        });
        const endMs = Date.now() - t0;
        const usage = (await Promise.all(members.map((m) => m.stop()))).filter((u): u is StoppedMessage => u !== null);
        members.length = 0;

        const hits = dead.hits
          .slice(firstHit)
          .map((h) => h.at - t0)
          .sort((a, b) => a - b);
        const openings = tables
          ? (await openingsInTable(dynamoEndpoint, tables.events, 'dead')).map((t) => t - t0)
          : usage
              .flatMap((u) => u.transitions)
              .filter((t: Transition) => t.type === 'circuit_open' && t.instance === 'dead')
              .map((t) => t.timestamp - t0)
              .sort((a, b) => a - b);
        const perSecond = Array.from({ length: Math.ceil(endMs / 1000) }, () => 0);
        for (const t of hits) perSecond[Math.min(perSecond.length - 1, Math.max(0, Math.floor(t / 1000)))]++;
        const firstOpenMs = openings[0] ?? null;
        const detectionEndMs =
          firstOpenMs === null ? Number.POSITIVE_INFINITY : firstOpenMs + FLEET_BREAKER.initialBackoffSeconds * 1000;
        const elapsed = firstOpenMs === null ? 0 : windowsElapsed(firstOpenMs, endMs);
        const served = run.latencies.length;
        const commands: Record<string, number> = {};
        for (const u of usage) {
          for (const [name, n] of Object.entries(u.commands)) commands[name] = (commands[name] ?? 0) + n;
        }
        const calls = Object.values(commands).reduce((a, b) => a + b, 0);
        const fleetRun: FleetRun = {
          ...variant,
          label: fleetLabel(variant),
          processes,
          requests: served,
          errors: run.errors,
          errorStatuses,
          noHealthyInstance: usage.reduce((s, u) => s + (u.metrics.NoHealthyInstance ?? 0), 0),
          seconds: round(run.elapsedMs / 1000),
          deadHits: hits.length,
          firstOpenMs: firstOpenMs === null ? null : Math.round(firstOpenMs),
          hitsBeforeOpen: hits.filter((t) => firstOpenMs === null || t < firstOpenMs).length,
          detectionHits: hits.filter((t) => t < detectionEndMs).length,
          openings: openings.length,
          hitsPerSecond: perSecond,
          bursts: bursts(hits),
          probeBursts: bursts(hits.filter((t) => t >= detectionEndMs)),
          backoffWindowsElapsed: elapsed,
          target: FLEET_BREAKER.failureThreshold + elapsed,
          dynamo: {
            callsPerRequest: round(calls / Math.max(1, served), 4),
            rruPerRequest: round(usage.reduce((s, u) => s + u.capacity.rru, 0) / Math.max(1, served), 4),
            wruPerRequest: round(usage.reduce((s, u) => s + u.capacity.wru, 0) / Math.max(1, served), 4),
            commands,
          },
          storeErrors: usage.reduce((s, u) => s + (u.metrics.BreakerStoreErrors ?? 0), 0),
          p50Ms: percentile(run.latencies, 50),
          p99Ms: percentile(run.latencies, 99),
        };
        runs.push(fleetRun);
        log(
          `fleet (${fleetRun.label}): ${fleetRun.deadHits} attempts on the dead instance (target ≤ ${fleetRun.target}), detection ${fleetRun.detectionHits} (${fleetRun.hitsBeforeOpen} before the first opening at ${fleetRun.firstOpenMs} ms), probes ${fleetRun.probeBursts.map((w) => w.hits).join('/')}, ${fleetRun.openings} openings, bursts ${fleetRun.bursts.map((w) => w.hits).join('/')}, ${fleetRun.requests} requests in ${fleetRun.seconds} s, per second ${fleetRun.hitsPerSecond.join(' ')}; ${fleetRun.errors} errors ${JSON.stringify(errorStatuses)}, ${fleetRun.storeErrors} store errors, p50 ${fleetRun.p50Ms} ms, p99 ${fleetRun.p99Ms} ms, DynamoDB ${fleetRun.dynamo.callsPerRequest} calls, ${fleetRun.dynamo.rruPerRequest} RRU, ${fleetRun.dynamo.wruPerRequest} WRU per request ${JSON.stringify(commands)}`,
        );
      } finally {
        agent.destroy();
        await Promise.all(members.map((m) => stopChild(m.child)));
      }
    }
  } finally {
    await dead.close();
    await healthy.close();
  }
  return { breaker: FLEET_BREAKER, ratePerSecond, concurrency, warmupRequests, runs };
}
