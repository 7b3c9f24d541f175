import type { FailoverEvent } from '../../shared/events/failover-event';
import { MemoryLog } from '../../shared/observability/log';
import { admission } from '../../shared/resilience/admission';
import { type BreakerOptions, DEFAULT_BREAKER_OPTIONS } from '../../shared/resilience/breaker-options';
import { type BreakerRecord, freshRecord } from '../../shared/resilience/breaker-record';
import { onSuccess } from '../../shared/resilience/breaker-transitions';
import { CircuitBreaker, type FailureDetail } from '../../shared/resilience/circuit-breaker';
import {
  type FailoverDeps,
  type FailoverInstance,
  type FailoverRequest,
  runFailover,
} from '../../shared/resilience/failover-loop';
import type { BreakerStore, EventStore, SaveResult } from '../../shared/store/breaker-store';
import { MemoryBreakerStore } from '../../shared/store/memory-breaker-store';
import { failoverRequest, http, OK, PRIMARY, type Reply, scriptedUpstream } from '../support/failover-fixtures';

/** Regression tests for the defects of the code review (pure and in-memory, on a controllable clock). */

const EXACT: BreakerOptions = { ...DEFAULT_BREAKER_OPTIONS, jitterRatio: 0 };
const T0 = Date.UTC(2025, 0, 1);
const CACHE_MS = 1_000;
const DEGRADED_MS = 2_000;

const HTTP_503: FailureDetail = {
  class: 'transient',
  retryAfterMs: null,
  status: 503,
  message: 'HTTP 503',
  requestId: 'req-fail',
};

/**
 * A store that delegates to a shared memory store, records every successful save (the record's history), and can be
 * made to fail (`down`: every call; `savesDown`: saves only) or to hold its next load back until released.
 */
class ControlledStore implements BreakerStore, EventStore {
  down = false;
  savesDown = false;
  private gate: Promise<void> | null = null;
  private release: (() => void) | null = null;

  constructor(
    readonly inner: MemoryBreakerStore,
    readonly history: BreakerRecord[] = [],
  ) {}

  /** The next load reads the store at once but answers only when the returned function is called. */
  holdNextLoad(): () => void {
    this.gate = new Promise<void>((resolve) => {
      this.release = resolve;
    });
    return () => this.release?.();
  }

  async load(instances: string[]): Promise<Map<string, BreakerRecord>> {
    this.check();
    const gate = this.gate;
    this.gate = null;
    const snapshot = await this.inner.load(instances);
    if (gate) await gate;
    return snapshot;
  }

  async save(next: BreakerRecord, expectedVersion: number, events: FailoverEvent[]): Promise<SaveResult> {
    this.check();
    if (this.savesDown) throw networkError();
    const result = await this.inner.save(next, expectedVersion, events);
    if (result.ok) this.history.push(next);
    return result;
  }

  async append(events: FailoverEvent[]): Promise<void> {
    this.check();
    return this.inner.append(events);
  }

  private check(): void {
    if (this.down) throw networkError();
  }
}

function networkError(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { name: 'NetworkingError' });
}

let now: number;

beforeEach(() => {
  now = T0;
});

/** One container's breaker over `store`, on the fake clock. */
function containerBreaker(store: BreakerStore & EventStore, log = new MemoryLog()): CircuitBreaker {
  return new CircuitBreaker({
    store,
    events: store,
    options: EXACT,
    cacheMs: CACHE_MS,
    providerOf: () => 'openai',
    clock: () => now,
    random: () => 0.5,
    log,
    degradedMs: DEGRADED_MS,
  });
}

function loopDeps(breaker: CircuitBreaker): FailoverDeps & { sleep: jest.Mock<Promise<void>, [number, AbortSignal?]> } {
  return {
    breaker,
    clock: () => now,
    random: () => 0,
    sleep: jest.fn(async (ms: number) => {
      now += ms;
    }),
    log: new MemoryLog(),
  };
}

