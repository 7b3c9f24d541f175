import type { FailoverEvent } from '../events/failover-event';
import type { BreakerRecord } from '../resilience/breaker-record';

/** The result of a conditional save: written, or refused because someone else wrote first. */
export type SaveResult = { ok: true } | { ok: false; current: BreakerRecord };

/** Where breaker records live (DynamoDB in AWS and locally, memory for per-process comparisons). */
export interface BreakerStore {
  /** Reads the records of these instances; unknown instances come back as fresh records (version 0). */
  load(instances: string[]): Promise<Map<string, BreakerRecord>>;
  /**
   * Writes `next` only if the stored version still equals `expectedVersion` (0: no item yet), atomically with
   * `events`. On a lost race returns the current record so the caller can recompute.
   */
  save(next: BreakerRecord, expectedVersion: number, events: FailoverEvent[]): Promise<SaveResult>;
}

/** Where failover events that are not tied to a breaker write go (failover, no_healthy_instance). */
export interface EventStore {
  append(events: FailoverEvent[]): Promise<void>;
}
