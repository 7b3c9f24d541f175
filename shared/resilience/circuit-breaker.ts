import { randomUUID } from 'node:crypto';
import { type FailoverEvent, type FailoverEventType, scrubMessage } from '../events/failover-event';
import type { Log } from '../observability/log';
import type { MetricsSink } from '../observability/metrics-sink';
import type { BreakerStore, EventStore } from '../store/breaker-store';
import { admission } from './admission';
import type { Random } from './backoff';
import type { BreakerOptions } from './breaker-options';
import { type BreakerRecord, freshRecord } from './breaker-record';
import {
  type BreakerChange,
  type FailureReport,
  hasUnconfirmedFailures,
  isMootFailure,
  onFailure,
  onSuccess,
  releaseProbe,
  type TransitionKind,
  takeProbe,
} from './breaker-transitions';
import type { Clock } from './clock';

/** What the circuit breaker needs around it. */
export interface CircuitBreakerDeps {
  store: BreakerStore;
  events: EventStore;
  options: BreakerOptions;
  /** How long (ms) a read of the store is reused by this container. */
  cacheMs: number;
  /** Provider of each instance, for events. */
  providerOf: (instance: string) => string;
  clock: Clock;
  random: Random;
  log: Log;
  /** After a store error, how long (ms) to stay on in-memory state before trying the store again. */
  degradedMs?: number;
  /** Counts store errors (BreakerStoreErrors). */
  metrics?: MetricsSink;
  /**
   * How long (ms) after a failure no success has cleared the instance is held back while others can serve (see
   * `heldBack`); 0 (the default) holds nothing back: a closed circuit keeps its instance's priority.
   */
  holdBackMs?: number;
}

/** A failed attempt with the detail that goes into its event. */
export interface FailureDetail extends FailureReport {
  status: number | null;
  message: string;
  requestId: string;
}

const MAX_RACE_ROUNDS = 10;
/** A container's hold-back after a failure lasts holdBackMs × (1 + up to this fraction), drawn per failure. */
export const HOLD_BACK_SPREAD = 0.5;
/** The least time (ms) a writer trusts a cached record before its conditional write (see `mutate`). */
const WRITER_TRUST_MS = 1000;
const MAX_PENDING_EVENTS = 1000;
/** Events kept in memory that one read writes on its way (one BatchWriteItem). */
const FLUSH_PER_READ = 25;

/** One conditional update of an instance's record. */
interface BreakerMutation {
  instance: string;
  requestId: string;
  /** The change to write on top of `record`, or null for none. */
  compute: (record: BreakerRecord, now: number) => BreakerChange | null;
  /** After a lost race: true when the change no longer needs writing (its extra events are still appended). */
  moot?: (current: BreakerRecord, change: BreakerChange) => boolean;
  /** Events written with the change besides its transitions. */
  extraEvents?: (change: BreakerChange, now: number) => FailoverEvent[];
  onApplied?: (record: BreakerRecord) => void;
}

interface CacheEntry {
  record: BreakerRecord;
  fetchedAt: number;
  /** Written only in this container's memory while the store was down: any store read replaces it. */
  localOnly?: boolean;
}

/**
 * One container's view of the shared breakers: reads through a short cache, applies pure transitions with
 * conditional writes (recomputing on a lost race), and fails open to in-memory state when the store is sick.
 */
export class CircuitBreaker {
  private readonly cache = new Map<string, CacheEntry>();
  /** Reads in flight, by instance: concurrent views join them. */
  private readonly reads = new Map<string, Promise<void>>();
  /** Failure writes in flight, by instance: the instance is held back while any is pending. */
  private readonly failureWrites = new Map<string, Set<Promise<BreakerRecord>>>();
  /** The end of the hold-back this container drew for the last failure it read of each instance. */
  private readonly holdBackEnds = new Map<string, { failureAt: number; until: number }>();
  private degradedUntil = 0;
  private pendingEvents: FailoverEvent[] = [];

  constructor(private readonly deps: CircuitBreakerDeps) {}

