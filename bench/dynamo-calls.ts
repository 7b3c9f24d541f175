import { type CommandCounts, countCommands, readCount, writeCount } from '../local/command-counter';
import { FakeProvider } from '../local/fake-provider';
import { startLocalRuntime } from '../local/local-runtime';
import { parseConfig } from '../shared/config/load-config';
import { silentLog } from '../shared/observability/log';
import type { TableNames } from '../shared/store/table-definitions';
import { type CapacityTally, tallyCapacity } from './capacity';
import { twoInstanceConfig } from './two-instance-config';

/** DynamoDB calls per request in one regime. */
export interface RegimeCalls {
  regime: string;
  requests: number;
  seconds: number;
  readsPerRequest: number;
  writesPerRequest: number;
  /** Read request units per request (DynamoDB billing rules applied to the requests sent). */
  rruPerRequest: number;
  /** Write request units per request. */
  wruPerRequest: number;
  commands: Record<string, number>;
}

function snapshot(counts: CommandCounts): CommandCounts {
  return new Map(counts);
}

function diff(after: CommandCounts, before: CommandCounts): CommandCounts {
  const out: CommandCounts = new Map();
  for (const [name, n] of after) if (n - (before.get(name) ?? 0) > 0) out.set(name, n - (before.get(name) ?? 0));
  return out;
}

/**
 * Counts the DynamoDB reads and writes one gateway container makes per request: steady state (healthy), an outage
 * (the primary answers 503: opening, then open), and recovery (probes, then closed again). Sequential requests,
 * as fast as they go, or paced at `ratePerSecond` (reads are cached per container for 1 s, so the read cost per
 * request depends on the request rate). Request units are computed from each command's input with DynamoDB's
 * on-demand billing rules.
 */
export async function measureDynamoCalls(
  dynamoEndpoint: string,
  options: { requestsPerRegime?: number; ratePerSecond?: number; tables?: TableNames } = {},
): Promise<RegimeCalls[]> {
  const requestsPerRegime = options.requestsPerRegime ?? 300;
  const primary = await FakeProvider.start('primary', { kind: 'ok' });
  const backup = await FakeProvider.start('backup', { kind: 'ok' });
  let counts: CommandCounts = new Map();
  let capacity: CapacityTally = { rru: 0, wru: 0, maxItemBytes: 0, queries: 0 };
  const runtime = await startLocalRuntime({
    config: parseConfig(
      twoInstanceConfig(primary, backup, {
        breaker: { initialBackoffSeconds: 2, maxBackoffSeconds: 8, jitterRatio: 0 },
      }),
      {},
    ),
    dynamoEndpoint,
    log: silentLog,
    // The aggregator would share the counted client; this measures the proxy alone.
    pollStream: false,
    ...(options.tables ? { tables: options.tables } : {}),
    onDynamoClient: (client) => {
      counts = countCommands(client);
      capacity = tallyCapacity(client);
    },
  });
  const send = async () => {
    const res = await fetch(`${runtime.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`unexpected ${res.status}`);
  };
  const results: RegimeCalls[] = [];
  const regime = async (name: string, requests: number, before?: () => Promise<void>) => {
    await before?.();
    const start = snapshot(counts);
    const units = { ...capacity };
    const t0 = performance.now();
    for (let i = 0; i < requests; i++) {
      if (options.ratePerSecond) {
        const wait = t0 + (i * 1000) / options.ratePerSecond - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await send();
    }
    const seconds = (performance.now() - t0) / 1000;
    const d = diff(counts, start);
    results.push({
      regime: name,
      requests,
      seconds: Number(seconds.toFixed(2)),
      readsPerRequest: Number((readCount(d) / requests).toFixed(4)),
      writesPerRequest: Number((writeCount(d) / requests).toFixed(4)),
      rruPerRequest: Number(((capacity.rru - units.rru) / requests).toFixed(4)),
      wruPerRequest: Number(((capacity.wru - units.wru) / requests).toFixed(4)),
      commands: Object.fromEntries(d),
    });
  };
  try {
    await send(); // warm-up (first read of the breaker items)
    await regime('steady state (all healthy)', requestsPerRegime);
    await regime('outage: opening (primary 503, first 3 requests)', 3, async () =>
      primary.behave({ kind: 'status', status: 503 }),
    );
    await regime('outage: circuit open', requestsPerRegime);
    await regime('recovery: probes until closed, then closed', requestsPerRegime, async () => {
      primary.behave({ kind: 'ok' });
      await new Promise((r) => setTimeout(r, 2100));
    });
    return results;
  } finally {
    await runtime.close();
    await primary.close();
    await backup.close();
  }
}
