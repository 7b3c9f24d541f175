import type {
  AttemptLimits,
  AttemptResult,
  FailoverInstance,
  FailoverRequest,
} from '../../shared/resilience/failover-loop';

/** Instances and upstream replies shared by the failover-loop tests (pure, on a fake clock). */

export const PRIMARY: FailoverInstance = {
  name: 'primary',
  provider: 'openai',
  priority: 1,
  weight: 100,
  firstByteTimeoutSeconds: 30,
};
export const BACKUP: FailoverInstance = { ...PRIMARY, name: 'backup', priority: 2 };
export const LAST_RESORT: FailoverInstance = { ...PRIMARY, name: 'last-resort', priority: 3 };

export type Reply = AttemptResult<unknown>;

export const OK: Reply = { observation: { status: 200, headers: {} }, response: 'ok', message: 'HTTP 200' };

export function http(status: number, headers: Record<string, string> = {}): Reply {
  return { observation: { status, headers }, response: { status }, message: `HTTP ${status}` };
}

/**
 * An upstream that answers each instance from its own script, one reply per attempt (the last reply repeats);
 * `beforeReply` runs at each attempt (to move a fake clock, say).
 */
export function scriptedUpstream(script: Record<string, Reply[]>, beforeReply: () => void = () => {}) {
  const used: Record<string, number> = {};
  return jest.fn(async (instance: FailoverInstance, _limits: AttemptLimits): Promise<Reply> => {
    beforeReply();
    const replies = script[instance.name] ?? [];
    const index = Math.min(used[instance.name] ?? 0, replies.length - 1);
    used[instance.name] = (used[instance.name] ?? 0) + 1;
    return replies[index];
  });
}

/** A request over `instances` started at `now`: 3 attempts, a 120 s deadline, 60 s longest rate-limit wait. */
export function failoverRequest(
  instances: FailoverInstance[],
  attempt: FailoverRequest<FailoverInstance, unknown>['attempt'],
  now: number,
  overrides: Partial<FailoverRequest<FailoverInstance, unknown>> = {},
): FailoverRequest<FailoverInstance, unknown> {
  return {
    requestId: 'req-1',
    provider: 'openai',
    instances,
    maxAttempts: 3,
    rateLimitMaxDelayMs: 60_000,
    deadline: now + 120_000,
    probeLeaseMs: 30_000,
    attempt,
    ...overrides,
  };
}