const upstream = (script: Record<string, Reply[]>) => scriptedUpstream(script);

function request(
  instances: FailoverInstance[],
  attempt: FailoverRequest<FailoverInstance, unknown>['attempt'],
  overrides: Partial<FailoverRequest<FailoverInstance, unknown>> = {},
): FailoverRequest<FailoverInstance, unknown> {
  return failoverRequest(instances, attempt, now, overrides);
}

/** Has container `other` take the probe lease of `instance` for `holder` (checked on the record it keeps). */
async function takeLease(other: CircuitBreaker, instance: string, holder: string): Promise<void> {
  await other.acquireProbe(instance, holder, now + 30_000);
  expect((await other.view([instance])).get(instance)?.circuit).toMatchObject({
    state: 'half_open',
    probe: { holder },
  });
}

/**
 * Opens `instance` through container `other`, lets the backoff pass, and has `other` probe it successfully once:
 * the circuit is then half-open with one success and no probe lease.
 */
async function halfOpenWithOneSuccess(other: CircuitBreaker, instance: string): Promise<void> {
  for (let i = 0; i < EXACT.failureThreshold; i++) await other.recordFailure(instance, HTTP_503);
  now += EXACT.initialBackoffSeconds * 1000;
  await takeLease(other, instance, 'probe-1');
  await other.recordSuccess(instance, 'probe-1');
}

/** Has container `other` take the probe lease again and close the circuit with its second success. */
async function closeBySecondProbe(other: CircuitBreaker, instance: string): Promise<void> {
  await takeLease(other, instance, 'probe-2');
  await other.recordSuccess(instance, 'probe-2');
}

