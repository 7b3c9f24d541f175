/** How one upstream attempt ended, as classified by SPEC §4.1. */
export type OutcomeClass =
  | 'success'
  | 'business_error'
  | 'auth'
  | 'rate_limited'
  | 'transient'
  | 'instance_failure'
  | 'stream_failure';

/** Outcome classes that count as a failure for the instance's circuit breaker. */
export type FailureClass = Exclude<OutcomeClass, 'success' | 'business_error'>;

/** A network-level failure of an attempt, before any HTTP status was received. */
export type NetworkErrorKind = 'connect' | 'reset' | 'dns' | 'tls' | 'first_byte_timeout' | 'timeout' | 'other';

/** What the classifier sees of one upstream attempt. */
export interface UpstreamObservation {
  /** HTTP status, absent when the attempt failed at the network level. */
  status?: number;
  /** Response headers with lower-case names. */
  headers?: Record<string, string>;
  /** The start of the response body (error bodies are small; a few KB is enough). */
  bodySnippet?: string;
  networkError?: NetworkErrorKind;
  /** True when the failure happened after the first byte of a stream reached the client. */
  afterFirstByte?: boolean;
}

/** The classifier's verdict. */
export interface Classification {
  class: OutcomeClass;
  /** How long the instance asks us to wait before trying it again (ms), when it says so. */
  retryAfterMs: number | null;
}

/** True when the class counts as a failure for the breaker. */
export function isFailureClass(c: OutcomeClass): c is FailureClass {
  return c !== 'success' && c !== 'business_error';
}
