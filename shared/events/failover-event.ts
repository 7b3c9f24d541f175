import type { FailureClass } from '../resilience/outcome';

/** Kinds of failover event (SPEC §4.4). */
export type FailoverEventType =
  | 'failure'
  | 'rate_limited'
  | 'circuit_open'
  | 'circuit_half_open'
  | 'circuit_closed'
  | 'failover'
  | 'no_healthy_instance';

/** One failover event; written to the events table, streamed to the aggregator. */
export interface FailoverEvent {
  /** Unique id; transition events derive it from the record version so a retried write cannot duplicate them. */
  id: string;
  /** Epoch ms. */
  timestamp: number;
  provider: string;
  /** The instance concerned ('*' for provider-wide events such as no_healthy_instance). */
  instance: string;
  type: FailoverEventType;
  failureClass: FailureClass | null;
  httpStatus: number | null;
  /** Short, secret-free description. */
  message: string | null;
  consecutiveFailures: number | null;
  /** Seconds until the instance may be tried again, when known. */
  nextRetrySeconds: number | null;
  requestId: string | null;
  /** For `failover`: the instance the request moved to. */
  toInstance?: string | null;
}

const SECRET_PATTERNS: RegExp[] = [
  /\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, // OpenAI / Anthropic style keys
  /\bAIza[0-9A-Za-z_-]{20,}/g, // Google API keys
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /([?&](key|api_key|apikey|token)=)[^&\s"]+/gi,
];

/** Truncates a message to `max` characters and scrubs anything that looks like a credential. */
export function scrubMessage(message: string, max = 300): string {
  let out = message;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match: string, prefix: string) =>
      /^[?&]/.test(match) ? `${prefix}[redacted]` : '[redacted]',
    );
  }
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}
