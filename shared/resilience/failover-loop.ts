import { randomUUID } from 'node:crypto';
import type { FailoverEvent } from '../events/failover-event';
import { scrubMessage } from '../events/failover-event';
import type { Log } from '../observability/log';
import { admission } from './admission';
import type { Random } from './backoff';
import { freshRecord } from './breaker-record';
import type { CircuitBreaker } from './circuit-breaker';
import { classifyOutcome } from './classify';
import type { Clock } from './clock';
import { type FailureClass, isFailureClass, type OutcomeClass, type UpstreamObservation } from './outcome';
import { type Selectable, selectInstance } from './select-instance';

/** Extra time a probe lease lasts beyond the probe's first-byte timeout (ms). */
const PROBE_LEASE_MARGIN_MS = 5000;
/** How long a 429 without any Retry-After cools the instance (ms). */
const DEFAULT_RATE_LIMIT_COOLDOWN_MS = 1000;

/** An instance as the failover loop sees it. */
export interface FailoverInstance extends Selectable {
  provider: string;
  /** Longest wait (seconds) for the first byte of one attempt. */
  firstByteTimeoutSeconds: number;
}

/** Bounds for one attempt. */
export interface AttemptLimits {
  /** Abort the attempt if no response head arrives within this (ms). */
  firstByteTimeoutMs: number;
  /** The request's overall deadline (epoch ms). */
  deadline: number;
}

/** What one upstream attempt produced: something to classify, and the response to return if it is one. */
export interface AttemptResult<R> {
  observation: UpstreamObservation;
  /** The upstream response (present for any HTTP status); returned to the client on success or business error. */
  response: R | null;
  /** Short secret-free description for logs and events. */
  message: string;
}

/** Sends the request to one instance. Must not throw: failures are values. */
export type Attempt<I, R> = (instance: I, limits: AttemptLimits) => Promise<AttemptResult<R>>;

/** One failed attempt, for the final answer and the logs. */
export interface AttemptFailure {
  instance: string;
  class: FailureClass;
  status: number | null;
  message: string;
}

/** The failover loop's answer. */
export type FailoverResult<R> =
  | {
      kind: 'answered';
      instance: string;
      attempts: number;
      outcome: OutcomeClass;
      response: R;
      failures: AttemptFailure[];
    }
  | {
      kind: 'exhausted';
      /** 429 when every instance is rate limited, else 503. */
      status: 429 | 503;
      /** Seconds until the earliest instance may be tried again (>= 1). */
      retryAfterSeconds: number;
      attempts: number;
      failures: AttemptFailure[];
    };

/** One client request to fail over. */
export interface FailoverRequest<I extends FailoverInstance, R> {
  requestId: string;
  provider: string;
  instances: I[];
  /** Upstream attempts per request, across instances. */
  maxAttempts: number;
  /** Longest Retry-After wait (ms) honoured before retrying a rate-limited instance. */
  rateLimitMaxDelayMs: number;
  /** One deadline for all attempts (epoch ms). */
  deadline: number;
  /** Longest a half-open probe lease is held (ms). */
  probeLeaseMs: number;
  attempt: Attempt<I, R>;
  /** A sticky session's instance: chosen when it admits traffic and stands in the best priority tier available. */
  preferred?: string | null;
  /** Aborts waits when the client goes away or the Lambda deadline nears. */
  signal?: AbortSignal;
}

/** What the loop runs against. */
export interface FailoverDeps {
  breaker: CircuitBreaker;
  clock: Clock;
  random: Random;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  log: Log;
}

/**
 * Serves one request from the provider's instances (SPEC §4.3): priority then weighted random among instances whose
 * circuit admits traffic, every retry on an untried instance, one probe per half-open instance, a 429 cooling the
 * instance and failing over at once, or waiting for it when nothing else is eligible.
 */
