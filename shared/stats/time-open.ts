import type { FailoverEventType } from '../events/failover-event';

/** A circuit transition as the open-time computation needs it. */
export interface CircuitMark {
  type: Extract<FailoverEventType, 'circuit_open' | 'circuit_half_open' | 'circuit_closed'>;
  /** Epoch ms. */
  timestamp: number;
}

/**
 * Milliseconds the circuit was not closed (open or half-open) between `from` and `now`, from its transitions
 * (any order) and whether it is closed now.
 */
export function notClosedMillis(marks: CircuitMark[], from: number, now: number, closedNow: boolean): number {
  const sorted = [...marks].filter((m) => m.timestamp <= now).sort((a, b) => a.timestamp - b.timestamp);
  const inWindow = sorted.filter((m) => m.timestamp >= from);
  // The state at the window's start: whatever the last earlier mark left, else the opposite of the first mark inside.
  const before = sorted.filter((m) => m.timestamp < from).at(-1);
  let openSince: number | null = before
    ? before.type === 'circuit_closed'
      ? null
      : from
    : inWindow.length > 0
      ? inWindow[0].type === 'circuit_open'
        ? null
        : from
      : closedNow
        ? null
        : from;
  let total = 0;
  for (const mark of inWindow) {
    if (mark.type === 'circuit_closed') {
      if (openSince !== null) total += mark.timestamp - openSince;
      openSince = null;
    } else if (openSince === null) {
      openSince = mark.timestamp;
    }
  }
  if (openSince !== null && !closedNow) total += now - openSince;
  return total;
}
