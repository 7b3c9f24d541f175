/** A sticky session: the instance a conversation is pinned to. */
export interface Session {
  instance: string;
  /** Last time the pin was written (epoch ms). */
  updatedAt: number;
  /** The pin lapses after this (epoch ms); compared with the clock, never left to TTL deletion. */
  expiresAt: number;
}

/** Where sticky sessions live (the state table in DynamoDB). Keys are opaque digests. */
export interface SessionStore {
  get(key: string): Promise<Session | null>;
  put(key: string, session: Session): Promise<void>;
}

/** A process-local session store (tests, per-process comparisons). */
export class MemorySessionStore implements SessionStore {
  readonly sessions = new Map<string, Session>();
  async get(key: string): Promise<Session | null> {
    return this.sessions.get(key) ?? null;
  }
  async put(key: string, session: Session): Promise<void> {
    this.sessions.set(key, session);
  }
}