export async function runFailover<I extends FailoverInstance, R>(
  request: FailoverRequest<I, R>,
  deps: FailoverDeps,
): Promise<FailoverResult<R>> {
  const { breaker, clock, log } = deps;
  const names = request.instances.map((i) => i.name);
  const tried = new Set<string>();
  const failures: AttemptFailure[] = [];
  let attempts = 0;
  let waits = 0;
  let settles = 0;
  let previous: string | null = null;
  // This request's failure records: written while the next attempt is in flight, all done before it answers.
  const recording: Promise<unknown>[] = [];
  // Bounded by the request's deadline and signal: a slow store never holds an answer past them (the writes go on).
  const recorded = () => waitWithin(Promise.all(recording.splice(0)), request.deadline, clock, request.signal);

  while (attempts < request.maxAttempts && clock() < request.deadline && !request.signal?.aborted) {
    const view = await breaker.view(names);
    const now = clock();
    const admissions = request.instances.map((instance) => ({
      instance,
      admission: admission(view.get(instance.name) ?? freshRecord(instance.name), now),
    }));
    const eligible = admissions.filter((a) => a.admission.kind !== 'blocked' && !tried.has(a.instance.name));
    // An instance another request here has just seen fail is held back while others can serve; when only such
    // instances are left, the request waits for failures still being written and decides on the records they leave.
    const candidates = eligible.filter((c) => !breaker.heldBack(c.instance.name));
    if (candidates.length === 0 && eligible.length > 0) {
      const names = eligible.map((c) => c.instance.name);
      if (settles++ < request.maxAttempts && names.some((name) => breaker.writingFailure(name))) {
        await waitWithin(breaker.settle(names), request.deadline, clock, request.signal);
        continue;
      }
      candidates.push(...eligible);
    }
    const pinned = candidates.find((c) => c.instance.name === request.preferred && c.admission.kind === 'pass');
    const bestPriority = Math.min(...candidates.map((c) => c.instance.priority));
    const pick =
      pinned && pinned.instance.priority === bestPriority
        ? pinned.instance
        : selectInstance(
            candidates.map((c) => c.instance),
            deps.random,
          );
    if (!pick && recording.length > 0) {
      // Decide on this request's own failures as recorded (a 429's cool-down, an opened circuit), not on the view
      // from before them.
      await recorded();
      continue;
    }
    if (!pick) {
      // Nothing untried is eligible. Wait for a rate-limited instance if its cool-down ends soon enough.
      const waitable = admissions
        .filter((a) => a.admission.kind === 'blocked' && view.get(a.instance.name)?.lastFailureClass === 'rate_limited')
        .map((a) => ({ name: a.instance.name, until: a.admission.kind === 'blocked' ? a.admission.until : now }))
        .sort((a, b) => a.until - b.until)[0];
      const waitMs = waitable ? waitable.until - now : Number.POSITIVE_INFINITY;
      if (
        waitable &&
        waits < request.maxAttempts &&
        waitMs <= request.rateLimitMaxDelayMs &&
        waitable.until < request.deadline
      ) {
        waits++;
        log.info(`Rate limit hit, delaying ${(waitMs / 1000).toFixed(1)}s before retry`, {
          instance: waitable.name,
          requestId: request.requestId,
        });
        try {
          await deps.sleep(Math.max(0, waitMs), request.signal);
        } catch {
          break;
        }
        tried.delete(waitable.name);
        continue;
      }
      break;
    }
    const admitted = candidates.find((c) => c.instance.name === pick.name)?.admission;
    let probing = admitted?.kind === 'probe';
    if (probing) {
      // The lease must outlive the probe's verdict, which comes at the latest at its first-byte timeout.
      const leaseMs = Math.max(request.probeLeaseMs, pick.firstByteTimeoutSeconds * 1000 + PROBE_LEASE_MARGIN_MS);
      const lease = await breaker.acquireProbe(pick.name, request.requestId, Math.min(request.deadline, now + leaseMs));
      if (lease === 'denied') {
        tried.add(pick.name); // another request is probing it; not an attempt
        continue;
      }
      probing = lease === 'leased';
    }

    attempts++;
    // The failover event is written while the retry is in flight, not before it.
    const moved =
      previous !== null && previous !== pick.name
        ? breaker.recordEvent(movedEvent(request, previous, pick, clock()))
        : null;
    const firstByteTimeoutMs = Math.max(1, Math.min(pick.firstByteTimeoutSeconds * 1000, request.deadline - clock()));
    const result = await request.attempt(pick, { firstByteTimeoutMs, deadline: request.deadline });
    await moved;
    const verdict = classifyOutcome(result.observation, clock());

    if (verdict.class === 'success') {
      await breaker.recordSuccess(pick.name, request.requestId);
    } else if (verdict.class === 'business_error' && probing) {
      await breaker.releaseProbe(pick.name, request.requestId);
    }
    if (!isFailureClass(verdict.class)) {
      await recorded();
      return {
        kind: 'answered',
        instance: pick.name,
        attempts,
        outcome: verdict.class,
        response: result.response as R,
        failures,
      };
    }

    const message = scrubMessage(result.message);
    failures.push({ instance: pick.name, class: verdict.class, status: result.observation.status ?? null, message });
    recording.push(
      breaker.recordFailure(pick.name, {
        class: verdict.class,
        // A 429 that names no wait still cools the instance briefly rather than being retried at once.
        retryAfterMs:
          verdict.retryAfterMs ?? (verdict.class === 'rate_limited' ? DEFAULT_RATE_LIMIT_COOLDOWN_MS : null),
        status: result.observation.status ?? null,
        message,
        requestId: request.requestId,
      }),
    );
    tried.add(pick.name);
    previous = pick.name;
  }

  await recorded();
  return exhausted(request, deps, attempts, failures);
}

