import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { FakeProvider } from '../../local/fake-provider';
import { type LocalRuntime, startLocalRuntime } from '../../local/local-runtime';
import { parseConfig } from '../../shared/config/load-config';
import type { FailoverEvent } from '../../shared/events/failover-event';
import { MemoryLog } from '../../shared/observability/log';
import type { CircuitState } from '../../shared/resilience/breaker-record';
import { breakerKey } from '../../shared/store/breaker-item';
import { allEvents, dynamoEndpoint, freshTables, localClient } from '../support/dynamo';
import { directChat, eventually, pause, runTraffic, type Traffic } from './support';

// SPEC §4.2: "Every transition is a conditional write: under any concurrency a transition happens once and produces
// one event." Four local runtimes (four Lambda containers, each with its own breaker cache) share one set of tables
// while 100 concurrent requests run and one instance flaps: fails, recovers, fails.

jest.setTimeout(30_000);

type Transition = 'circuit_open' | 'circuit_half_open' | 'circuit_closed';

/** The circuit state machine as a table: from a state, which transition events may come next and where they lead. */
const NEXT: Record<CircuitState, Partial<Record<Transition, CircuitState>>> = {
  closed: { circuit_open: 'open' },
  open: { circuit_half_open: 'half_open' },
  half_open: { circuit_closed: 'closed', circuit_open: 'open' },
};

/** The record version a transition event was written with, read from its id `<instance>:v<version>:<type>`. */
function versionOf(event: FailoverEvent): number {
  const match = /^(.+):v(\d+):(circuit_\w+)$/.exec(event.id);
  if (!match || match[1] !== event.instance || match[3] !== event.type) {
    throw new Error(`transition event id does not name its instance, version and type: ${event.id}`);
  }
  return Number(match[2]);
}

/** Walks transition events in version order; returns the state reached and the first illegal step, if any. */
function walk(transitions: FailoverEvent[]): { state: CircuitState; illegal: string | null } {
  let state: CircuitState = 'closed';
  for (const event of transitions) {
    const next: CircuitState | undefined = NEXT[state][event.type as Transition];
    if (!next) return { state, illegal: `${event.type} (v${versionOf(event)}) while ${state}` };
    state = next;
  }
  return { state, illegal: null };
}

/** How many times a runtime's log says it applied each transition to `instance`. */
function loggedTransitions(log: MemoryLog, instance: string): Record<Transition, number> {
  const suffix = `- instance: ${instance}`;
  const count = (prefix: string) =>
    log.lines.filter((l) => l.message.startsWith(prefix) && l.message.includes(suffix)).length;
  return {
    circuit_open: count('Circuit opened due to'),
    circuit_half_open: count('Circuit half-open'),
    circuit_closed: count('Circuit closed after'),
  };
}