describe('review regressions', () => {
  describe('a probe racing another container that closed the circuit', () => {
    it("acquireProbe answers 'pass', not 'denied', when the store shows the circuit closed meanwhile", async () => {
      // Prepare: container A caches the half-open record; container B then closes the circuit.
      const store = new MemoryBreakerStore();
      const a = containerBreaker(store);
      const b = containerBreaker(store);
      await halfOpenWithOneSuccess(b, 'primary');
      expect((await a.view(['primary'])).get('primary')?.circuit).toEqual({
        state: 'half_open',
        successes: 1,
        probe: null,
      });
      await closeBySecondProbe(b, 'primary');
      expect(store.records.get('primary')?.circuit).toEqual({ state: 'closed' });
      expect((await a.view(['primary'])).get('primary')?.circuit.state).toBe('half_open'); // A's view is stale

      // Act
      const lease = await a.acquireProbe('primary', 'req-a', now + 30_000);

      // Assess
      expect(lease).toBe('pass');
      expect(store.records.get('primary')?.circuit).toEqual({ state: 'closed' });
    });

    it('runFailover serves the request from that instance instead of answering 503', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const a = containerBreaker(store);
      const b = containerBreaker(store);
      await halfOpenWithOneSuccess(b, 'primary');
      await a.view(['primary']);
      await closeBySecondProbe(b, 'primary');
      const acquireProbe = jest.spyOn(a, 'acquireProbe');
      const attempt = upstream({ primary: [OK] });

      // Act
      const result = await runFailover(request([PRIMARY], attempt), loopDeps(a));

      // Assess
      expect(result).toMatchObject({ kind: 'answered', instance: 'primary', attempts: 1, outcome: 'success' });
      expect(acquireProbe).toHaveBeenCalledTimes(1); // A went through the probe path on its stale view
      await expect(acquireProbe.mock.results[0].value).resolves.toBe('pass');
      expect(attempt).toHaveBeenCalledTimes(1);
      expect(store.events.filter((e) => e.type === 'no_healthy_instance')).toEqual([]);
      expect(store.records.get('primary')?.circuit).toEqual({ state: 'closed' });
    });
  });

  describe('a success from a request already in flight during a Retry-After cool-down', () => {
    it('onSuccess keeps the cool-down of a closed record that had failed, and admission stays cooling', () => {
      // Prepare
      const record: BreakerRecord = {
        ...freshRecord('primary'),
        version: 4,
        consecutiveFailures: 1,
        recentFailures: [now - 1_000],
        cooldownUntil: now + 30_000,
        lastFailureClass: 'rate_limited',
        lastFailureAt: now - 1_000,
      };

      // Act
      const change = onSuccess(record, now, EXACT, 'req-in-flight');

      // Assess
      const after = change?.record ?? record;
      expect(after.consecutiveFailures).toBe(0);
      expect(after.cooldownUntil).toBe(now + 30_000);
      expect(admission(after, now)).toEqual({ kind: 'blocked', reason: 'cooling', until: now + 30_000 });
    });

    it('onSuccess writes nothing for a closed record that is only cooling', () => {
      // Prepare
      const record: BreakerRecord = { ...freshRecord('primary'), version: 2, cooldownUntil: now + 30_000 };

      // Act
      const change = onSuccess(record, now, EXACT, 'req-in-flight');

      // Assess
      const after = change?.record ?? record;
      expect(after.cooldownUntil).toBe(now + 30_000);
      expect(admission(after, now)).toMatchObject({ kind: 'blocked', reason: 'cooling' });
    });

    it('recordSuccess through the breaker leaves the stored cool-down in place', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = containerBreaker(store);
      await breaker.recordFailure('primary', {
        class: 'rate_limited',
        retryAfterMs: 30_000,
        status: 429,
        message: 'HTTP 429',
        requestId: 'req-limited',
      });
      now += 100;

      // Act
      await breaker.recordSuccess('primary', 'req-in-flight');

      // Assess
      const stored = store.records.get('primary') as BreakerRecord;
      expect(stored.cooldownUntil).toBe(T0 + 30_000);
      expect(admission(stored, now)).toMatchObject({ kind: 'blocked', reason: 'cooling', until: T0 + 30_000 });
      expect(admission((await breaker.view(['primary'])).get('primary') as BreakerRecord, now)).toMatchObject({
        kind: 'blocked',
        reason: 'cooling',
      });
    });
  });

  describe('a 429 without any Retry-After', () => {
    it('answers 429 (not 503) from a single rate-limited instance, and cools it down for about a second', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = containerBreaker(store);
      const attempt = upstream({ primary: [http(429)] });

      // Act
      const result = await runFailover(request([PRIMARY], attempt), loopDeps(breaker));

      // Assess
      expect(result).toMatchObject({ kind: 'exhausted', status: 429 });
      const record = store.records.get('primary') as BreakerRecord;
      expect(record.lastFailureClass).toBe('rate_limited');
      expect(record.cooldownUntil).not.toBeNull();
      const cooldownMs = (record.cooldownUntil as number) - (record.lastFailureAt as number);
      expect(cooldownMs).toBeGreaterThanOrEqual(500);
      expect(cooldownMs).toBeLessThanOrEqual(2_000);
    });

    it('answers 429 when no wait is allowed either', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = containerBreaker(store);
      const attempt = upstream({ primary: [http(429)] });

      // Act
      const result = await runFailover(request([PRIMARY], attempt, { rateLimitMaxDelayMs: 0 }), loopDeps(breaker));

      // Assess
      expect(result).toMatchObject({ kind: 'exhausted', status: 429, attempts: 1 });
      expect(store.records.get('primary')?.cooldownUntil).toBeGreaterThan(T0);
    });
  });

  describe('a retry on the same instance after a rate-limit wait', () => {
    it('records no failover event from the instance to itself', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = containerBreaker(store);
      const deps = loopDeps(breaker);
      const attempt = upstream({ primary: [http(429, { 'retry-after': '1' }), OK] });

      // Act
      const result = await runFailover(request([PRIMARY], attempt), deps);

      // Assess
      expect(result).toMatchObject({ kind: 'answered', instance: 'primary', attempts: 2 });
      expect(deps.sleep).toHaveBeenCalledTimes(1); // it did wait for the cool-down and retried the same instance
      expect(store.events.filter((e) => e.type === 'failover')).toEqual([]);
      expect(store.events.filter((e) => e.instance === e.toInstance)).toEqual([]);
    });
  });

  describe('a circuit opened locally while the store was down', () => {
    it("does not blindly overwrite another container's newer record once the store is back", async () => {
      // Prepare: n = 2 failures in the store, written by A.
      const shared = new MemoryBreakerStore();
      const history: BreakerRecord[] = [];
      const storeA = new ControlledStore(shared, history);
      const storeB = new ControlledStore(shared, history);
      const a = containerBreaker(storeA);
      const b = containerBreaker(storeB);
      await a.recordFailure('primary', { ...HTTP_503, requestId: 'req-a1' });
      await a.recordFailure('primary', { ...HTTP_503, requestId: 'req-a2' });
      const n = shared.records.get('primary')?.version as number;
      expect(n).toBe(2);

      // A's store fails while A opens the circuit: local version n+1.
      storeA.down = true;
      const local = await a.recordFailure('primary', { ...HTTP_503, requestId: 'req-a3' });
      expect(local).toMatchObject({ version: n + 1, circuit: { state: 'open' } });
      expect(shared.records.get('primary')?.version).toBe(n);

      // Meanwhile B writes version n+1 (a success: closed, streak reset).
      await b.recordSuccess('primary', 'req-b');
      const bRecord = shared.records.get('primary') as BreakerRecord;
      expect(bRecord).toMatchObject({ version: n + 1, circuit: { state: 'closed' }, consecutiveFailures: 0 });

      // The store recovers; the old failures have left the window.
      storeA.down = false;
      now += EXACT.failureWindowSeconds * 1000 + 1_000;

      // Act
      const next = await a.recordFailure('primary', { ...HTTP_503, requestId: 'req-a4' });

      // Assess: B's write is kept in the history, and A's new write is computed from it.
      expect(history.map((r) => r.version)).toEqual([1, 2, n + 1, n + 2]);
      expect(history[2]).toEqual(bRecord);
      const stored = shared.records.get('primary') as BreakerRecord;
      expect(stored).toEqual(next);
      expect(stored).toMatchObject({
        version: n + 2,
        circuit: { state: 'closed' },
        consecutiveFailures: bRecord.consecutiveFailures + 1,
        recentFailures: [now],
      });
    });

    it("gives the locally-made transition event an id of its own ('local-'), flushed once the store is back", async () => {
      // Prepare
      const shared = new MemoryBreakerStore();
      const store = new ControlledStore(shared);
      const a = containerBreaker(store);
      for (let i = 0; i < EXACT.failureThreshold - 1; i++) await a.recordFailure('primary', HTTP_503);
      store.down = true;
      await a.recordFailure('primary', HTTP_503);
      store.down = false;
      now += DEGRADED_MS;

      // Act
      await a.view(['primary']);

      // Assess
      const opened = shared.events.filter((e) => e.type === 'circuit_open');
      expect(opened).toHaveLength(1);
      expect(opened[0].id).toContain('local-');
      expect(opened[0].id).not.toMatch(/:v\d+:/);
    });

    it("gives the transition an id of its own when only the write fails ('local-', not ':v<n>:')", async () => {
      // Prepare
      const shared = new MemoryBreakerStore();
      const store = new ControlledStore(shared);
      const a = containerBreaker(store);
      for (let i = 0; i < EXACT.failureThreshold - 1; i++) await a.recordFailure('primary', HTTP_503);
      store.savesDown = true;

      // Act
      const local = await a.recordFailure('primary', HTTP_503);
      store.savesDown = false;
      now += DEGRADED_MS;
      await a.view(['primary']);

      // Assess
      expect(local.circuit.state).toBe('open');
      const opened = shared.events.filter((e) => e.type === 'circuit_open');
      expect(opened).toHaveLength(1);
      expect(opened[0].id).toContain('local-');
      expect(opened[0].id).not.toContain(`:v${local.version}:`);
    });
  });

  describe('failure event messages', () => {
    it('are scrubbed of keys and truncated to 300 characters', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = containerBreaker(store);
      const key = 'sk-proj-ABCDEFGHIJKLMNOP';
      const message = `upstream said: invalid key ${key} ${'x'.repeat(2_000)}`.slice(0, 2_000);
      expect(message).toHaveLength(2_000);

      // Act
      await breaker.recordFailure('primary', { ...HTTP_503, message });

      // Assess
      const stored = store.events.find((e) => e.type === 'failure')?.message ?? '';
      expect(stored).toContain('upstream said');
      expect(stored.length).toBeLessThanOrEqual(300);
      expect(stored).not.toContain(key);
      expect(stored).not.toContain('ABCDEFGHIJKLMNOP');
    });
  });

  describe('the read cache', () => {
    it('keeps a cached record when a read that started before it answers later with an older version', async () => {
      // Prepare: version 1 in the store, A's cache expired.
      const shared = new MemoryBreakerStore();
      const store = new ControlledStore(shared);
      const a = containerBreaker(store);
      await a.recordFailure('primary', HTTP_503);
      now += CACHE_MS;
      const release = store.holdNextLoad();
      const slowView = a.view(['primary']); // reads version 1, answers later

      // A writes version 2 meanwhile (the success resets the streak).
      await a.recordSuccess('primary', 'req-2');
      expect(shared.records.get('primary')).toMatchObject({ version: 2, consecutiveFailures: 0 });

      // Act
      release();
      const seenBySlowView = (await slowView).get('primary');
      const seenAfter = (await a.view(['primary'])).get('primary');

      // Assess
      expect(seenBySlowView).toMatchObject({ version: 2, consecutiveFailures: 0 });
      expect(seenAfter).toMatchObject({ version: 2, consecutiveFailures: 0 });
    });
  });
});