  /**
   * Current records for `instances`, from the cache when fresh enough. An instance with unconfirmed failures is read
   * again every time. Concurrent views share one read per instance. Never throws.
   */
  async view(instances: string[]): Promise<Map<string, BreakerRecord>> {
    const now = this.deps.clock();
    const stale = instances.filter((name) =>
      this.isStale(name, now, { maxAgeMs: this.deps.cacheMs, unconfirmedToo: true }),
    );
    if (stale.length > 0 && !this.isDegraded(now)) await this.sharedRead(stale, now);
    return new Map(instances.map((name) => [name, this.cache.get(name)?.record ?? freshRecord(name)]));
  }

  /**
   * True when requests should stay off `instance` while another instance can serve them (only with `holdBackMs`): a
   * failure this container saw there is still being written, or its record (as last read) shows a failure less than
   * `holdBackMs` (up to 1.5×, drawn per container) old that no success has cleared — the circuit may be about to open
   * for the whole fleet, and one attempt per hold-back (not every request in flight) goes on to confirm or clear it.
   */
  heldBack(instance: string): boolean {
    const holdBackMs = this.deps.holdBackMs ?? 0;
    if (holdBackMs <= 0) return false;
    if (this.writingFailure(instance)) return true;
    const record = this.cache.get(instance)?.record;
    const now = this.deps.clock();
    if (!record || !hasUnconfirmedFailures(record, now, this.deps.options) || record.lastFailureAt === null) {
      return false;
    }
    // Each container draws its own end for each failure (holdBackMs to 1.5×), so that containers reading the same
    // failure do not all send to the instance at the same moment when it ends.
    const failureAt = record.lastFailureAt;
    const known = this.holdBackEnds.get(instance);
    const until =
      known?.failureAt === failureAt
        ? known.until
        : failureAt + holdBackMs * (1 + HOLD_BACK_SPREAD * this.deps.random());
    this.holdBackEnds.set(instance, { failureAt, until });
    return now < until;
  }

  /** True while this container is writing a failure of `instance`. */
  writingFailure(instance: string): boolean {
    return (this.failureWrites.get(instance)?.size ?? 0) > 0;
  }

  /** Resolves once the failures of `instances` this container is writing are written (or given up). */
  async settle(instances: string[]): Promise<void> {
    const writes = instances.flatMap((name) => [...(this.failureWrites.get(name) ?? [])]);
    await Promise.all(writes.map((write) => write.catch(() => undefined)));
  }

  /**
   * Records a failed attempt; opens or reopens the circuit when the policy says so. Returns the new record. Until it
   * is written the instance is held back in this container (see `heldBack`).
   */
  recordFailure(instance: string, detail: FailureDetail): Promise<BreakerRecord> {
    const write = this.writeFailure(instance, detail);
    const writes = this.failureWrites.get(instance) ?? new Set<Promise<BreakerRecord>>();
    writes.add(write);
    this.failureWrites.set(instance, writes);
    const done = () => {
      writes.delete(write);
      if (writes.size === 0 && this.failureWrites.get(instance) === writes) this.failureWrites.delete(instance);
    };
    write.then(done, done);
    return write;
  }

  private async writeFailure(instance: string, detail: FailureDetail): Promise<BreakerRecord> {
    const { options, log } = this.deps;
    const failure = { ...detail, message: scrubMessage(detail.message) };
    const result = await this.mutate({
      instance,
      requestId: failure.requestId,
      compute: (record, now) =>
        onFailure(record, { ...failure, reporter: failure.requestId }, now, options, this.deps.random),
      moot: isMootFailure,
      extraEvents: (change, now) => [
        this.event(
          change.record,
          now,
          failure.class === 'rate_limited' ? 'rate_limited' : 'failure',
          failure.requestId,
          {
            failureClass: failure.class,
            httpStatus: failure.status,
            message: failure.message,
          },
        ),
      ],
      onApplied: (record) =>
        log.info(
          `Failure recorded (${record.recentFailures.length}/${options.failureThreshold}) - instance: ${instance}`,
          {
            instance,
            class: failure.class,
            status: failure.status,
          },
        ),
    });
    // Refresh this instance from the store on the next read: other containers may know more.
    const entry = this.cache.get(instance);
    if (entry) entry.fetchedAt = Number.NEGATIVE_INFINITY;
    return result ?? this.cache.get(instance)?.record ?? freshRecord(instance);
  }