/** Waits for `work` to settle, but not past `deadline` (epoch ms on `clock`) nor once `signal` aborts. */
async function waitWithin(work: Promise<unknown>, deadline: number, clock: Clock, signal?: AbortSignal): Promise<void> {
  const left = deadline - clock();
  if (left <= 0 || signal?.aborted) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stop: (() => void) | undefined;
  const bound = new Promise<void>((resolve) => {
    stop = () => resolve();
    timer = setTimeout(stop, left);
    signal?.addEventListener('abort', stop, { once: true });
  });
  await Promise.race([work.then(noop, noop), bound]);
  clearTimeout(timer);
  if (stop) signal?.removeEventListener('abort', stop);
}

function noop(): void {}

async function exhausted<I extends FailoverInstance, R>(
  request: FailoverRequest<I, R>,
  deps: FailoverDeps,
  attempts: number,
  failures: AttemptFailure[],
): Promise<FailoverResult<R>> {
  const view = await deps.breaker.view(request.instances.map((i) => i.name));
  const now = deps.clock();
  let earliest = Number.POSITIVE_INFINITY;
  let allRateLimited = true;
  for (const instance of request.instances) {
    const record = view.get(instance.name);
    const a = record ? admission(record, now) : { kind: 'pass' as const };
    earliest = Math.min(earliest, a.kind === 'blocked' ? a.until : now);
    const ownFailures = failures.filter((f) => f.instance === instance.name);
    const limitedHere = ownFailures.length > 0 && ownFailures.every((f) => f.class === 'rate_limited');
    const limitedElsewhere =
      ownFailures.length === 0 && a.kind === 'blocked' && record?.lastFailureClass === 'rate_limited';
    if (!limitedHere && !limitedElsewhere) allRateLimited = false;
  }
  const retryAfterSeconds = Math.max(1, Math.ceil((earliest - now) / 1000));
  const status = allRateLimited ? 429 : 503;
  deps.log.warn(`No healthy instance for provider ${request.provider} after ${attempts} attempt(s)`, {
    provider: request.provider,
    requestId: request.requestId,
    retryAfterSeconds,
  });
  await deps.breaker.recordEvent({
    id: randomUUID(),
    timestamp: now,
    provider: request.provider,
    instance: '*',
    type: 'no_healthy_instance',
    failureClass: failures.at(-1)?.class ?? null,
    httpStatus: status,
    message: scrubMessage(
      failures.length > 0
        ? failures.map((f) => `${f.instance}: ${f.message}`).join('; ')
        : 'every instance is open or cooling down',
    ),
    consecutiveFailures: null,
    nextRetrySeconds: retryAfterSeconds,
    requestId: request.requestId,
  });
  return { kind: 'exhausted', status, retryAfterSeconds, attempts, failures };
}

function movedEvent<I extends FailoverInstance, R>(
  request: FailoverRequest<I, R>,
  from: string,
  to: I,
  now: number,
): FailoverEvent {
  return {
    id: randomUUID(),
    timestamp: now,
    provider: request.provider,
    instance: from,
    type: 'failover',
    failureClass: null,
    httpStatus: null,
    message: `request moved from ${from} to ${to.name}`,
    consecutiveFailures: null,
    nextRetrySeconds: null,
    requestId: request.requestId,
    toInstance: to.name,
  };
}
