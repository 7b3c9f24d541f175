/** Breaker tuning, in the config's units (seconds, decimals allowed). Matches `breaker:` in gateway.yaml. */
export interface BreakerOptions {
  /** Failures within the window that open the circuit. */
  failureThreshold: number;
  /** Window (seconds) in which failures are counted. */
  failureWindowSeconds: number;
  /** Consecutive half-open successes that close the circuit. */
  successThreshold: number;
  /** First open period (seconds). */
  initialBackoffSeconds: number;
  /** Longest open period (seconds). */
  maxBackoffSeconds: number;
  backoffMultiplier: number;
  /** ± fraction applied to every backoff (0.2 = ±20 %). */
  jitterRatio: number;
  /** Longest time (seconds) one half-open probe may hold the lease. */
  probeLeaseSeconds: number;
}

/** The defaults of SPEC §3. */
export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  failureThreshold: 3,
  failureWindowSeconds: 60,
  successThreshold: 2,
  initialBackoffSeconds: 60,
  maxBackoffSeconds: 600,
  backoffMultiplier: 2,
  jitterRatio: 0.2,
  probeLeaseSeconds: 30,
};
