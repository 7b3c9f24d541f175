import { admission } from '../../shared/resilience/admission';
import { type BreakerOptions, DEFAULT_BREAKER_OPTIONS } from '../../shared/resilience/breaker-options';
import { type BreakerRecord, freshRecord } from '../../shared/resilience/breaker-record';
import {
  type BreakerChange,
  type FailureReport,
  hasUnconfirmedFailures,
  isMootFailure,
  onFailure,
  onSuccess,
  releaseProbe,
  shouldTrip,
  type TransitionKind,
  takeProbe,
} from '../../shared/resilience/breaker-transitions';

/** The defaults without jitter, so open periods are exact: 60 s, 120 s, 240 s … */
const EXACT: BreakerOptions = { ...DEFAULT_BREAKER_OPTIONS, jitterRatio: 0 };
const T0 = Date.UTC(2025, 0, 1);
const SECOND = 1_000;
const LEASE_MS = EXACT.probeLeaseSeconds * SECOND;

const TRANSIENT: FailureReport = { class: 'transient', retryAfterMs: null };

/** Asserts `change` is a write (not null) and returns it. */
function written(change: BreakerChange | null): BreakerChange {
  expect(change).not.toBeNull();
  return change as BreakerChange;
}

/** Fails `record` at each of `times`, collecting every transition on the way. */
function failAt(record: BreakerRecord, times: number[], failure: FailureReport = TRANSIENT) {
  const transitions: TransitionKind[] = [];
  let current = record;
  for (const now of times) {
    const change = onFailure(current, failure, now, EXACT);
    transitions.push(...change.transitions);
    current = change.record;
  }
  return { record: current, transitions };
}

/** A record whose circuit opened at `openedAt` after three quick failures (retryAt = openedAt + 60 s). */
function openedAt(openedAt: number): BreakerRecord {
  return failAt(freshRecord('openai-east'), [openedAt - 2 * SECOND, openedAt - SECOND, openedAt]).record;
}

/** A record in half-open with a probe lease held by `holder`, taken at `now`. */
function halfOpenAt(record: BreakerRecord, now: number, holder = 'req-probe'): BreakerRecord {
  return written(takeProbe(record, holder, now, now + LEASE_MS)).record;
}

describe('shouldTrip', () => {
  it.each([
    { failures: 2, trips: false },
    { failures: 3, trips: true },
    { failures: 4, trips: true },
  ])('with a threshold of 3 and $failures failures in the window says $trips', ({ failures, trips }) => {
    // Act
    const verdict = shouldTrip(
      Array.from({ length: failures }, () => T0),
      EXACT,
    );

    // Assess
    expect(verdict).toBe(trips);
  });
});

