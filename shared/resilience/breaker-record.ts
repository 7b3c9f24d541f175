import type { FailureClass } from './outcome';

/** A half-open probe lease: one request at a time may test a recovering instance. */
export interface ProbeLease {
  /** Who holds it (the request id of the probing request). */
  holder: string;
  /** When it lapses on its own (epoch ms), so a crashed holder cannot keep it. */
  expiresAt: number;
}

/** The circuit of one instance; each state holds only its own fields. */
export type Circuit =
  | { state: 'closed' }
  | { state: 'open'; openedAt: number; retryAt: number }
  | { state: 'half_open'; successes: number; probe: ProbeLease | null };

export type CircuitState = Circuit['state'];

/** Everything the gateway keeps about one instance's health; one DynamoDB item per instance. */
export interface BreakerRecord {
  instance: string;
  /** Optimistic-concurrency version; 0 means the record has never been written. */
  version: number;
  circuit: Circuit;
  /** Failure times (epoch ms) inside the failure window, oldest first. */
  recentFailures: number[];
  consecutiveFailures: number;
  /** Backoff step of the current (or last) opening: 0 for the first, +1 per half-open failure; reset on close. */
  reopenCount: number;
  /** Rate-limit cool-down (epoch ms): the instance is not tried before this, whatever the circuit says. */
  cooldownUntil: number | null;
  lastFailureClass: FailureClass | null;
  lastFailureAt: number | null;
  /** Last write (epoch ms). */
  updatedAt: number;
}

/** A record for an instance nothing is known about yet: closed and clean. */
export function freshRecord(instance: string): BreakerRecord {
  return {
    instance,
    version: 0,
    circuit: { state: 'closed' },
    recentFailures: [],
    consecutiveFailures: 0,
    reopenCount: 0,
    cooldownUntil: null,
    lastFailureClass: null,
    lastFailureAt: null,
    updatedAt: 0,
  };
}
