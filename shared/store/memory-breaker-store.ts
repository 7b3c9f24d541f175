import type { FailoverEvent } from '../events/failover-event';
import { type BreakerRecord, freshRecord } from '../resilience/breaker-record';
import type { BreakerStore, EventStore, SaveResult } from './breaker-store';

/** A process-local store: the per-container breaker a shared store is compared against, and a test double. */
export class MemoryBreakerStore implements BreakerStore, EventStore {
  readonly records = new Map<string, BreakerRecord>();
  readonly events: FailoverEvent[] = [];

  async load(instances: string[]): Promise<Map<string, BreakerRecord>> {
    return new Map(instances.map((name) => [name, this.records.get(name) ?? freshRecord(name)]));
  }

  async save(next: BreakerRecord, expectedVersion: number, events: FailoverEvent[]): Promise<SaveResult> {
    const current = this.records.get(next.instance) ?? freshRecord(next.instance);
    if (current.version !== expectedVersion) return { ok: false, current };
    this.records.set(next.instance, next);
    this.events.push(...events);
    return { ok: true };
  }

  async append(events: FailoverEvent[]): Promise<void> {
    this.events.push(...events);
  }
}