describe('breaker transitions', () => {
  describe('closed', () => {
    it('stays closed after two failures inside the window', () => {
      // Act
      const { record, transitions } = failAt(freshRecord('openai-east'), [T0, T0 + SECOND]);

      // Assess
      expect(record.circuit).toEqual({ state: 'closed' });
      expect(record.consecutiveFailures).toBe(2);
      expect(transitions).toEqual([]);
    });

    it('opens at the third failure inside the window, with exactly one circuit_open', () => {
      // Act
      const { record, transitions } = failAt(freshRecord('openai-east'), [T0, T0 + 10 * SECOND, T0 + 20 * SECOND]);

      // Assess
      expect(transitions).toEqual(['circuit_open']);
      expect(record.circuit).toEqual({ state: 'open', openedAt: T0 + 20 * SECOND, retryAt: T0 + 80 * SECOND });
      expect(record.reopenCount).toBe(0);
      expect(record.consecutiveFailures).toBe(3);
      expect(record.lastFailureClass).toBe('transient');
      expect(record.lastFailureAt).toBe(T0 + 20 * SECOND);
    });

    it('does not count failures older than the window: two old and one new stay closed', () => {
      // Act: the window is 60 s, so the first two have left it when the third arrives.
      const { record, transitions } = failAt(freshRecord('openai-east'), [T0, T0 + SECOND, T0 + 61 * SECOND]);

      // Assess
      expect(record.circuit).toEqual({ state: 'closed' });
      expect(record.recentFailures).toEqual([T0 + 61 * SECOND]);
      expect(transitions).toEqual([]);
    });

    it('writes nothing for a success on a clean record', () => {
      // Act
      const change = onSuccess(freshRecord('openai-east'), T0, EXACT);

      // Assess
      expect(change).toBeNull();
    });

    it('resets consecutiveFailures on a success after failures, without a transition', () => {
      // Prepare
      const { record } = failAt(freshRecord('openai-east'), [T0, T0 + SECOND]);

      // Act
      const change = written(onSuccess(record, T0 + 2 * SECOND, EXACT));

      // Assess
      expect(change.record.consecutiveFailures).toBe(0);
      expect(change.record.circuit).toEqual({ state: 'closed' });
      expect(change.transitions).toEqual([]);
    });
  });

  describe('rate limiting', () => {
    it('cools a rate-limited instance until its Retry-After, then lets it pass', () => {
      // Act
      const { record } = onFailure(
        freshRecord('openai-east'),
        { class: 'rate_limited', retryAfterMs: 5_000 },
        T0,
        EXACT,
      );

      // Assess
      expect(record.cooldownUntil).toBe(T0 + 5_000);
      expect(record.circuit).toEqual({ state: 'closed' });
      expect(admission(record, T0 + 4_999)).toEqual({ kind: 'blocked', reason: 'cooling', until: T0 + 5_000 });
      expect(admission(record, T0 + 5_000)).toEqual({ kind: 'pass' });
    });

    it('keeps a circuit opened by a 429 open at least until the Retry-After time, past a shorter backoff', () => {
      // Prepare
      const { record: twoFailures } = failAt(freshRecord('openai-east'), [T0, T0 + SECOND]);

      // Act: the third failure is a 429 asking for 5 minutes; the backoff alone would be 60 s.
      const change = onFailure(twoFailures, { class: 'rate_limited', retryAfterMs: 300_000 }, T0 + 2 * SECOND, EXACT);

      // Assess
      expect(change.transitions).toEqual(['circuit_open']);
      expect(change.record.circuit).toMatchObject({ state: 'open', retryAt: T0 + 302 * SECOND });
      expect(admission(change.record, T0 + 62 * SECOND)).toEqual({
        kind: 'blocked',
        reason: 'open',
        until: T0 + 302 * SECOND,
      });
    });

    it('never shortens a cool-down already in force', () => {
      // Prepare
      const long = onFailure(freshRecord('openai-east'), { class: 'rate_limited', retryAfterMs: 60_000 }, T0, EXACT);

      // Act
      const { record } = onFailure(long.record, { class: 'rate_limited', retryAfterMs: 1_000 }, T0 + SECOND, EXACT);

      // Assess
      expect(record.cooldownUntil).toBe(T0 + 60_000);
    });
  });

  describe('open', () => {
    const retryAt = T0 + 60 * SECOND;

    it('blocks admission until retryAt', () => {
      // Prepare
      const record = openedAt(T0);

      // Act
      const verdict = admission(record, retryAt - 1);

      // Assess
      expect(verdict).toEqual({ kind: 'blocked', reason: 'open', until: retryAt });
    });

    it('refuses the probe lease before retryAt', () => {
      // Prepare
      const record = openedAt(T0);

      // Act
      const change = takeProbe(record, 'req-probe', retryAt - 1, retryAt - 1 + LEASE_MS);

      // Assess
      expect(change).toBeNull();
    });

    it.each([
      { when: 'at retryAt', now: retryAt },
      { when: 'after retryAt', now: retryAt + 5 * SECOND },
    ])('moves to half-open with a probe lease $when (circuit_half_open)', ({ now }) => {
      // Prepare
      const record = openedAt(T0);

      // Act
      const change = written(takeProbe(record, 'req-probe', now, now + LEASE_MS));

      // Assess
      expect(change.transitions).toEqual(['circuit_half_open']);
      expect(change.record.circuit).toEqual({
        state: 'half_open',
        successes: 0,
        probe: { holder: 'req-probe', expiresAt: now + LEASE_MS },
      });
    });

    it('counts a failure that was already in flight without moving retryAt', () => {
      // Prepare
      const record = openedAt(T0);

      // Act
      const change = onFailure(record, TRANSIENT, T0 + SECOND, EXACT);

      // Assess
      expect(change.transitions).toEqual([]);
      expect(change.record.circuit).toEqual(record.circuit);
      expect(change.record.consecutiveFailures).toBe(4);
    });

    it('ignores a straggling success (the probe decides)', () => {
      // Act
      const change = onSuccess(openedAt(T0), T0 + SECOND, EXACT);

      // Assess
      expect(change).toBeNull();
    });
  });

  describe('half-open', () => {
    const retryAt = T0 + 60 * SECOND;

    it('refuses a second probe while the lease is live', () => {
      // Prepare
      const record = halfOpenAt(openedAt(T0), retryAt, 'req-1');

      // Act
      const change = takeProbe(record, 'req-2', retryAt + LEASE_MS - 1, retryAt + 2 * LEASE_MS);

      // Assess
      expect(change).toBeNull();
      expect(admission(record, retryAt + LEASE_MS - 1)).toEqual({
        kind: 'blocked',
        reason: 'probing',
        until: retryAt + LEASE_MS,
      });
    });

    it('hands an expired lease to the next request without a second circuit_half_open', () => {
      // Prepare
      const record = halfOpenAt(openedAt(T0), retryAt, 'req-1');
      const expired = retryAt + LEASE_MS;

      // Act
      const change = written(takeProbe(record, 'req-2', expired, expired + LEASE_MS));

      // Assess
      expect(change.transitions).toEqual([]);
      expect(change.record.circuit).toEqual({
        state: 'half_open',
        successes: 0,
        probe: { holder: 'req-2', expiresAt: expired + LEASE_MS },
      });
    });

    it('stays half-open after one success and releases the lease', () => {
      // Prepare
      const record = halfOpenAt(openedAt(T0), retryAt);

      // Act
      const change = written(onSuccess(record, retryAt + SECOND, EXACT));

      // Assess
      expect(change.transitions).toEqual([]);
      expect(change.record.circuit).toEqual({ state: 'half_open', successes: 1, probe: null });
      expect(admission(change.record, retryAt + SECOND)).toEqual({ kind: 'probe' });
    });

    it('closes after two successes and resets reopenCount (circuit_closed)', () => {
      // Prepare: a failed probe first, so there is a reopenCount to reset.
      const reopened = onFailure(halfOpenAt(openedAt(T0), retryAt), TRANSIENT, retryAt + SECOND, EXACT).record;
      const secondRetryAt = retryAt + SECOND + 120 * SECOND;
      const firstProbe = halfOpenAt(reopened, secondRetryAt, 'req-1');
      const oneSuccess = written(onSuccess(firstProbe, secondRetryAt + SECOND, EXACT)).record;
      const secondProbe = halfOpenAt(oneSuccess, secondRetryAt + 2 * SECOND, 'req-2');

      // Act
      const change = written(onSuccess(secondProbe, secondRetryAt + 3 * SECOND, EXACT));

      // Assess
      expect(reopened.reopenCount).toBe(1);
      expect(change.transitions).toEqual(['circuit_closed']);
      expect(change.record).toMatchObject({
        circuit: { state: 'closed' },
        reopenCount: 0,
        consecutiveFailures: 0,
        recentFailures: [],
        cooldownUntil: null,
      });
    });

    it('reopens on a failure with the next backoff step: 120 s, then 240 s', () => {
      // Prepare
      const firstProbeAt = retryAt;

      // Act
      const first = onFailure(halfOpenAt(openedAt(T0), firstProbeAt), TRANSIENT, firstProbeAt + SECOND, EXACT);
      const secondProbeAt = firstProbeAt + SECOND + 120 * SECOND;
      const second = onFailure(halfOpenAt(first.record, secondProbeAt), TRANSIENT, secondProbeAt + SECOND, EXACT);

      // Assess
      expect(first.transitions).toEqual(['circuit_open']);
      expect(first.record.reopenCount).toBe(1);
      expect(first.record.circuit).toEqual({
        state: 'open',
        openedAt: firstProbeAt + SECOND,
        retryAt: firstProbeAt + SECOND + 120 * SECOND,
      });
      expect(second.transitions).toEqual(['circuit_open']);
      expect(second.record.reopenCount).toBe(2);
      expect(second.record.circuit).toEqual({
        state: 'open',
        openedAt: secondProbeAt + SECOND,
        retryAt: secondProbeAt + SECOND + 240 * SECOND,
      });
    });

    it('lets the holder release the lease without a verdict', () => {
      // Prepare
      const record = halfOpenAt(openedAt(T0), retryAt, 'req-1');

      // Act
      const change = written(releaseProbe(record, 'req-1', retryAt + SECOND));

      // Assess
      expect(change.transitions).toEqual([]);
      expect(change.record.circuit).toEqual({ state: 'half_open', successes: 0, probe: null });
    });

    it('refuses a release by a request that does not hold the lease', () => {
      // Prepare
      const record = halfOpenAt(openedAt(T0), retryAt, 'req-1');

      // Act
      const change = releaseProbe(record, 'req-2', retryAt + SECOND);

      // Assess
      expect(change).toBeNull();
    });

    it('refuses a release when the circuit is not half-open', () => {
      // Act
      const change = releaseProbe(openedAt(T0), 'req-1', T0 + SECOND);

      // Assess
      expect(change).toBeNull();
    });
  });

  it('bumps version by exactly 1 and stamps updatedAt on every change of a full cycle', () => {
    // Prepare: each step happens `after` ms after the previous one.
    const steps: { after: number; apply: (r: BreakerRecord, now: number) => BreakerChange | null }[] = [
      { after: SECOND, apply: (r, t) => onFailure(r, TRANSIENT, t, EXACT) },
      { after: SECOND, apply: (r, t) => onSuccess(r, t, EXACT) },
      { after: SECOND, apply: (r, t) => onFailure(r, TRANSIENT, t, EXACT) },
      { after: SECOND, apply: (r, t) => onFailure(r, TRANSIENT, t, EXACT) },
      { after: SECOND, apply: (r, t) => onFailure(r, TRANSIENT, t, EXACT) }, // opens for 60 s
      { after: 60 * SECOND, apply: (r, t) => takeProbe(r, 'req-1', t, t + LEASE_MS) },
      { after: SECOND, apply: (r, t) => releaseProbe(r, 'req-1', t) },
      { after: SECOND, apply: (r, t) => takeProbe(r, 'req-2', t, t + LEASE_MS) },
      { after: SECOND, apply: (r, t) => onSuccess(r, t, EXACT) },
      { after: SECOND, apply: (r, t) => takeProbe(r, 'req-3', t, t + LEASE_MS) },
      { after: SECOND, apply: (r, t) => onSuccess(r, t, EXACT) }, // closes
    ];
    let record = freshRecord('openai-east');
    let now = T0;
    const seen: { versionStep: number; stampedNow: boolean }[] = [];

    // Act
    for (const step of steps) {
      now += step.after;
      const change = written(step.apply(record, now));
      seen.push({ versionStep: change.record.version - record.version, stampedNow: change.record.updatedAt === now });
      record = change.record;
    }

    // Assess
    expect(seen).toEqual(steps.map(() => ({ versionStep: 1, stampedNow: true })));
    expect(record.version).toBe(steps.length);
    expect(record.circuit).toEqual({ state: 'closed' });
  });
});

