import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Session, SessionStore } from './session-store';
import type { TableNames } from './table-definitions';

/** Sticky sessions in the state table: `pk = session#<digest>`, the TTL attribute set to the idle expiry. */
export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: TableNames,
  ) {}

  async get(key: string): Promise<Session | null> {
    const out = await this.client.send(new GetCommand({ TableName: this.tables.state, Key: { pk: `session#${key}` } }));
    const item = out.Item;
    if (!item || typeof item.instance !== 'string') return null;
    return { instance: item.instance, updatedAt: Number(item.updatedAt), expiresAt: Number(item.expiresAtMs) };
  }

  async put(key: string, session: Session): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tables.state,
        Item: {
          pk: `session#${key}`,
          instance: session.instance,
          updatedAt: session.updatedAt,
          expiresAtMs: session.expiresAt,
          expiresAt: Math.ceil(session.expiresAt / 1000),
        },
      }),
    );
  }
}
