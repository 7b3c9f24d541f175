import { createHash } from 'node:crypto';
import type { Log } from '../observability/log';
import type { Clock } from '../resilience/clock';
import type { Session, SessionStore } from '../store/session-store';

/** A pin is re-written at most this often while it stays on the same instance (ms): idle TTL without a write per request. */
const REFRESH_INTERVAL_MS = 5 * 60_000;

/**
 * The conversation id a request carries, if any: the `x-session-id` header, else Claude Code's session id inside an
 * Anthropic `metadata.user_id` (`user_<hash>_account_<uuid>_session_<uuid>`), else the whole `user_id`.
 */
export function sessionIdOf(headers: Record<string, string>, body: Record<string, unknown>): string | null {
  const header = headers['x-session-id']?.trim();
  if (header) return header.slice(0, 256);
  const metadata = body.metadata;
  const userId =
    typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>).user_id : undefined;
  if (typeof userId !== 'string' || userId.length === 0) return null;
  return /_session_([0-9a-fA-F-]{8,})/.exec(userId)?.[1] ?? userId.slice(0, 256);
}

/** The stored key of a session: a digest of the gateway key's name and the session id (neither stored in clear). */
export function sessionKey(gatewayKeyName: string, sessionId: string): string {
  return createHash('sha256').update(`${gatewayKeyName}\n${sessionId}`).digest('hex');
}

/**
 * Sticky sessions (SPEC §4.3): a conversation stays on the instance that last answered it, for prompt-cache locality,
 * until it has been idle for the TTL. Store errors never fail a request: the pin is then simply not used.
 */
export class StickySessions {
  constructor(
    private readonly store: SessionStore,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly log: Log,
  ) {}

  /** The live pin of a session, or null. */
  async pinned(key: string): Promise<Session | null> {
    try {
      const session = await this.store.get(key);
      return session && session.expiresAt > this.clock() ? session : null;
    } catch (error) {
      this.log.warn('Session store unavailable; serving without the sticky pin', { error: String(error) });
      return null;
    }
  }

  /** Pins the session to the instance that answered; refreshes the idle expiry now and then. */
  async remember(key: string, instance: string, previous: Session | null): Promise<void> {
    const now = this.clock();
    if (previous && previous.instance === instance && now - previous.updatedAt < REFRESH_INTERVAL_MS) return;
    if (previous && previous.instance !== instance) {
      this.log.info(`Session moved from ${previous.instance} to ${instance}`, {
        from: previous.instance,
        to: instance,
      });
    }
    try {
      await this.store.put(key, { instance, updatedAt: now, expiresAt: now + this.ttlMs });
    } catch (error) {
      this.log.warn('Session store unavailable; the sticky pin was not saved', { error: String(error) });
    }
  }
}
