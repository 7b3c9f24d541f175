import type { FailoverEvent } from '../../shared/events/failover-event';
import { MemoryLog } from '../../shared/observability/log';
import { type BreakerOptions, DEFAULT_BREAKER_OPTIONS } from '../../shared/resilience/breaker-options';
import type { BreakerRecord } from '../../shared/resilience/breaker-record';
import { CircuitBreaker, type FailureDetail, HOLD_BACK_SPREAD } from '../../shared/resilience/circuit-breaker';
import type { BreakerStore, EventStore, SaveResult } from '../../shared/store/breaker-store';
import { MemoryBreakerStore } from '../../shared/store/memory-breaker-store';

const EXACT: BreakerOptions = { ...DEFAULT_BREAKER_OPTIONS, jitterRatio: 0 };
const T0 = Date.UTC(2025, 0, 1);
const CACHE_MS = 1_000;
const DEGRADED_MS = 2_000;
const HOLD_BACK_MS = 1_000;
const PROVIDERS: Record<string, string> = { 'openai-east': 'openai', 'claude-main': 'anthropic' };

const HTTP_503: FailureDetail = {
  class: 'transient',
  retryAfterMs: null,
  status: 503,
  message: 'HTTP 503',
  requestId: 'req-1',
};

/** A store that rejects every call while `down`, and otherwise delegates to a memory store. */
class SwitchableStore implements BreakerStore, EventStore {
  down = true;
  calls = 0;
  readonly inner = new MemoryBreakerStore();

  async load(instances: string[]): Promise<Map<string, BreakerRecord>> {
    this.check();
    return this.inner.load(instances);
  }

  async save(next: BreakerRecord, expectedVersion: number, events: FailoverEvent[]): Promise<SaveResult> {
    this.check();
    return this.inner.save(next, expectedVersion, events);
  }

  async append(events: FailoverEvent[]): Promise<void> {
    this.check();
    return this.inner.append(events);
  }

  private check(): void {
    this.calls++;
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { name: 'NetworkingError' });
  }
}

let now: number;

beforeEach(() => {
  now = T0;
});

function breakerOver(
  store: BreakerStore & EventStore,
  log = new MemoryLog(),
  holdBackMs = HOLD_BACK_MS,
  random = () => 0.5,
): CircuitBreaker {
  return new CircuitBreaker({
    store,
    events: store,
    options: EXACT,
    cacheMs: CACHE_MS,
    providerOf: (instance) => PROVIDERS[instance] ?? 'unknown',
    clock: () => now,
    random,
    log,
    degradedMs: DEGRADED_MS,
    holdBackMs,
  });
}

