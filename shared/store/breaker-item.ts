import type { BreakerRecord, Circuit } from '../resilience/breaker-record';
import type { FailureClass } from '../resilience/outcome';

const DAY_SECONDS = 86_400;
/** Stale breaker items are cleaned up this long after their last write (cleanup only). */
const BREAKER_ITEM_TTL_SECONDS = 30 * DAY_SECONDS;

/** The partition key of an instance's breaker item. */
export function breakerKey(instance: string): string {
  return `breaker#${instance}`;
}

/** The flat DynamoDB item form of a breaker record. */
export interface BreakerItem {
  pk: string;
  instance: string;
  version: number;
  state: Circuit['state'];
  openedAt?: number;
  retryAt?: number;
  successes?: number;
  probeHolder?: string;
  probeExpiresAt?: number;
  recentFailures: number[];
  consecutiveFailures: number;
  reopenCount: number;
  cooldownUntil?: number;
  lastFailureClass?: FailureClass;
  lastFailureAt?: number;
  updatedAt: number;
  expiresAt: number;
}

/** Record → item. */
export function toBreakerItem(record: BreakerRecord): BreakerItem {
  const c = record.circuit;
  const latest = Math.max(record.updatedAt, c.state === 'open' ? c.retryAt : 0, record.cooldownUntil ?? 0);
  return {
    pk: breakerKey(record.instance),
    instance: record.instance,
    version: record.version,
    state: c.state,
    openedAt: c.state === 'open' ? c.openedAt : undefined,
    retryAt: c.state === 'open' ? c.retryAt : undefined,
    successes: c.state === 'half_open' ? c.successes : undefined,
    probeHolder: c.state === 'half_open' ? c.probe?.holder : undefined,
    probeExpiresAt: c.state === 'half_open' ? c.probe?.expiresAt : undefined,
    recentFailures: record.recentFailures,
    consecutiveFailures: record.consecutiveFailures,
    reopenCount: record.reopenCount,
    cooldownUntil: record.cooldownUntil ?? undefined,
    lastFailureClass: record.lastFailureClass ?? undefined,
    lastFailureAt: record.lastFailureAt ?? undefined,
    updatedAt: record.updatedAt,
    expiresAt: Math.ceil(latest / 1000) + BREAKER_ITEM_TTL_SECONDS,
  };
}

function circuitOf(item: BreakerItem): Circuit {
  switch (item.state) {
    case 'open':
      return { state: 'open', openedAt: item.openedAt ?? 0, retryAt: item.retryAt ?? 0 };
    case 'half_open':
      return {
        state: 'half_open',
        successes: item.successes ?? 0,
        probe:
          item.probeHolder !== undefined && item.probeExpiresAt !== undefined
            ? { holder: item.probeHolder, expiresAt: item.probeExpiresAt }
            : null,
      };
    default:
      return { state: 'closed' };
  }
}

/** Item → record. */
export function fromBreakerItem(item: BreakerItem): BreakerRecord {
  return {
    instance: item.instance,
    version: item.version,
    circuit: circuitOf(item),
    recentFailures: item.recentFailures ?? [],
    consecutiveFailures: item.consecutiveFailures ?? 0,
    reopenCount: item.reopenCount ?? 0,
    cooldownUntil: item.cooldownUntil ?? null,
    lastFailureClass: item.lastFailureClass ?? null,
    lastFailureAt: item.lastFailureAt ?? null,
    updatedAt: item.updatedAt ?? 0,
  };
}
