import { admission } from './admission';
import { backoffDelayMs, type Random } from './backoff';
import type { BreakerOptions } from './breaker-options';
import type { BreakerRecord } from './breaker-record';
import type { FailureClass } from './outcome';

/** A circuit transition, each of which becomes exactly one failover event. */
export type TransitionKind = 'circuit_open' | 'circuit_half_open' | 'circuit_closed';

/** A change to write: the next record and the transitions it makes. `null` from a transition means "write nothing". */
export interface BreakerChange {
  record: BreakerRecord;
  transitions: TransitionKind[];
}

/** One failed attempt, as the breaker needs to know it. */
export interface FailureReport {
  class: FailureClass;
  /** Cool-down the instance asked for (ms), e.g. from `Retry-After`. */
  retryAfterMs: number | null;
  /** Who reports it (request id); in half-open only the probe holder's verdict moves the circuit. */
  reporter?: string;
}

/** True when `reporter` may decide a half-open circuit: it holds the probe lease (or is not named). */
function decidesProbe(record: BreakerRecord, reporter: string | undefined): boolean {
  return record.circuit.state === 'half_open' && (reporter === undefined || record.circuit.probe?.holder === reporter);
}

/** Whether the failures inside the window are enough to open a closed circuit ("when to trip"). */
export function shouldTrip(recentFailures: number[], options: Pick<BreakerOptions, 'failureThreshold'>): boolean {
  return recentFailures.length >= options.failureThreshold;
}

function bump(record: BreakerRecord, now: number): BreakerRecord {
  return { ...record, version: record.version + 1, updatedAt: now };
}

/** Records a failure: counts it in the window, trips a closed circuit, reopens a half-open one with the next backoff. */
export function onFailure(
  record: BreakerRecord,
  failure: FailureReport,
  now: number,
  options: BreakerOptions,
  random: Random = Math.random,
): BreakerChange {
  const windowStart = now - options.failureWindowSeconds * 1000;
  const recentFailures = [...record.recentFailures.filter((t) => t > windowStart), now].slice(
    -Math.max(1, options.failureThreshold),
  );
  // An absurd Retry-After (or Infinity) must not disable an instance for years: it is capped at the longest backoff.
  const requestedWait =
    failure.retryAfterMs !== null && Number.isFinite(failure.retryAfterMs)
      ? Math.min(Math.max(0, failure.retryAfterMs), options.maxBackoffSeconds * 1000)
      : null;
  const requestedCooldown = requestedWait !== null ? now + requestedWait : null;
  const cooldownUntil =
    requestedCooldown === null ? record.cooldownUntil : Math.max(requestedCooldown, record.cooldownUntil ?? 0);
  const base: BreakerRecord = {
    ...bump(record, now),
    recentFailures,
    consecutiveFailures: record.consecutiveFailures + 1,
    cooldownUntil,
    lastFailureClass: failure.class,
    lastFailureAt: now,
  };
  const open = (reopenCount: number): BreakerChange => {
    // A rate-limited instance stays open at least until the time it asked for.
    const retryAt = Math.max(now + backoffDelayMs(reopenCount, options, random), cooldownUntil ?? 0);
    return {
      record: { ...base, reopenCount, circuit: { state: 'open', openedAt: now, retryAt } },
      transitions: ['circuit_open'],
    };
  };
  switch (record.circuit.state) {
    case 'closed':
      return shouldTrip(recentFailures, options) ? open(0) : { record: base, transitions: [] };
    case 'half_open':
      // A request that was in flight before the probe started says less than the probe will: count, don't reopen.
      return decidesProbe(record, failure.reporter) ? open(record.reopenCount + 1) : { record: base, transitions: [] };
    case 'open':
      // A request that was already in flight when the circuit opened: count it, keep the deadline.
      return { record: base, transitions: [] };
  }
}

/**
 * Records a success: resets a closed instance's streak, or counts the probe's success in half-open and closes after
 * enough. `reporter` is the request id; a success from anyone but the probe holder does not count in half-open.
 */
