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

/** Rolled-up counters per instance and time bucket, cumulative totals, and the event ids already counted. */
export const ROLLUPS_TABLE: TableDefinition = {
  id: 'RollupsTable',
  localName: 'llm-gateway-rollups',
  envVar: 'ROLLUPS_TABLE_NAME',
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
};

/** Table names in use, by role. */
export interface TableNames {
  state: string;
  events: string;
  rollups: string;
}

/** Every table the gateway uses, by role. */
export const TABLES: Record<keyof TableNames, TableDefinition> = {
  state: STATE_TABLE,
  events: EVENTS_TABLE,
  rollups: ROLLUPS_TABLE,
};

/** The local names of every table. */
export const LOCAL_TABLE_NAMES: TableNames = {
  state: STATE_TABLE.localName,
  events: EVENTS_TABLE.localName,
  rollups: ROLLUPS_TABLE.localName,
};

/** Reads the table names from the environment, falling back to the local names. */
export function tableNamesFromEnv(env: Record<string, string | undefined>): TableNames {
  return {
    state: env[STATE_TABLE.envVar] || STATE_TABLE.localName,
    events: env[EVENTS_TABLE.envVar] || EVENTS_TABLE.localName,
    rollups: env[ROLLUPS_TABLE.envVar] || ROLLUPS_TABLE.localName,
  };
}

/** The definition/name pairs for creating every table under the given names. */
export function tablesToCreate(names: TableNames): { definition: TableDefinition; name: string }[] {
  return (Object.keys(TABLES) as (keyof TableNames)[]).map((role) => ({ definition: TABLES[role], name: names[role] }));
}
