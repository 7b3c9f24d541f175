/**
 * One gateway process of the benchmark fleet ("one Lambda container"): forked by the benchmark with an IPC channel,
 * it runs the local runtime with the config it is sent, answers `ready` with its URL, and on `stop` closes and
 * reports the DynamoDB commands and request units it used. It exits when its parent goes away or after
 * `maxLifetimeMs`, whichever comes first, so nothing outlives a benchmark run.
 */
import type { CommandCounts } from '../local/command-counter';
import { countCommands } from '../local/command-counter';
import { type LocalRuntime, startLocalRuntime } from '../local/local-runtime';
import { parseConfig } from '../shared/config/load-config';
import { silentLog } from '../shared/observability/log';
import type { MetricsSink } from '../shared/observability/metrics-sink';
import { MemoryBreakerStore } from '../shared/store/memory-breaker-store';
import { type CapacityTally, tallyCapacity } from './capacity';
import type { ReadyMessage, StartMessage, StoppedMessage } from './gateway-process';

function send(message: unknown): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, () => resolve());
  });
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('fleet-member.ts must be forked with an IPC channel');
  let runtime: LocalRuntime | undefined;
  let counts: CommandCounts = new Map();
  let capacity: CapacityTally = { rru: 0, wru: 0, maxItemBytes: 0, queries: 0 };
  // The proxy's metrics, summed by name (BreakerStoreErrors tells when the container fell back to memory).
  const metrics: Record<string, number> = {};
  const sink: MetricsSink = {
    record: (name, value) => {
      metrics[name] = (metrics[name] ?? 0) + value;
    },
    flush: () => {},
  };
  process.once('disconnect', () => process.exit(0));
  process.once('SIGTERM', () => process.exit(0));
  const memoryStore = new MemoryBreakerStore();
  const usage = (): StoppedMessage => ({
    kind: 'stopped',
    commands: Object.fromEntries(counts),
    capacity: { ...capacity },
    metrics: { ...metrics },
    transitions: memoryStore.events
      .filter((e) => e.type.startsWith('circuit_'))
      .map((e) => ({ type: e.type, instance: e.instance, timestamp: e.timestamp })),
  });
  process.on('message', async (message: StartMessage | { kind: 'stop' | 'usage' }) => {
    try {
      if (message.kind === 'start') {
        setTimeout(() => process.exit(3), message.maxLifetimeMs);
        runtime = await startLocalRuntime({
          config: parseConfig(message.configYaml, {}),
          dynamoEndpoint: message.dynamoEndpoint,
          log: silentLog,
          pollStream: false,
          metrics: sink,
          createTables: message.createTables,
          ...(message.tables ? { tables: message.tables } : {}),
          ...(message.memoryStore ? { store: memoryStore } : {}),
          onDynamoClient: (client) => {
            counts = countCommands(client);
            capacity = tallyCapacity(client);
          },
        });
        await send({ kind: 'ready', url: runtime.url } satisfies ReadyMessage);
      } else if (message.kind === 'usage') {
        await send({ ...usage(), kind: 'usage' });
      } else if (message.kind === 'stop') {
        await runtime?.close();
        await send(usage());
        process.exit(0);
      }
    } catch (error) {
      await send({ kind: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    }
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