describe('in half-open, only the probe holder decides', () => {
  const retryAt = T0 + 60 * SECOND;

  it('ignores a success from a request that does not hold the probe lease', () => {
    // Prepare
    const record = halfOpenAt(openedAt(T0), retryAt, 'req-probe');

    // Act
    const change = onSuccess(record, retryAt + SECOND, EXACT, 'req-straggler');

    // Assess
    expect(change).toBeNull();
  });

  it("counts the holder's success", () => {
    const record = halfOpenAt(openedAt(T0), retryAt, 'req-probe');

    const change = written(onSuccess(record, retryAt + SECOND, EXACT, 'req-probe'));

    expect(change.record.circuit).toEqual({ state: 'half_open', successes: 1, probe: null });
  });

  it("counts a straggler's failure without reopening, and reopens on the holder's", () => {
    const record = halfOpenAt(openedAt(T0), retryAt, 'req-probe');

    const straggler = onFailure(record, { ...TRANSIENT, reporter: 'req-straggler' }, retryAt + SECOND, EXACT);
    const holder = onFailure(straggler.record, { ...TRANSIENT, reporter: 'req-probe' }, retryAt + 2 * SECOND, EXACT);

    expect(straggler.transitions).toEqual([]);
    expect(straggler.record.circuit.state).toBe('half_open');
    expect(straggler.record.consecutiveFailures).toBe(record.consecutiveFailures + 1);
    expect(holder.transitions).toEqual(['circuit_open']);
  });
});