describe('CircuitBreaker', () => {
  describe('recording failures', () => {
    it('opens the circuit at the third failure and writes one circuit_open event beside three failure events', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = breakerOver(store);

      // Act
      for (let i = 0; i < 3; i++) {
        await breaker.recordFailure('openai-east', HTTP_503);
        now += 1_000;
      }

      // Assess
      expect(store.records.get('openai-east')?.circuit).toEqual({
        state: 'open',
        openedAt: T0 + 2_000,
        retryAt: T0 + 62_000,
      });
      expect(store.events.map((e) => e.type)).toEqual(['failure', 'failure', 'failure', 'circuit_open']);
      expect(store.events.filter((e) => e.type === 'failure')).toEqual(
        [1, 2, 3].map((consecutiveFailures) =>
          expect.objectContaining({
            provider: 'openai',
            instance: 'openai-east',
            failureClass: 'transient',
            httpStatus: 503,
            message: 'HTTP 503',
            consecutiveFailures,
            requestId: 'req-1',
          }),
        ),
      );
      expect(store.events.find((e) => e.type === 'circuit_open')).toMatchObject({
        id: 'openai-east:v3:circuit_open',
        provider: 'openai',
        instance: 'openai-east',
        failureClass: 'transient',
        consecutiveFailures: 3,
        nextRetrySeconds: 60,
        requestId: 'req-1',
      });
    });

    it('writes a rate_limited event, not a failure event, for a 429', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = breakerOver(store);

      // Act
      await breaker.recordFailure('claude-main', {
        class: 'rate_limited',
        retryAfterMs: 30_000,
        status: 429,
        message: 'HTTP 429',
        requestId: 'req-7',
      });

      // Assess
      expect(store.events).toEqual([
        expect.objectContaining({
          type: 'rate_limited',
          provider: 'anthropic',
          instance: 'claude-main',
          httpStatus: 429,
          nextRetrySeconds: 30,
          requestId: 'req-7',
        }),
      ]);
    });

    it('logs each failure with its count and the opening with its cause', async () => {
      // Prepare
      const log = new MemoryLog();
      const breaker = breakerOver(new MemoryBreakerStore(), log);

      // Act
      for (let i = 0; i < 3; i++) await breaker.recordFailure('openai-east', HTTP_503);

      // Assess
      expect(log.lines.map((l) => l.message)).toEqual([
        'Failure recorded (1/3) - instance: openai-east',
        'Failure recorded (2/3) - instance: openai-east',
        'Failure recorded (3/3) - instance: openai-east',
        'Circuit opened due to 3 consecutive failures - instance: openai-east (retry in 60.0s)',
      ]);
      expect(log.lines.at(-1)?.level).toBe('warn');
    });

    it('recomputes on a lost race instead of overwriting another container', async () => {
      // Prepare: both containers have read version 0; the other one writes first.
      const store = new MemoryBreakerStore();
      const mine = breakerOver(store);
      const theirs = breakerOver(store);
      await mine.view(['openai-east']);
      await theirs.recordFailure('openai-east', { ...HTTP_503, requestId: 'req-theirs' });

      // Act
      const record = await mine.recordFailure('openai-east', HTTP_503);

      // Assess
      expect(record.version).toBe(2);
      expect(record.consecutiveFailures).toBe(2);
      expect(store.records.get('openai-east')).toEqual(record);
      expect(store.events.map((e) => e.requestId)).toEqual(['req-theirs', 'req-1']);
    });
  });

  describe('recording successes', () => {
    it('writes nothing for a success on a healthy instance', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const save = jest.spyOn(store, 'save');
      const breaker = breakerOver(store);

      // Act
      await breaker.recordSuccess('openai-east', 'req-1');
      await breaker.recordSuccess('openai-east', 'req-2');

      // Assess
      expect(save).not.toHaveBeenCalled();
      expect(store.events).toEqual([]);
    });

    it('refreshes an old read once for concurrent successes on an instance last seen healthy, and writes nothing', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const load = jest.spyOn(store, 'load');
      const save = jest.spyOn(store, 'save');
      const breaker = breakerOver(store);
      await breaker.view(['openai-east']);
      now += 5 * CACHE_MS;

      // Act
      await Promise.all(Array.from({ length: 10 }, (_, i) => breaker.recordSuccess('openai-east', `req-${i}`)));

      // Assess
      expect(load).toHaveBeenCalledTimes(2); // the view, then one shared refresh
      expect(save).not.toHaveBeenCalled();
    });

    it('clears a failure another container wrote since this container’s old read', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const mine = breakerOver(store);
      const theirs = breakerOver(store);
      await mine.view(['openai-east']);
      now += 2 * CACHE_MS;
      await theirs.recordFailure('openai-east', HTTP_503);

      // Act
      await mine.recordSuccess('openai-east', 'req-mine');

      // Assess
      expect(store.records.get('openai-east')?.consecutiveFailures).toBe(0);
    });

    it('writes once to reset the streak of an instance that had failed', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = breakerOver(store);
      await breaker.recordFailure('openai-east', HTTP_503);
      const save = jest.spyOn(store, 'save');

      // Act
      await breaker.recordSuccess('openai-east', 'req-2');
      await breaker.recordSuccess('openai-east', 'req-3');

      // Assess
      expect(save).toHaveBeenCalledTimes(1);
      expect(store.records.get('openai-east')?.consecutiveFailures).toBe(0);
    });
  });

  describe('the read cache', () => {
    it('reads the store once for two views within cacheMs', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const load = jest.spyOn(store, 'load');
      const breaker = breakerOver(store);

      // Act
      await breaker.view(['openai-east']);
      now += CACHE_MS - 1;
      await breaker.view(['openai-east']);

      // Assess
      expect(load).toHaveBeenCalledTimes(1);
    });

    it('reads the store again once cacheMs has passed', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const load = jest.spyOn(store, 'load');
      const breaker = breakerOver(store);

      // Act
      await breaker.view(['openai-east']);
      now += CACHE_MS;
      await breaker.view(['openai-east']);

      // Assess
      expect(load).toHaveBeenCalledTimes(2);
    });

    it('reads the store again right after a failure, since other containers may know more', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = breakerOver(store);
      await breaker.view(['openai-east']);
      await breaker.recordFailure('openai-east', HTTP_503);
      const load = jest.spyOn(store, 'load');

      // Act
      await breaker.view(['openai-east']);

      // Assess
      expect(load).toHaveBeenCalledWith(['openai-east']);
    });

    it('shares one read between concurrent views of the same instance', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const load = jest.spyOn(store, 'load');
      const breaker = breakerOver(store);
      await breaker.recordFailure('openai-east', HTTP_503);
      load.mockClear();

      // Act
      const views = await Promise.all(Array.from({ length: 20 }, () => breaker.view(['openai-east'])));

      // Assess
      expect(load).toHaveBeenCalledTimes(1);
      expect(views.every((v) => v.get('openai-east')?.consecutiveFailures === 1)).toBe(true);
    });

    it('reads an instance with unconfirmed failures on every view, and trusts it again for cacheMs once it opens', async () => {
      // Prepare: another container's failure; this container has read it.
      const store = new MemoryBreakerStore();
      const theirs = breakerOver(store);
      const mine = breakerOver(store);
      await theirs.recordFailure('openai-east', { ...HTTP_503, requestId: 'a' });
      await mine.view(['openai-east']);
      const load = jest.spyOn(store, 'load');

      // Act: within cacheMs, two views while closed with a failure, then the other container opens it.
      await mine.view(['openai-east']);
      await theirs.recordFailure('openai-east', { ...HTTP_503, requestId: 'b' });
      await theirs.recordFailure('openai-east', { ...HTTP_503, requestId: 'c' });
      const seen = (await mine.view(['openai-east'])).get('openai-east');
      const readsBeforeOpenView = load.mock.calls.length;
      await mine.view(['openai-east']);
      await mine.view(['openai-east']);

      // Assess: the mine.view calls read each time until the record was open; theirs wrote without reading.
      expect(seen?.circuit.state).toBe('open');
      expect(load.mock.calls.length).toBe(readsBeforeOpenView);
      expect(readsBeforeOpenView).toBeGreaterThanOrEqual(2);
    });

    it('without a read cache, reads on every view but not again for the outcome of the request that just viewed', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const load = jest.spyOn(store, 'load');
      const breaker = new CircuitBreaker({
        store,
        events: store,
        options: EXACT,
        cacheMs: 0,
        providerOf: () => 'openai',
        clock: () => now,
        random: () => 0.5,
        log: new MemoryLog(),
      });

      // Act: two requests, each a view then a success.
      for (const id of ['req-1', 'req-2']) {
        await breaker.view(['openai-east']);
        await breaker.recordSuccess('openai-east', id);
      }

      // Assess
      expect(load).toHaveBeenCalledTimes(2);
    });

    it('trusts the cache again for a failure older than the failure window that no success ever cleared', async () => {
      // Prepare: one failure on a backup that then gets no traffic.
      const store = new MemoryBreakerStore();
      const breaker = breakerOver(store);
      await breaker.recordFailure('openai-east', HTTP_503);
      now += EXACT.failureWindowSeconds * 1_000;
      await breaker.view(['openai-east']);
      const load = jest.spyOn(store, 'load');

      // Act
      for (let i = 0; i < 10; i++) await breaker.view(['openai-east']);

      // Assess
      expect(load).not.toHaveBeenCalled();
    });

    it('only loads the instances whose cache entry is stale', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const load = jest.spyOn(store, 'load');
      const breaker = breakerOver(store);
      await breaker.view(['openai-east']);

      // Act
      await breaker.view(['openai-east', 'claude-main']);

      // Assess
      expect(load).toHaveBeenLastCalledWith(['claude-main']);
    });
  });

  describe('concurrent failures on one instance', () => {
    it('open it once, append every failure event, and stop retrying writes once the circuit is open', async () => {
      // Prepare: 100 requests in 10 containers fail on the same instance at once; all read version 0 first.
      const store = new MemoryBreakerStore();
      const save = jest.spyOn(store, 'save');
      const log = new MemoryLog();
      const containers = Array.from({ length: 10 }, () => breakerOver(store, log));

      // Act
      const records = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          containers[i % 10].recordFailure('openai-east', { ...HTTP_503, requestId: `req-${i}` }),
        ),
      );

      // Assess: threshold 3 → the third write opens; every later writer sees the open circuit and stops.
      expect(store.events.filter((e) => e.type === 'circuit_open')).toHaveLength(1);
      expect(store.events.filter((e) => e.type === 'failure')).toHaveLength(100);
      expect(new Set(store.events.map((e) => e.id)).size).toBe(store.events.length);
      // Without the stop, every writer would keep racing for up to 10 rounds to count on the open circuit.
      expect(save.mock.calls.length).toBeLessThanOrEqual(100 * EXACT.failureThreshold);
      expect(records.filter((r) => r.circuit.state !== 'open')).toHaveLength(EXACT.failureThreshold - 1);
      expect(store.records.get('openai-east')?.circuit.state).toBe('open');
      expect(log.lines.some((l) => l.message.includes('lost too many races'))).toBe(false);
    });

    it('still writes a lost-race failure whose Retry-After ends after the open circuit’s retry time', async () => {
      // Prepare: another container opened the circuit (retry in 60 s) after this one read version 2.
      const store = new MemoryBreakerStore();
      const mine = breakerOver(store);
      const theirs = breakerOver(store);
      await theirs.recordFailure('openai-east', { ...HTTP_503, requestId: 'a' });
      await theirs.recordFailure('openai-east', { ...HTTP_503, requestId: 'b' });
      await mine.view(['openai-east']);
      const opened = await theirs.recordFailure('openai-east', { ...HTTP_503, requestId: 'c' });
      expect(opened.circuit.state).toBe('open');
      const retryAt = opened.circuit.state === 'open' ? opened.circuit.retryAt : 0;

      // Act: a 429 asking for 120 s loses its race, then is written on top of the open record.
      const record = await mine.recordFailure('openai-east', {
        ...HTTP_503,
        class: 'rate_limited',
        status: 429,
        retryAfterMs: 120_000,
        requestId: 'd',
      });

      // Assess
      expect(record.cooldownUntil).toBe(now + 120_000);
      expect(record.cooldownUntil).toBeGreaterThan(retryAt);
      expect(store.records.get('openai-east')).toEqual(record);
    });
  });

  describe('holding back an instance whose failure is being recorded', () => {
    it('holds nothing back when holdBackMs is 0 (the default)', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = breakerOver(store, new MemoryLog(), 0);

      // Act
      const write = breaker.recordFailure('openai-east', HTTP_503);
      const heldWhilePending = breaker.heldBack('openai-east');
      await write;

      // Assess
      expect(heldWhilePending).toBe(false);
      expect(breaker.heldBack('openai-east')).toBe(false);
    });

    it('holds the instance back until the failure is written, and settle waits for the write', async () => {
      // Prepare: a store whose next save answers only when released.
      const store = new MemoryBreakerStore();
      const breaker = breakerOver(store);
      const realSave = store.save.bind(store);
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      store.save = async (...args) => {
        await gate;
        return realSave(...args);
      };

      // Act
      const write = breaker.recordFailure('openai-east', HTTP_503);
      const heldWhilePending = breaker.heldBack('openai-east');
      const otherHeld = breaker.heldBack('claude-main');
      let settled = false;
      const settling = breaker.settle(['openai-east', 'claude-main']).then(() => {
        settled = true;
      });
      await new Promise((resolve) => setImmediate(resolve));
      const settledBeforeWrite = settled;
      release();
      await write;
      await settling;

      // Assess
      expect(heldWhilePending).toBe(true);
      expect(otherHeld).toBe(false);
      expect(settledBeforeWrite).toBe(false);
      expect(settled).toBe(true);
      expect(store.records.get('openai-east')?.consecutiveFailures).toBe(1);
    });

    it('keeps holding it back after the write while the failure stays unconfirmed, for its drawn hold-back', async () => {
      // Prepare: random() = 0.5 draws holdBackMs × (1 + 0.5 × HOLD_BACK_SPREAD).
      const store = new MemoryBreakerStore();
      const breaker = breakerOver(store);
      const holdBack = HOLD_BACK_MS * (1 + 0.5 * HOLD_BACK_SPREAD);
      await breaker.recordFailure('openai-east', HTTP_503);

      // Act
      const heldAfterWrite = breaker.heldBack('openai-east');
      const nothingToWaitFor = !breaker.writingFailure('openai-east');
      now += holdBack - 1;
      const heldJustBefore = breaker.heldBack('openai-east');
      now += 1;
      const heldAfter = breaker.heldBack('openai-east');

      // Assess
      expect(heldAfterWrite).toBe(true);
      expect(nothingToWaitFor).toBe(true);
      expect(heldJustBefore).toBe(true);
      expect(heldAfter).toBe(false);
    });

    it('ends the hold-back at a time each container draws, so that they do not all return at once', async () => {
      // Prepare: two containers that have read the same failure, drawing the shortest and the longest hold-back.
      const store = new MemoryBreakerStore();
      const early = breakerOver(store, new MemoryLog(), HOLD_BACK_MS, () => 0);
      const late = breakerOver(store, new MemoryLog(), HOLD_BACK_MS, () => 0.999);
      await early.recordFailure('openai-east', HTTP_503);
      await late.view(['openai-east']);

      // Act
      now += HOLD_BACK_MS;
      const atHoldBack = [early.heldBack('openai-east'), late.heldBack('openai-east')];
      now += HOLD_BACK_MS * HOLD_BACK_SPREAD;
      const atLongest = [early.heldBack('openai-east'), late.heldBack('openai-east')];

      // Assess
      expect(atHoldBack).toEqual([false, true]);
      expect(atLongest).toEqual([false, false]);
    });

    it('is held back as well by another container once it has read the failure, until its hold-back ends', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const theirs = breakerOver(store);
      const mine = breakerOver(store);
      await mine.view(['openai-east']);
      const heldBeforeFailure = mine.heldBack('openai-east');

      // Act
      now += CACHE_MS;
      await theirs.recordFailure('openai-east', HTTP_503);
      const heldBeforeReading = mine.heldBack('openai-east'); // its cached read predates the failure
      await mine.view(['openai-east']);
      const heldAfterReading = mine.heldBack('openai-east');
      now += HOLD_BACK_MS * (1 + HOLD_BACK_SPREAD);
      await mine.view(['openai-east']);

      // Assess
      expect(heldBeforeFailure).toBe(false);
      expect(heldBeforeReading).toBe(false);
      expect(heldAfterReading).toBe(true);
      expect(mine.heldBack('openai-east')).toBe(false);
    });

    it('releases it as soon as the shared record shows the failure cleared by another container’s success', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const mine = breakerOver(store);
      const theirs = breakerOver(store);
      await mine.recordFailure('openai-east', HTTP_503);
      await theirs.view(['openai-east']);

      // Act
      await theirs.recordSuccess('openai-east', 'req-theirs');
      await mine.view(['openai-east']); // unconfirmed failures are read again on every view

      // Assess
      expect(mine.heldBack('openai-east')).toBe(false);
    });

    it('does not hold back an instance whose circuit the failure opened (the circuit itself keeps requests off)', async () => {
      // Prepare
      const store = new MemoryBreakerStore();
      const breaker = breakerOver(store);

      // Act
      for (let i = 0; i < EXACT.failureThreshold; i++) {
        await breaker.recordFailure('openai-east', { ...HTTP_503, requestId: `r${i}` });
      }

      // Assess
      expect(store.records.get('openai-east')?.circuit.state).toBe('open');
      expect(breaker.heldBack('openai-east')).toBe(false);
    });
  });

  describe('when the state store is unavailable', () => {
    it('fails open: view returns fresh records instead of throwing', async () => {
      // Prepare
      const breaker = breakerOver(new SwitchableStore());

      // Act
      const view = await breaker.view(['openai-east', 'claude-main']);

      // Assess
      expect([...view.values()]).toEqual([
        expect.objectContaining({ instance: 'openai-east', version: 0, circuit: { state: 'closed' } }),
        expect.objectContaining({ instance: 'claude-main', version: 0, circuit: { state: 'closed' } }),
      ]);
    });

    it('still opens the circuit in memory after three failures, warning once and leaving the store alone', async () => {
      // Prepare
      const store = new SwitchableStore();
      const log = new MemoryLog();
      const breaker = breakerOver(store, log);

      // Act
      for (let i = 0; i < 3; i++) await breaker.recordFailure('openai-east', HTTP_503);
      const view = await breaker.view(['openai-east']);

      // Assess
      expect(view.get('openai-east')?.circuit).toEqual({ state: 'open', openedAt: T0, retryAt: T0 + 60_000 });
      const warnings = log.lines.filter((l) => l.message.includes('Breaker state store unavailable'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].level).toBe('warn');
      expect(store.calls).toBe(1); // the first read failed; nothing is retried inside the degraded period
    });

    it('warns once when concurrent requests all find the store down', async () => {
      // Prepare
      const log = new MemoryLog();
      const breaker = breakerOver(new SwitchableStore(), log);

      // Act
      await Promise.all([breaker.view(['openai-east']), breaker.view(['claude-main']), breaker.view(['openai-east'])]);

      // Assess
      expect(log.lines.filter((l) => l.message.includes('Breaker state store unavailable'))).toHaveLength(1);
    });

    it('flushes the events it kept once the store works again after degradedMs', async () => {
      // Prepare
      const store = new SwitchableStore();
      const breaker = breakerOver(store);
      for (let i = 0; i < 3; i++) await breaker.recordFailure('openai-east', HTTP_503);
      store.down = false;
      now += DEGRADED_MS;

      // Act
      await breaker.view(['openai-east']);

      // Assess
      expect(store.inner.events.map((e) => e.type)).toEqual(['failure', 'failure', 'failure', 'circuit_open']);
      expect(store.inner.events.every((e) => e.provider === 'openai' && e.instance === 'openai-east')).toBe(true);
    });

    it('drains a large backlog one batch of 25 per read, so that requests sharing a read do not wait for all of it', async () => {
      // Prepare: 60 failures recorded in memory while the store was down (60 failure events + 1 circuit_open).
      const store = new SwitchableStore();
      const breaker = breakerOver(store);
      for (let i = 0; i < 60; i++) await breaker.recordFailure('openai-east', { ...HTTP_503, requestId: `r${i}` });
      store.down = false;
      now += DEGRADED_MS;

      // Act
      const afterReads: number[] = [];
      for (let i = 0; i < 3; i++) {
        now += CACHE_MS;
        await breaker.view(['openai-east']);
        afterReads.push(store.inner.events.length);
      }

      // Assess: oldest first, nothing lost, nothing twice.
      expect(afterReads).toEqual([25, 50, 61]);
      expect(store.inner.events.slice(0, 2).map((e) => e.requestId)).toEqual(['r0', 'r1']);
      expect(new Set(store.inner.events.map((e) => e.id)).size).toBe(61);
    });

    it('keeps the events while the store is still down after degradedMs, and warns again', async () => {
      // Prepare
      const store = new SwitchableStore();
      const log = new MemoryLog();
      const breaker = breakerOver(store, log);
      await breaker.recordFailure('openai-east', HTTP_503);
      now += DEGRADED_MS;

      // Act
      await breaker.view(['openai-east']);
      store.down = false;
      now += DEGRADED_MS;
      await breaker.view(['openai-east']);

      // Assess
      expect(log.lines.filter((l) => l.message.includes('Breaker state store unavailable'))).toHaveLength(2);
      expect(store.inner.events.map((e) => e.type)).toEqual(['failure']);
    });

    it('applies a failure locally when only the write fails', async () => {
      // Prepare: reads work, then the store goes down before the write.
      const store = new SwitchableStore();
      store.down = false;
      const log = new MemoryLog();
      const breaker = breakerOver(store, log);
      await breaker.view(['openai-east']);
      store.down = true;

      // Act
      const record = await breaker.recordFailure('openai-east', HTTP_503);

      // Assess
      expect(record.consecutiveFailures).toBe(1);
      expect(store.inner.records.has('openai-east')).toBe(false);
      expect(log.lines.find((l) => l.message.includes('Breaker state store unavailable'))?.fields).toMatchObject({
        operation: 'write',
      });
    });
  });
});
