import type { BreakerOptions } from './breaker-options';

/** A random source in [0, 1), injectable so tests control it. */
export type Random = () => number;

/**
 * How long (ms) a circuit stays open after its `reopenCount`-th consecutive opening (0 for the first):
 * initial × multiplier^reopenCount, capped at the maximum, then ± jitterRatio.
 */
export function backoffDelayMs(
  reopenCount: number,
  options: Pick<BreakerOptions, 'initialBackoffSeconds' | 'maxBackoffSeconds' | 'backoffMultiplier' | 'jitterRatio'>,
  random: Random = Math.random,
): number {
  const uncapped = options.initialBackoffSeconds * options.backoffMultiplier ** Math.max(0, reopenCount);
  const base = Math.min(uncapped, options.maxBackoffSeconds) * 1000;
  const jitter = options.jitterRatio * (2 * random() - 1);
  return Math.max(0, Math.round(base * (1 + jitter)));
}
