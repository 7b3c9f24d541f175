import { z } from 'zod';
import type { FailoverEvent } from './failover-event';

const eventSchema = z.object({
  id: z.string().min(1),
  timestamp: z.number().finite(),
  provider: z.string().min(1),
  instance: z.string().min(1),
  type: z.enum([
    'failure',
    'rate_limited',
    'circuit_open',
    'circuit_half_open',
    'circuit_closed',
    'failover',
    'no_healthy_instance',
  ]),
  failureClass: z
    .enum(['auth', 'rate_limited', 'transient', 'instance_failure', 'stream_failure'])
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  httpStatus: z
    .number()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  message: z
    .string()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  consecutiveFailures: z
    .number()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  nextRetrySeconds: z
    .number()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  requestId: z
    .string()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  toInstance: z.string().nullable().optional(),
});

/** A malformed event record: it can never be counted, whatever the retries. */
export class MalformedEventError extends Error {
  override readonly name = 'MalformedEventError';
}

/** Reads a failover event from an events-table item (already unmarshalled); throws MalformedEventError if it is not one. */
export function eventFromItem(item: unknown): FailoverEvent {
  const parsed = eventSchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MalformedEventError(`Not a failover event: ${issue?.path.join('.') || '<root>'}: ${issue?.message}`);
  }
  return parsed.data;
}