  /** Records a successful attempt (free when the instance was already healthy). */
  async recordSuccess(instance: string, requestId: string): Promise<void> {
    // The steady state costs nothing: a success on an instance this container last saw closed with nothing to clear
    // writes nothing, and reads only when that read is older than a writer trusts — then through the shared read, so
    // that concurrent successes do not each send one — in case a failure written elsewhere since needs clearing.
    const nothingToClear = () => {
      const cached = this.cache.get(instance);
      return (
        cached !== undefined &&
        !cached.localOnly &&
        cached.record.circuit.state === 'closed' &&
        onSuccess(cached.record, this.deps.clock(), this.deps.options, requestId) === null
      );
    };
    if (nothingToClear()) {
      const now = this.deps.clock();
      if (!this.writerMustRead(instance, now)) return;
      await this.sharedRead([instance], now);
      if (nothingToClear()) return;
    }
    await this.mutate({
      instance,
      requestId,
      compute: (record, now) => onSuccess(record, now, this.deps.options, requestId),
    });
  }

  /**
   * Tries to take the half-open probe lease for `requestId` until `expiresAt` (epoch ms). 'pass' when the fresh
   * record shows the circuit closed meanwhile (no lease needed), 'denied' when someone else is probing.
   */
  async acquireProbe(instance: string, requestId: string, expiresAt: number): Promise<'leased' | 'pass' | 'denied'> {
    const result = await this.mutate({
      instance,
      requestId,
      compute: (record, now) => takeProbe(record, requestId, now, expiresAt),
    });
    if (result) return 'leased';
    const latest = this.cache.get(instance)?.record ?? freshRecord(instance);
    return admission(latest, this.deps.clock()).kind === 'pass' ? 'pass' : 'denied';
  }

  /** Gives the probe lease back without a verdict. */
  async releaseProbe(instance: string, requestId: string): Promise<void> {
    await this.mutate({ instance, requestId, compute: (record, now) => releaseProbe(record, requestId, now) });
  }

  /** Writes an event that belongs to no breaker change (failover, no_healthy_instance). Never throws. */
  async recordEvent(event: FailoverEvent): Promise<void> {
    this.keepEvents([event]);
    if (!this.isDegraded(this.deps.clock())) await this.flushPendingEvents();
  }

  private async mutate(spec: BreakerMutation): Promise<BreakerRecord | null> {
    const { instance, requestId, compute } = spec;
    const extraEvents = spec.extraEvents ?? (() => []);
    const onApplied = spec.onApplied ?? (() => {});
    // This read is the writer's own: it never waits behind a slower shared read.
    const startedAt = this.deps.clock();
    if (this.writerMustRead(instance, startedAt)) await this.read([instance], startedAt);
    let current = this.cache.get(instance)?.record ?? freshRecord(instance);
    for (let round = 0; round < MAX_RACE_ROUNDS; round++) {
      const now = this.deps.clock();
      const change = compute(current, now);
      if (!change) return null;
      if (round > 0 && spec.moot?.(current, change)) {
        // Lost a race to a write that already decided the circuit: keep the event, leave the record.
        this.keepEvents(extraEvents(change, now));
        await this.flushPendingEvents();
        return current;
      }
      const local = this.isDegraded(now);
      const events = [
        ...extraEvents(change, now),
        ...change.transitions.map((t) => this.transitionEvent(change.record, t, now, requestId, local)),
      ];
      if (local) return this.applyLocally(change, events, onApplied);
      // Only a transition is written in one transaction with its events. Any other change is a conditional write of
      // the record alone — a lost race then answers with the current item at once, where concurrent transactions on
      // one item conflict and need a read — and its events are appended once it is written.
      const atomic = change.transitions.length > 0;
      let result: Awaited<ReturnType<BreakerStore['save']>>;
      try {
        result = await this.deps.store.save(change.record, current.version, atomic ? events : []);
      } catch (error) {
        this.degrade(error, 'write');
        const localEvents = [
          ...extraEvents(change, now),
          ...change.transitions.map((t) => this.transitionEvent(change.record, t, now, requestId, true)),
        ];
        return this.applyLocally(change, localEvents, onApplied);
      }
      if (result.ok) {
        this.remember(change.record, now);
        onApplied(change.record);
        this.logTransitions(change);
        if (!atomic) this.keepEvents(events);
        await this.flushPendingEvents();
        return change.record;
      }
      current = result.current;
      this.remember(current, now);
    }
    this.deps.log.warn('Breaker update lost too many races; giving up on this update', { instance });
    return null;
  }

