/**
 * The DynamoDB tables, described once: the CDK stack and the local runtime both build their tables from these,
 * so local and deployed schemas cannot drift.
 */
export interface TableDefinition {
  /** CDK construct id. */
  id: string;
  /** Table name used by the local runtime (the deployed names are CDK-generated). */
  localName: string;
  /** Environment variable that carries the table's name to the functions. */
  envVar: string;
  partitionKey: string;
  sortKey?: string;
  /** Attribute holding the expiry (epoch seconds); used for cleanup only, never for correctness. */
  ttlAttribute: string;
  /** Stream view type, when the table feeds a stream consumer. */
  stream?: 'NEW_IMAGE';
}

/** Breaker records (and later sticky sessions): one item per key, all strings. */
export const STATE_TABLE: TableDefinition = {
  id: 'StateTable',
  localName: 'llm-gateway-state',
  envVar: 'STATE_TABLE_NAME',
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
};

/** Failover events: one item per event, retained 30 days, streamed to the aggregator. */
export const EVENTS_TABLE: TableDefinition = {
  id: 'EventsTable',
  localName: 'llm-gateway-events',
  envVar: 'EVENTS_TABLE_NAME',
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  stream: 'NEW_IMAGE',
};

/** Every table the gateway uses. */
export const TABLES: TableDefinition[] = [STATE_TABLE, EVENTS_TABLE];

/** Table names in use, by role. */
export interface TableNames {
  state: string;
  events: string;
}

/** Reads the table names from the environment, falling back to the local names. */
export function tableNamesFromEnv(env: Record<string, string | undefined>): TableNames {
  return {
    state: env[STATE_TABLE.envVar] || STATE_TABLE.localName,
    events: env[EVENTS_TABLE.envVar] || EVENTS_TABLE.localName,
  };
}