describe('breaker transitions while an instance flaps under 100 concurrent requests from four containers', () => {
  const runtimes: { runtime: LocalRuntime; log: MemoryLog }[] = [];
  const fakes: FakeProvider[] = [];
  const admin = localClient(5000);
  let traffic: Traffic | undefined;
  afterAll(async () => {
    // In-flight requests end before the runtimes close.
    await traffic?.stop();
    await Promise.all(runtimes.map(({ runtime }) => runtime.close()));
    await Promise.all(fakes.map((f) => f.close()));
    admin.destroy();
  });

  it('writes exactly one event per transition, and the events walk the state machine to the stored state', async () => {
    // Prepare: an instance the test makes fail and recover (`flaky`) beside three steady ones, and four containers.
    // `flaky` takes a small weight, so that about 6 of the 100 requests in flight pick it first while all 100 read and
    // act on its shared breaker state (and the steady instances keep the load from tripping the whole provider).
    const tables = await freshTables(admin);
    let flakyFails = false;
    const flaky = await FakeProvider.start('flaky', () =>
      flakyFails ? { kind: 'status', status: 500 } : { kind: 'ok' },
    );
    const steady = await Promise.all(['steady-a', 'steady-b', 'steady-c'].map((name) => FakeProvider.start(name)));
    fakes.push(flaky, ...steady);
    // First-byte timeouts are generous on the steady instances, so 100 requests in flight on a small shared machine
    // rarely make them look slow; when they do, their transitions are checked like the flaky one's.
    const yaml = `
routing: { defaultProvider: openai }
providers:
  openai:
    - { name: flaky, baseUrl: "${flaky.url}/v1", apiKey: sk-test-flaky-0123456789, weight: 20, firstByteTimeoutSeconds: 1 }
${steady.map((f) => `    - { name: ${f.name}, baseUrl: "${f.url}/v1", apiKey: sk-test-${f.name}-0123456789, firstByteTimeoutSeconds: 5 }`).join('\n')}
breaker:
  failureThreshold: 3
  failureWindowSeconds: 30
  successThreshold: 2
  initialBackoffSeconds: 0.2
  maxBackoffSeconds: 0.4
  jitterRatio: 0
  probeLeaseSeconds: 1
  cacheSeconds: 0.5
store: { timeoutSeconds: 5 }
retry: { maxAttempts: 3, totalTimeoutSeconds: 10 }
`;
    for (let i = 0; i < 4; i++) {
      const log = new MemoryLog();
      const runtime = await startLocalRuntime({
        config: parseConfig(yaml, {}),
        dynamoEndpoint: dynamoEndpoint(),
        tables,
        log,
        createTables: false,
        pollStream: false,
      });
      runtimes.push({ runtime, log });
    }
    /** The flaky instance's stored circuit state, once it is `state` (for the phase changes). */
    const storedState = async (state: CircuitState) => {
      const out = await admin.send(
        new GetCommand({ TableName: tables.state, Key: { pk: breakerKey('flaky') }, ConsistentRead: true }),
      );
      return out.Item?.state === state ? true : undefined;
    };

    // Act: 100 requests in flight at all times, spread over the four containers. After a healthy second (which also
    // warms DynamoDB Local up), the flaky instance fails until its circuit opens, recovers until it closes again, then
    // fails until it opens again. Phases follow the stored state, not the clock: a slow machine changes how long the
    // run takes, not what it proves.
    traffic = runTraffic(
      100,
      directChat((n) => runtimes[n % runtimes.length].runtime.deps),
    );
    await pause(1000);
    flakyFails = true;
    await eventually('the flaky circuit to open', 5000, () => storedState('open'));
    flakyFails = false;
    await eventually('the flaky circuit to close after recovering', 6000, () => storedState('closed'));
    flakyFails = true;
    await eventually('the flaky circuit to open again', 5000, () => storedState('open'));
    await pause(300);
    const results = await traffic.stop();

    // Assess: every client got an answer: 200, or (should every instance be blocked at once) the gateway's own 503.
    expect(results.length).toBeGreaterThan(100);
    expect(
      results.filter(
        (r) => r.status !== 200 && !(r.status === 503 && r.body?.includes('"code":"no_healthy_instance"')),
      ),
    ).toEqual([]);
    const all = await allEvents(admin, tables);
    // The store stayed healthy throughout: every transition was a conditional write, none made in memory only.
    expect(all.filter((e) => e.id.includes(':local-'))).toEqual([]);
    // For every instance (the flaky one, and any steady one the load made stumble), the transitions hold together.
    for (const instance of ['flaky', ...steady.map((f) => f.name)]) {
      const transitions = all
        .filter((e) => e.instance === instance && e.type.startsWith('circuit_'))
        .sort((a, b) => versionOf(a) - versionOf(b));
      const countOf = (type: Transition) => transitions.filter((e) => e.type === type).length;
      // None is duplicated: ids are unique, and no two transitions claim the same record version.
      expect(new Set(transitions.map((e) => e.id)).size).toBe(transitions.length);
      expect(new Set(transitions.map(versionOf)).size).toBe(transitions.length);
      // None is lost: in version order they form a legal walk (closed → open → half_open → closed | open …), where
      // every half-open is followed by exactly one verdict …
      const { state, illegal } = walk(transitions);
      expect({ instance, illegal }).toEqual({ instance, illegal: null });
      expect(countOf('circuit_open')).toBe(countOf('circuit_half_open') + (state === 'open' ? 1 : 0));
      const verdicts = transitions.flatMap((e, i) =>
        e.type === 'circuit_half_open' ? [transitions[i + 1]?.type] : [],
      );
      expect(verdicts.filter((v) => v !== 'circuit_closed' && v !== 'circuit_open')).toEqual(
        state === 'half_open' ? [undefined] : [],
      );
      // … ending where the stored breaker record stands, at or after the last transition's version …
      const stored = await admin.send(
        new GetCommand({ TableName: tables.state, Key: { pk: breakerKey(instance) }, ConsistentRead: true }),
      );
      expect({ instance, state: stored.Item?.state ?? 'closed' }).toEqual({ instance, state });
      if (transitions.length > 0) {
        expect(stored.Item?.version).toBeGreaterThanOrEqual(versionOf(transitions[transitions.length - 1]));
      }
      // … and the four containers together logged exactly the transitions the events record.
      const logged = runtimes
        .map(({ log }) => loggedTransitions(log, instance))
        .reduce((sum, one) => ({
          circuit_open: sum.circuit_open + one.circuit_open,
          circuit_half_open: sum.circuit_half_open + one.circuit_half_open,
          circuit_closed: sum.circuit_closed + one.circuit_closed,
        }));
      expect({ instance, ...logged }).toEqual({
        instance,
        circuit_open: countOf('circuit_open'),
        circuit_half_open: countOf('circuit_half_open'),
        circuit_closed: countOf('circuit_closed'),
      });
      // The flaky instance really flapped.
      if (instance === 'flaky') {
        expect(countOf('circuit_open')).toBeGreaterThanOrEqual(2);
        expect(countOf('circuit_closed')).toBeGreaterThanOrEqual(1);
      }
    }
  });
});
