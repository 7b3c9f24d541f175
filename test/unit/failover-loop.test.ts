import { MemoryLog } from '../../shared/observability/log';
import { type BreakerOptions, DEFAULT_BREAKER_OPTIONS } from '../../shared/resilience/breaker-options';
import { CircuitBreaker, type FailureDetail } from '../../shared/resilience/circuit-breaker';
import {
  type AttemptLimits,
  type FailoverDeps,
  type FailoverInstance,
  type FailoverRequest,
  runFailover,
} from '../../shared/resilience/failover-loop';
import { MemoryBreakerStore } from '../../shared/store/memory-breaker-store';
import {
  BACKUP,
  failoverRequest,
  http,
  LAST_RESORT,
  OK,
  PRIMARY,
  type Reply,
  scriptedUpstream,
} from '../support/failover-fixtures';

const EXACT: BreakerOptions = { ...DEFAULT_BREAKER_OPTIONS, jitterRatio: 0 };
const T0 = Date.UTC(2025, 0, 1);

const CONNECT_REFUSED: Reply = {
  observation: { networkError: 'connect' },
  response: null,
  message: 'connect ECONNREFUSED 10.0.0.1:443',
};

const OPEN_IT: FailureDetail = {
  class: 'transient',
  retryAfterMs: null,
  status: 503,
  message: 'HTTP 503',
  requestId: 'req-earlier',
};

let now: number;
let store: MemoryBreakerStore;
let breaker: CircuitBreaker;
let deps: FailoverDeps & { sleep: jest.Mock<Promise<void>, [number, AbortSignal?]> };

/** One container's breaker over the shared store, on the fake clock. */
function containerBreaker(log = new MemoryLog(), holdBackMs = 0): CircuitBreaker {
  return new CircuitBreaker({
    store,
    events: store,
    options: EXACT,
    cacheMs: 1_000,
    providerOf: () => 'openai',
    clock: () => now,
    random: () => 0.5,
    log,
    holdBackMs,
  });
}

beforeEach(() => {
  now = T0;
  store = new MemoryBreakerStore();
  const log = new MemoryLog();
  breaker = containerBreaker(log);
  deps = {
    breaker,
    clock: () => now,
    // Always the first of the tier: a retry reaching another instance is then the loop's doing, not luck.
    random: () => 0,
    sleep: jest.fn(async (ms: number) => {
      now += ms;
    }),
    log,
  };
});

/** An upstream answering from `script`, taking `takesMs` of the fake clock per attempt. */
function upstream(script: Record<string, Reply[]>, takesMs = 0) {
  return scriptedUpstream(script, () => {
    now += takesMs;
  });
}

function request(
  instances: FailoverInstance[],
  attempt: FailoverRequest<FailoverInstance, unknown>['attempt'],
  overrides: Partial<FailoverRequest<FailoverInstance, unknown>> = {},
): FailoverRequest<FailoverInstance, unknown> {
  return failoverRequest(instances, attempt, now, overrides);
}

/** The names of the instances `attempt` was called with, in order. */
function triedNames(attempt: jest.Mock<Promise<Reply>, [FailoverInstance, AttemptLimits]>): string[] {
  return attempt.mock.calls.map(([instance]) => instance.name);
}

async function openCircuit(instance: string): Promise<void> {
  for (let i = 0; i < EXACT.failureThreshold; i++) await breaker.recordFailure(instance, OPEN_IT);
}

