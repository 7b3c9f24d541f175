import type { BreakerRecord } from './breaker-record';

/** Whether an instance may receive a request now, and if not, until when (epoch ms). */
export type Admission =
  | { kind: 'pass' }
  | { kind: 'probe' }
  | { kind: 'blocked'; reason: 'open' | 'probing' | 'cooling'; until: number };

/** Decides admission from the record alone: closed passes, a due open or free half-open needs a probe lease. */
export function admission(record: BreakerRecord, now: number): Admission {
  const cooling = record.cooldownUntil !== null && record.cooldownUntil > now;
  const circuit = record.circuit;
  switch (circuit.state) {
    case 'closed':
      return cooling ? { kind: 'blocked', reason: 'cooling', until: record.cooldownUntil as number } : { kind: 'pass' };
    case 'open':
      if (circuit.retryAt > now) return { kind: 'blocked', reason: 'open', until: circuit.retryAt };
      return cooling
        ? { kind: 'blocked', reason: 'cooling', until: record.cooldownUntil as number }
        : { kind: 'probe' };
    case 'half_open':
      if (circuit.probe && circuit.probe.expiresAt > now) {
        return { kind: 'blocked', reason: 'probing', until: circuit.probe.expiresAt };
      }
      return cooling
        ? { kind: 'blocked', reason: 'cooling', until: record.cooldownUntil as number }
        : { kind: 'probe' };
  }
}