  private applyLocally(
    change: BreakerChange,
    events: FailoverEvent[],
    onApplied: (record: BreakerRecord) => void,
  ): BreakerRecord {
    // Known only here: the next read of the store (once it answers again) replaces it.
    this.cache.set(change.record.instance, {
      record: change.record,
      fetchedAt: Number.NEGATIVE_INFINITY,
      localOnly: true,
    });
    onApplied(change.record);
    this.logTransitions(change);
    this.keepEvents(events);
    return change.record;
  }

  /** Keeps `events` in memory until the next flush (the newest MAX_PENDING_EVENTS of them). */
  private keepEvents(events: FailoverEvent[]): void {
    this.pendingEvents = [...this.pendingEvents, ...events].slice(-MAX_PENDING_EVENTS);
  }

  /** Writes the events kept in memory (at most `limit` of them, oldest first). Never throws. */
  private async flushPendingEvents(limit = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.pendingEvents.length === 0) return;
    const batch = this.pendingEvents.slice(0, limit);
    this.pendingEvents = this.pendingEvents.slice(batch.length);
    try {
      await this.deps.events.append(batch);
    } catch (error) {
      this.pendingEvents = [...batch, ...this.pendingEvents].slice(-MAX_PENDING_EVENTS);
      this.degrade(error, 'write');
    }
  }

  /**
   * True when the cached record of `name` is older than `maxAgeMs` (or only this container knows it), or, with
   * `unconfirmedToo`, shows failures no success has cleared.
   */
  private isStale(name: string, now: number, options: { maxAgeMs: number; unconfirmedToo: boolean }): boolean {
    const entry = this.cache.get(name);
    if (!entry) return true;
    if (options.unconfirmedToo && hasUnconfirmedFailures(entry.record, now, this.deps.options)) return true;
    return now - entry.fetchedAt >= options.maxAgeMs;
  }

  /**
   * True when a writer must read `instance` before deciding: a recent cached record is trusted (the conditional write
   * catches staleness) — for at least WRITER_TRUST_MS, so that without a read cache the outcome of a request is not
   * read again right after its own view; an older one, or one only this container knows (written while the store was
   * down), is read again first — unless the store is down.
   */
  private writerMustRead(instance: string, now: number): boolean {
    const maxAgeMs = Math.max(this.deps.cacheMs, WRITER_TRUST_MS);
    return this.isStale(instance, now, { maxAgeMs, unconfirmedToo: false }) && !this.isDegraded(now);
  }

  /** Reads `names`, joining a read of the same instance already in flight instead of sending another. */
  private async sharedRead(names: string[], now: number): Promise<void> {
    const waits = new Set<Promise<void>>();
    const missing: string[] = [];
    for (const name of names) {
      const inFlight = this.reads.get(name);
      if (inFlight) waits.add(inFlight);
      else missing.push(name);
    }
    if (missing.length > 0) {
      const read = this.read(missing, now);
      for (const name of missing) this.reads.set(name, read);
      const forget = () => {
        for (const name of missing) if (this.reads.get(name) === read) this.reads.delete(name);
      };
      read.then(forget, forget);
      waits.add(read);
    }
    await Promise.all(waits);
  }

  /** Reads `names` from the store into the cache (as of `startedAt`). Never throws: a store error degrades. */
  private async read(names: string[], startedAt: number): Promise<void> {
    try {
      const loaded = await this.deps.store.load(names);
      for (const record of loaded.values()) this.remember(record, startedAt, { onlyIfNewer: true });
      // A backlog kept through a store outage drains one batch per read: requests sharing this read wait for one
      // batch write at most, not for the whole backlog.
      await this.flushPendingEvents(FLUSH_PER_READ);
    } catch (error) {
      this.degrade(error, 'read');
    }
  }

  private remember(record: BreakerRecord, now: number, options: { onlyIfNewer?: boolean } = {}): void {
    const known = this.cache.get(record.instance);
    // A read that started before this container's own write must not replace it with an older version.
    if (options.onlyIfNewer && known && !known.localOnly && known.record.version > record.version) {
      known.fetchedAt = now;
      return;
    }
    this.cache.set(record.instance, { record, fetchedAt: now });
  }

  private isDegraded(now: number): boolean {
    return now < this.degradedUntil;
  }

  private degrade(error: unknown, operation: 'read' | 'write'): void {
    const now = this.deps.clock();
    const wasDegraded = this.isDegraded(now);
    this.degradedUntil = now + (this.deps.degradedMs ?? 2000);
    this.deps.metrics?.record('BreakerStoreErrors', 1, {});
    if (!wasDegraded) {
      this.deps.log.warn("Breaker state store unavailable; using this container's in-memory breaker state", {
        operation,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    }
  }

  private logTransitions(change: BreakerChange): void {
    const { record } = change;
    const { log, options } = this.deps;
    for (const t of change.transitions) {
      if (t === 'circuit_open' && record.circuit.state === 'open') {
        const retryIn = Math.max(0, (record.circuit.retryAt - record.updatedAt) / 1000).toFixed(1);
        const why =
          record.reopenCount > 0 ? 'a failed recovery probe' : `${record.recentFailures.length} consecutive failures`;
        log.warn(`Circuit opened due to ${why} - instance: ${record.instance} (retry in ${retryIn}s)`, {
          instance: record.instance,
        });
      } else if (t === 'circuit_half_open') {
        log.info(`Circuit half-open (testing recovery) - instance: ${record.instance}`, { instance: record.instance });
      } else if (t === 'circuit_closed') {
        log.info(
          `Circuit closed after ${options.successThreshold} consecutive successes - instance: ${record.instance}`,
          { instance: record.instance },
        );
      }
    }
  }

  private transitionEvent(
    record: BreakerRecord,
    type: TransitionKind,
    now: number,
    requestId: string,
    local: boolean,
  ): FailoverEvent {
    // The id is derived from the version the transition wrote: a retried write can never produce a second event.
    // A transition made on in-memory state while the store was down gets an id of its own (its version is not shared).
    const id = local
      ? `${record.instance}:local-${randomUUID()}:${type}`
      : `${record.instance}:v${record.version}:${type}`;
    return { ...this.event(record, now, type, requestId), id };
  }

  private event(
    record: BreakerRecord,
    now: number,
    type: FailoverEventType,
    requestId: string,
    extra: Partial<FailoverEvent> = {},
  ): FailoverEvent {
    const retryAt = record.circuit.state === 'open' ? record.circuit.retryAt : record.cooldownUntil;
    return {
      id: randomUUID(),
      timestamp: now,
      provider: this.deps.providerOf(record.instance),
      instance: record.instance,
      type,
      failureClass: record.lastFailureClass,
      httpStatus: null,
      message: null,
      consecutiveFailures: record.consecutiveFailures,
      nextRetrySeconds: retryAt && retryAt > now ? Math.ceil((retryAt - now) / 1000) : null,
      requestId,
      ...extra,
    };
  }
}