describe('isMootFailure', () => {
  const opened = failAt(freshRecord('primary'), [T0, T0 + 1, T0 + 2]).record;

  it('is true for a failure that only counts on an open circuit', () => {
    expect(isMootFailure(opened, onFailure(opened, TRANSIENT, T0 + 3, EXACT))).toBe(true);
  });

  it('is false for a failure that asks for a cool-down ending after the open circuit’s retry time', () => {
    const longWait: FailureReport = { class: 'rate_limited', retryAfterMs: 10 * EXACT.initialBackoffSeconds * SECOND };
    expect(isMootFailure(opened, onFailure(opened, longWait, T0 + 3, EXACT))).toBe(false);
  });

  it('is false on a closed circuit, where every failure counts towards opening it', () => {
    const closed = failAt(freshRecord('primary'), [T0]).record;
    expect(isMootFailure(closed, onFailure(closed, TRANSIENT, T0 + 1, EXACT))).toBe(false);
  });

  it('is false for a change that makes a transition (the probe holder failing reopens)', () => {
    const probing = written(takeProbe(opened, 'probe-1', T0 + 61 * SECOND, T0 + 91 * SECOND)).record;
    const change = onFailure(probing, { ...TRANSIENT, reporter: 'probe-1' }, T0 + 62 * SECOND, EXACT);
    expect(change.transitions).toEqual(['circuit_open']);
    expect(isMootFailure(probing, change)).toBe(false);
  });
});

