import type { ProviderInstance } from '../config/load-config';
import { admission } from '../resilience/admission';
import type { BreakerRecord, CircuitState } from '../resilience/breaker-record';
import { freshRecord } from '../resilience/breaker-record';
import type { FailureClass } from '../resilience/outcome';
import type { Counts } from './rollup-counters';

/** How a person should read an instance's health. */
export type HealthStatus = 'healthy' | 'recovering' | 'down';

/** Counts shown per instance and window. */
export interface WindowStats {
  failures: number;
  failuresByClass: Record<string, number>;
  rateLimited: number;
  failovers: number;
  circuitOpens: number;
  /** Seconds the circuit was not closed. */
  secondsOpen: number;
}

/** One instance in `GET /stats` (SPEC §5). */
export interface InstanceHealth {
  name: string;
  provider: string;
  state: CircuitState;
  status: HealthStatus;
  /** Why, in words: "testing recovery", "rate limited", … */
  detail: string;
  consecutiveFailures: number;
  /** When it may be tried again (ISO time), or null when it admits traffic. */
  retryAt: string | null;
  lastFailureClass: FailureClass | null;
  lastFailureAt: string | null;
  counts: { lastHour: WindowStats; last24h: WindowStats };
}

/** The whole `GET /stats` answer. */
export interface HealthSummary {
  generatedAt: string;
  instances: InstanceHealth[];
  overall: { total: number; healthy: number; recovering: number; down: number };
}

/** Per-instance input to the summary. */
export interface InstanceInput {
  instance: ProviderInstance;
  record: BreakerRecord | undefined;
  lastHour: Counts;
  last24h: Counts;
  openMs: { lastHour: number; last24h: number };
}

function windowStats(counts: Counts, openMs: number): WindowStats {
  const failuresByClass: Record<string, number> = {};
  for (const [name, value] of Object.entries(counts)) {
    if (name.startsWith('failures_')) failuresByClass[name.slice('failures_'.length)] = value;
  }
  return {
    failures: counts.failures ?? 0,
    failuresByClass,
    rateLimited: counts.rateLimited ?? 0,
    failovers: counts.failovers ?? 0,
    circuitOpens: counts.circuitOpens ?? 0,
    secondsOpen: Math.round(openMs / 1000),
  };
}

/** Status, detail and next retry of one record at `now`. */
export function healthOf(
  record: BreakerRecord,
  now: number,
): { status: HealthStatus; detail: string; retryAt: number | null } {
  const a = admission(record, now);
  const retryAt = a.kind === 'blocked' ? a.until : null;
  switch (record.circuit.state) {
    case 'open':
      return a.kind === 'blocked' && a.reason === 'open'
        ? { status: 'down', detail: 'circuit open', retryAt }
        : { status: 'recovering', detail: 'testing recovery', retryAt };
    case 'half_open':
      return { status: 'recovering', detail: 'testing recovery', retryAt };
    case 'closed':
      return a.kind === 'blocked'
        ? { status: 'recovering', detail: 'rate limited', retryAt }
        : { status: 'healthy', detail: 'serving', retryAt: null };
  }
}

/** Builds the health summary from breaker records and rollups (pure). */
export function buildHealthSummary(inputs: InstanceInput[], now: number): HealthSummary {
  const instances = inputs.map(({ instance, record: stored, lastHour, last24h, openMs }): InstanceHealth => {
    const record = stored ?? freshRecord(instance.name);
    const health = healthOf(record, now);
    return {
      name: instance.name,
      provider: instance.provider,
      state: record.circuit.state,
      status: health.status,
      detail: health.detail,
      consecutiveFailures: record.consecutiveFailures,
      retryAt: health.retryAt === null ? null : new Date(health.retryAt).toISOString(),
      lastFailureClass: record.lastFailureClass,
      lastFailureAt: record.lastFailureAt === null ? null : new Date(record.lastFailureAt).toISOString(),
      counts: { lastHour: windowStats(lastHour, openMs.lastHour), last24h: windowStats(last24h, openMs.last24h) },
    };
  });
  const count = (s: HealthStatus) => instances.filter((i) => i.status === s).length;
  return {
    generatedAt: new Date(now).toISOString(),
    instances,
    overall: {
      total: instances.length,
      healthy: count('healthy'),
      recovering: count('recovering'),
      down: count('down'),
    },
  };
}

/** "45s", "8m", "2h": a wait in the unit a person reads at a glance. */
export function formatWait(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

const LABELS: Record<HealthStatus, string> = {
  healthy: '✅ Healthy   ',
  recovering: '🟡 Recovering',
  down: '🔴 Unhealthy ',
};

/** The text health table of SPEC §5. */
export function renderHealthTable(summary: HealthSummary, now: number): string {
  const lines = ['Provider Health Status:'];
  for (const i of summary.instances) {
    const failures = `${i.consecutiveFailures} failure${i.consecutiveFailures === 1 ? '' : 's'}`;
    const retry = i.retryAt ? `retry in ${formatWait(Date.parse(i.retryAt) - now)}` : null;
    const detail =
      i.status === 'healthy'
        ? failures
        : i.status === 'down'
          ? [failures, retry].filter(Boolean).join(', ')
          : [i.detail, retry].filter(Boolean).join(', ');
    lines.push(`  ${i.name.padEnd(30)} ${LABELS[i.status]}   (${detail})`);
  }
  const o = summary.overall;
  lines.push('', `Overall: ${o.healthy}/${o.total} healthy, ${o.recovering} recovering, ${o.down} down`);
  return `${lines.join('\n')}\n`;
}

/** `GET /health`: healthy when every provider with instances has one that admits traffic now. */
export function providerHealth(
  inputs: { instance: ProviderInstance; record: BreakerRecord | undefined }[],
  now: number,
): { healthy: boolean; providers: Record<string, { instances: number; admitting: number }> } {
  const providers: Record<string, { instances: number; admitting: number }> = {};
  for (const { instance, record } of inputs) {
    if (!instance.enabled) continue;
    providers[instance.provider] ??= { instances: 0, admitting: 0 };
    const entry = providers[instance.provider];
    entry.instances++;
    if (admission(record ?? freshRecord(instance.name), now).kind !== 'blocked') entry.admitting++;
  }
  return { healthy: Object.values(providers).every((p) => p.admitting > 0), providers };
}