describe('a slow read never undoes this container’s own write', () => {
  it('keeps the circuit this container just opened when a read that started before the write answers after it', async () => {
    // Prepare: a store whose next load is held until we release it.
    const { MemoryBreakerStore } = await import('../../shared/store/memory-breaker-store');
    const { CircuitBreaker } = await import('../../shared/resilience/circuit-breaker');
    const { DEFAULT_BREAKER_OPTIONS } = await import('../../shared/resilience/breaker-options');
    const { silentLog } = await import('../../shared/observability/log');
    const store = new MemoryBreakerStore();
    let now = 1_000_000;
    const breaker = new CircuitBreaker({
      store,
      events: store,
      options: { ...DEFAULT_BREAKER_OPTIONS, jitterRatio: 0 },
      cacheMs: 1000,
      providerOf: () => 'openai',
      clock: () => now,
      random: () => 0.5,
      log: silentLog,
    });
    const fail = (id: string) =>
      breaker.recordFailure('primary', {
        class: 'transient',
        retryAfterMs: null,
        status: 503,
        message: 'HTTP 503',
        requestId: id,
      });
    await fail('r1');
    await fail('r2');
    now += 5_000; // the cache has expired
    const realLoad = store.load.bind(store);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    store.load = async (names) => {
      const snapshot = await realLoad(names); // reads v2 now…
      await gate; // …and answers later
      return snapshot;
    };

    // Act: a view starts (slow), then this container opens the circuit, then the slow view answers.
    const slowRead = breaker.view(['primary']);
    store.load = realLoad;
    const opened = await fail('r3');
    release();
    await slowRead;
    const seen = (await breaker.view(['primary'])).get('primary');

    // Assess
    expect(opened.circuit.state).toBe('open');
    expect(seen?.circuit.state).toBe('open');
    expect(seen?.version).toBe(opened.version);
  });
});