describe('hasUnconfirmedFailures', () => {
  it('is true for a closed circuit with failures no success has cleared, false when clean or open', () => {
    const oneFailure = failAt(freshRecord('primary'), [T0]).record;
    const opened = failAt(freshRecord('primary'), [T0, T0 + 1, T0 + 2]).record;
    const cleared = written(onSuccess(oneFailure, T0 + 1, EXACT)).record;
    expect(hasUnconfirmedFailures(oneFailure, T0 + 3, EXACT)).toBe(true);
    expect(hasUnconfirmedFailures(cleared, T0 + 3, EXACT)).toBe(false);
    expect(hasUnconfirmedFailures(opened, T0 + 3, EXACT)).toBe(false);
    expect(hasUnconfirmedFailures(freshRecord('primary'), T0 + 3, EXACT)).toBe(false);
  });

  it('is false once the failure is older than the failure window (it can no longer open the circuit)', () => {
    const oneFailure = failAt(freshRecord('primary'), [T0]).record;
    const window = EXACT.failureWindowSeconds * SECOND;
    expect(hasUnconfirmedFailures(oneFailure, T0 + window - 1, EXACT)).toBe(true);
    expect(hasUnconfirmedFailures(oneFailure, T0 + window, EXACT)).toBe(false);
  });
});