describe('runFailover', () => {
  it('answers from the backup when the primary returns 503', async () => {
    // Prepare
    const attempt = upstream({ primary: [http(503)], backup: [OK] });

    // Act
    const result = await runFailover(request([PRIMARY, BACKUP], attempt), deps);

    // Assess
    expect(result).toEqual({
      kind: 'answered',
      instance: 'backup',
      attempts: 2,
      outcome: 'success',
      response: 'ok',
      failures: [{ instance: 'primary', class: 'transient', status: 503, message: 'HTTP 503' }],
    });
    expect(triedNames(attempt)).toEqual(['primary', 'backup']);
  });

  it('records a failover event from the failed instance to the next one', async () => {
    // Prepare
    const attempt = upstream({ primary: [http(503)], backup: [OK] });

    // Act
    await runFailover(request([PRIMARY, BACKUP], attempt), deps);

    // Assess
    expect(store.events.filter((e) => e.type === 'failover')).toEqual([
      expect.objectContaining({
        provider: 'openai',
        instance: 'primary',
        toInstance: 'backup',
        requestId: 'req-1',
      }),
    ]);
  });

  it('returns a 400 from the primary as it is, without retrying or counting a failure', async () => {
    // Prepare
    const attempt = upstream({ primary: [http(400)], backup: [OK] });

    // Act
    const result = await runFailover(request([PRIMARY, BACKUP], attempt), deps);

    // Assess
    expect(result).toEqual({
      kind: 'answered',
      instance: 'primary',
      attempts: 1,
      outcome: 'business_error',
      response: { status: 400 },
      failures: [],
    });
    expect(store.records.has('primary')).toBe(false);
    expect(store.events).toEqual([]);
  });

  it('fails over on a network error', async () => {
    // Prepare
    const attempt = upstream({ primary: [CONNECT_REFUSED], backup: [OK] });

    // Act
    const result = await runFailover(request([PRIMARY, BACKUP], attempt), deps);

    // Assess
    expect(result).toMatchObject({
      kind: 'answered',
      instance: 'backup',
      attempts: 2,
      failures: [{ instance: 'primary', class: 'instance_failure', status: null }],
    });
    expect(store.records.get('primary')?.lastFailureClass).toBe('instance_failure');
  });

  it('sends each retry to an instance not yet tried, then gives up with a 503', async () => {
    // Prepare: one priority tier, and random() = 0 would pick the first instance every time if it could.
    const tier = [PRIMARY, { ...BACKUP, priority: 1 }, { ...LAST_RESORT, priority: 1 }];
    const attempt = upstream({ primary: [http(503)], backup: [http(502)], 'last-resort': [http(500)] });

    // Act
    const result = await runFailover(request(tier, attempt, { maxAttempts: 3 }), deps);

    // Assess
    expect(triedNames(attempt)).toEqual(['primary', 'backup', 'last-resort']);
    expect(result).toMatchObject({ kind: 'exhausted', status: 503, attempts: 3 });
    expect(result.kind === 'exhausted' && result.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(result.failures.map((f) => f.instance)).toEqual(['primary', 'backup', 'last-resort']);
  });

  it('stops at maxAttempts even when untried instances remain', async () => {
    // Prepare
    const attempt = upstream({ primary: [http(503)], backup: [http(503)], 'last-resort': [OK] });

    // Act
    const result = await runFailover(request([PRIMARY, BACKUP, LAST_RESORT], attempt, { maxAttempts: 2 }), deps);

    // Assess
    expect(triedNames(attempt)).toEqual(['primary', 'backup']);
    expect(result).toMatchObject({ kind: 'exhausted', status: 503, attempts: 2 });
  });

  describe('recording failures without blocking the failover', () => {
    beforeEach(() => {
      // breaker.holdBackSeconds: 1
      breaker = containerBreaker(new MemoryLog(), 1_000);
      deps.breaker = breaker;
    });

    /** Holds every breaker save of `store` until `release` is called. */
    function holdSaves(): { release: () => void; held: () => number } {
      const realSave = store.save.bind(store);
      let release: () => void = () => {};
      let held = 0;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      store.save = async (...args) => {
        held++;
        await gate;
        return realSave(...args);
      };
      return { release: () => release(), held: () => held };
    }

    it('sends the retry while the failure is still being written, and answers only once it is written', async () => {
      // Prepare
      const saves = holdSaves();
      let savesHeldWhenBackupAsked = -1;
      const attempt = jest.fn(async (instance: FailoverInstance): Promise<Reply> => {
        if (instance.name === 'primary') return http(503);
        savesHeldWhenBackupAsked = saves.held();
        return OK;
      });
      let answered = false;

      // Act
      const running = runFailover(request([PRIMARY, BACKUP], attempt), deps).then((r) => {
        answered = true;
        return r;
      });
      await new Promise((resolve) => setImmediate(resolve));
      const answeredBeforeWrite = answered;
      saves.release();
      const result = await running;

      // Assess
      expect(savesHeldWhenBackupAsked).toBe(1);
      expect(answeredBeforeWrite).toBe(false);
      expect(result).toMatchObject({ kind: 'answered', instance: 'backup' });
      expect(store.records.get('primary')?.consecutiveFailures).toBe(1);
    });

    it('does not hold the answer past the request deadline for a failure write that does not finish', async () => {
      // Prepare: the failure write hangs (a sick store); the backup answers.
      const saves = holdSaves();
      const attempt = upstream({ primary: [http(503)], backup: [OK] });

      // Act: the deadline is 100 ms away.
      const result = await runFailover(request([PRIMARY, BACKUP], attempt, { deadline: now + 100 }), deps);
      saves.release();

      // Assess
      expect(result).toMatchObject({ kind: 'answered', instance: 'backup' });
    });

    it('stops waiting for a failure write once the client has gone away', async () => {
      // Prepare
      const saves = holdSaves();
      const client = new AbortController();
      const attempt = jest.fn(async (instance: FailoverInstance): Promise<Reply> => {
        if (instance.name === 'primary') return http(503);
        client.abort();
        return OK;
      });

      // Act
      const result = await runFailover(request([PRIMARY, BACKUP], attempt, { signal: client.signal }), deps);
      saves.release();

      // Assess
      expect(result).toMatchObject({ kind: 'answered', instance: 'backup' });
    });

    it('holds back, for other requests, an instance whose failure is being written', async () => {
      // Prepare: request 1 fails on the primary; its failure write is held.
      const saves = holdSaves();
      const first = runFailover(
        request([PRIMARY, BACKUP], upstream({ primary: [http(503)], backup: [OK] }), { requestId: 'req-1' }),
        deps,
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(breaker.heldBack('primary')).toBe(true);

      // Act: request 2 arrives meanwhile.
      const secondAttempt = upstream({ primary: [OK], backup: [OK] });
      const second = runFailover(request([PRIMARY, BACKUP], secondAttempt, { requestId: 'req-2' }), deps);
      saves.release();
      const results = await Promise.all([first, second]);

      // Assess
      expect(triedNames(secondAttempt)).toEqual(['backup']);
      expect(results.map((r) => r.kind)).toEqual(['answered', 'answered']);
    });

    it('after a failure here, prefers the backup for a while, but still uses the primary when it is the only one', async () => {
      // Prepare: this container saw the primary fail once (recorded, circuit still closed).
      await breaker.recordFailure('primary', OPEN_IT);

      // Act
      const withBackup = upstream({ primary: [OK], backup: [OK] });
      const alone = upstream({ primary: [OK] });
      const results = [
        await runFailover(request([PRIMARY, BACKUP], withBackup, { requestId: 'req-2' }), deps),
        await runFailover(request([PRIMARY], alone, { requestId: 'req-3' }), deps),
      ];

      // Assess
      expect(triedNames(withBackup)).toEqual(['backup']);
      expect(triedNames(alone)).toEqual(['primary']);
      expect(results.map((r) => r.kind)).toEqual(['answered', 'answered']);
      expect(store.records.get('primary')?.consecutiveFailures).toBe(0); // its success cleared the failure
    });

    it('without a hold-back (the default), keeps sending to the primary after a failure while its circuit is closed', async () => {
      // Prepare
      breaker = containerBreaker(new MemoryLog(), 0);
      deps.breaker = breaker;
      await breaker.recordFailure('primary', OPEN_IT);

      // Act
      const attempt = upstream({ primary: [OK], backup: [OK] });
      await runFailover(request([PRIMARY, BACKUP], attempt, { requestId: 'req-2' }), deps);

      // Assess
      expect(triedNames(attempt)).toEqual(['primary']);
    });

    it('with only the held-back instance left, waits for its failure to be written and decides on it', async () => {
      // Prepare: two failures recorded already; request 1's failure (the third) opens the circuit, held.
      await breaker.recordFailure('primary', { ...OPEN_IT, requestId: 'a' });
      await breaker.recordFailure('primary', { ...OPEN_IT, requestId: 'b' });
      const saves = holdSaves();
      const first = runFailover(request([PRIMARY], upstream({ primary: [http(503)] }), { requestId: 'req-1' }), deps);
      await new Promise((resolve) => setImmediate(resolve));

      // Act
      const secondAttempt = upstream({ primary: [OK] });
      const second = runFailover(request([PRIMARY], secondAttempt, { requestId: 'req-2' }), deps);
      await new Promise((resolve) => setImmediate(resolve));
      const triedBeforeWrite = secondAttempt.mock.calls.length;
      saves.release();
      const results = await Promise.all([first, second]);

      // Assess: request 2 never reached the instance its peer had just seen fail; the circuit it waited for is open.
      expect(triedBeforeWrite).toBe(0);
      expect(secondAttempt).not.toHaveBeenCalled();
      expect(results.map((r) => r.kind)).toEqual(['exhausted', 'exhausted']);
      expect(store.records.get('primary')?.circuit.state).toBe('open');
    });
  });

  describe('rate limits', () => {
    it('fails over at once from a 429 primary to a healthy backup, without waiting', async () => {
      // Prepare
      const attempt = upstream({ primary: [http(429, { 'retry-after': '1' })], backup: [OK] });

      // Act
      const result = await runFailover(request([PRIMARY, BACKUP], attempt), deps);

      // Assess
      expect(result).toMatchObject({ kind: 'answered', instance: 'backup', attempts: 2 });
      expect(deps.sleep).not.toHaveBeenCalled();
      expect(store.events.find((e) => e.type === 'rate_limited')).toMatchObject({
        instance: 'primary',
        httpStatus: 429,
        nextRetrySeconds: 1,
      });
    });

    it('waits out a short Retry-After on the only instance, then retries it', async () => {
      // Prepare
      const attempt = upstream({ primary: [http(429, { 'retry-after': '2' }), OK] });

      // Act
      const result = await runFailover(request([PRIMARY], attempt), deps);

      // Assess
      expect(deps.sleep).toHaveBeenCalledTimes(1);
      expect(deps.sleep.mock.calls[0][0]).toBe(2_000);
      expect(result).toMatchObject({ kind: 'answered', instance: 'primary', attempts: 2, outcome: 'success' });
      expect(store.records.get('primary')).toMatchObject({ consecutiveFailures: 0, cooldownUntil: null });
    });

    it('does not wait for a Retry-After longer than rateLimitMaxDelayMs and answers 429 with it', async () => {
      // Prepare
      const attempt = upstream({ primary: [http(429, { 'retry-after': '120' })] });

      // Act: the deadline is far enough that only rateLimitMaxDelayMs stands in the way.
      const result = await runFailover(
        request([PRIMARY], attempt, { rateLimitMaxDelayMs: 60_000, deadline: now + 300_000 }),
        deps,
      );

      // Assess
      expect(deps.sleep).not.toHaveBeenCalled();
      expect(result).toMatchObject({ kind: 'exhausted', status: 429, retryAfterSeconds: 120, attempts: 1 });
    });

    it('does not wait for a Retry-After that ends after the deadline', async () => {
      // Prepare
      const attempt = upstream({ primary: [http(429, { 'retry-after': '2' }), OK] });

      // Act
      const result = await runFailover(request([PRIMARY], attempt, { deadline: now + 1_500 }), deps);

      // Assess
      expect(deps.sleep).not.toHaveBeenCalled();
      expect(result).toMatchObject({ kind: 'exhausted', status: 429, retryAfterSeconds: 2, attempts: 1 });
    });

    it('answers 503, not 429, when only some of the failures were rate limits', async () => {
      // Prepare
      const attempt = upstream({ primary: [http(429, { 'retry-after': '120' })], backup: [http(503)] });

      // Act
      const result = await runFailover(request([PRIMARY, BACKUP], attempt), deps);

      // Assess
      expect(result).toMatchObject({ kind: 'exhausted', status: 503, attempts: 2 });
    });
  });

  describe('open circuits', () => {
    it('answers 503 without any attempt when every circuit is open, with Retry-After to the earliest retryAt', async () => {
      // Prepare: primary opens at T0 (retry at T0 + 60 s), backup 10 s later (retry at T0 + 70 s).
      await openCircuit('primary');
      now += 10_000;
      await openCircuit('backup');
      now += 5_000;
      const attempt = upstream({ primary: [OK], backup: [OK] });

      // Act
      const result = await runFailover(request([PRIMARY, BACKUP], attempt), deps);

      // Assess
      expect(attempt).not.toHaveBeenCalled();
      expect(result).toEqual({ kind: 'exhausted', status: 503, retryAfterSeconds: 45, attempts: 0, failures: [] });
      expect(store.events.filter((e) => e.type === 'no_healthy_instance')).toEqual([
        expect.objectContaining({
          provider: 'openai',
          instance: '*',
          httpStatus: 503,
          nextRetrySeconds: 45,
          requestId: 'req-1',
        }),
      ]);
    });

    it('skips an open primary for the backup', async () => {
      // Prepare
      await openCircuit('primary');
      const attempt = upstream({ primary: [OK], backup: [OK] });

      // Act
      const result = await runFailover(request([PRIMARY, BACKUP], attempt), deps);

      // Assess
      expect(triedNames(attempt)).toEqual(['backup']);
      expect(result).toMatchObject({ kind: 'answered', instance: 'backup', attempts: 1 });
    });

    it('sends one probe to a primary whose retryAt has passed and counts its success', async () => {
      // Prepare
      await openCircuit('primary');
      now += 60_000;
      const attempt = upstream({ primary: [OK], backup: [OK] });

      // Act
      const result = await runFailover(request([PRIMARY, BACKUP], attempt), deps);

      // Assess
      expect(result).toMatchObject({ kind: 'answered', instance: 'primary', attempts: 1 });
      expect(store.records.get('primary')?.circuit).toEqual({ state: 'half_open', successes: 1, probe: null });
      expect(store.events.map((e) => e.type)).toContain('circuit_half_open');
    });

    it('leaves a half-open primary to the request holding its probe and uses the backup', async () => {
      // Prepare
      await openCircuit('primary');
      now += 60_000;
      await breaker.acquireProbe('primary', 'req-other', now + 30_000);
      const attempt = upstream({ primary: [OK], backup: [OK] });

      // Act
      const result = await runFailover(request([PRIMARY, BACKUP], attempt), deps);

      // Assess
      expect(triedNames(attempt)).toEqual(['backup']);
      expect(result).toMatchObject({ kind: 'answered', instance: 'backup', attempts: 1 });
    });

    it('moves on without counting an attempt when another container took the probe first', async () => {
      // Prepare: this container last saw the primary open and due; then another container took the probe.
      await openCircuit('primary');
      now += 60_000;
      await breaker.view(['primary', 'backup']);
      await containerBreaker().acquireProbe('primary', 'req-other', now + 30_000);
      const attempt = upstream({ primary: [OK], backup: [OK] });

      // Act
      const result = await runFailover(request([PRIMARY, BACKUP], attempt), deps);

      // Assess
      expect(triedNames(attempt)).toEqual(['backup']);
      expect(result).toMatchObject({ kind: 'answered', instance: 'backup', attempts: 1 });
      expect(store.records.get('primary')?.circuit).toMatchObject({
        state: 'half_open',
        probe: { holder: 'req-other' },
      });
    });
  });

  describe('the deadline', () => {
    it('makes no further attempt once the clock has passed the deadline', async () => {
      // Prepare: each attempt takes 31 s against a 30 s budget.
      const attempt = upstream({ primary: [http(503)], backup: [OK] }, 31_000);

      // Act
      const result = await runFailover(request([PRIMARY, BACKUP], attempt, { deadline: now + 30_000 }), deps);

      // Assess
      expect(triedNames(attempt)).toEqual(['primary']);
      expect(result).toMatchObject({ kind: 'exhausted', status: 503, attempts: 1 });
    });

    it('makes no attempt at all when the deadline has already passed', async () => {
      // Prepare
      const attempt = upstream({ primary: [OK] });

      // Act
      const result = await runFailover(request([PRIMARY], attempt, { deadline: now }), deps);

      // Assess
      expect(attempt).not.toHaveBeenCalled();
      expect(result).toMatchObject({ kind: 'exhausted', attempts: 0 });
    });

    it('bounds the first-byte timeout of an attempt by the time left', async () => {
      // Prepare
      const attempt = upstream({ primary: [OK] });
      const deadline = now + 5_000;

      // Act
      await runFailover(request([PRIMARY], attempt, { deadline }), deps);

      // Assess
      expect(attempt.mock.calls[0][1]).toEqual({ firstByteTimeoutMs: 5_000, deadline });
    });

    it('uses the instance first-byte timeout when the deadline is further away', async () => {
      // Prepare
      const attempt = upstream({ primary: [OK] });

      // Act
      await runFailover(request([PRIMARY], attempt), deps);

      // Assess
      expect(attempt.mock.calls[0][1].firstByteTimeoutMs).toBe(30_000);
    });
  });
});