export function onSuccess(
  record: BreakerRecord,
  now: number,
  options: BreakerOptions,
  reporter?: string,
): BreakerChange | null {
  switch (record.circuit.state) {
    case 'closed': {
      if (record.consecutiveFailures === 0 && (record.cooldownUntil === null || record.cooldownUntil <= now)) {
        return null; // the steady state costs no write
      }
      // A success from a request already in flight does not lift a Retry-After the instance asked for.
      const cooling = record.cooldownUntil !== null && record.cooldownUntil > now;
      if (record.consecutiveFailures === 0 && cooling) return null;
      return {
        record: { ...bump(record, now), consecutiveFailures: 0, cooldownUntil: cooling ? record.cooldownUntil : null },
        transitions: [],
      };
    }
    case 'half_open': {
      if (!decidesProbe(record, reporter)) return null;
      const successes = record.circuit.successes + 1;
      if (successes >= options.successThreshold) {
        return {
          record: {
            ...bump(record, now),
            circuit: { state: 'closed' },
            recentFailures: [],
            consecutiveFailures: 0,
            reopenCount: 0,
            cooldownUntil: null,
          },
          transitions: ['circuit_closed'],
        };
      }
      return {
        record: {
          ...bump(record, now),
          circuit: { state: 'half_open', successes, probe: null },
          consecutiveFailures: 0,
        },
        transitions: [],
      };
    }
    case 'open':
      // A straggler from before the circuit opened proves little; the probe decides.
      return null;
  }
}

/** Takes the half-open probe lease for `holder` until `expiresAt`, moving a due open circuit to half-open. */
export function takeProbe(record: BreakerRecord, holder: string, now: number, expiresAt: number): BreakerChange | null {
  if (admission(record, now).kind !== 'probe') return null;
  const probe = { holder, expiresAt };
  if (record.circuit.state === 'open') {
    return {
      record: { ...bump(record, now), circuit: { state: 'half_open', successes: 0, probe } },
      transitions: ['circuit_half_open'],
    };
  }
  if (record.circuit.state === 'half_open') {
    return { record: { ...bump(record, now), circuit: { ...record.circuit, probe } }, transitions: [] };
  }
  return null;
}

/** Gives the probe lease back without a verdict (the probe ended in a client error that says nothing of health). */
export function releaseProbe(record: BreakerRecord, holder: string, now: number): BreakerChange | null {
  if (record.circuit.state !== 'half_open' || record.circuit.probe?.holder !== holder) return null;
  return { record: { ...bump(record, now), circuit: { ...record.circuit, probe: null } }, transitions: [] };
}

/**
 * True when a failure's change, computed on the stored `current` record, only counts on a circuit that is already
 * decided (open, or half-open with someone else's probe): it makes no transition and sets no later deadline. Such a
 * write that lost a race is not retried — its event still counts it.
 */
export function isMootFailure(current: BreakerRecord, change: BreakerChange): boolean {
  if (change.transitions.length > 0 || current.circuit.state === 'closed') return false;
  const deadline = Math.max(
    current.cooldownUntil ?? 0,
    current.circuit.state === 'open' ? current.circuit.retryAt : Number.NEGATIVE_INFINITY,
  );
  return (change.record.cooldownUntil ?? 0) <= deadline;
}

/**
 * True when a closed circuit has a failure inside the failure window that no success has cleared yet: other
 * containers may be about to open it. (An older failure can no longer count towards opening it.)
 */
export function hasUnconfirmedFailures(
  record: BreakerRecord,
  now: number,
  options: Pick<BreakerOptions, 'failureWindowSeconds'>,
): boolean {
  return (
    record.circuit.state === 'closed' &&
    record.consecutiveFailures > 0 &&
    record.lastFailureAt !== null &&
    record.lastFailureAt > now - options.failureWindowSeconds * 1000
  );
}
