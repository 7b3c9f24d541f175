import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { compileGatewayKeys } from '../shared/auth/gateway-keys';
import { loadConfigFile } from '../shared/config/load-config';
import { gatewayRequestFromEvent } from '../shared/gateway/api-gateway-event';
import { powertoolsLog } from '../shared/observability/powertools-log';
import { systemClock } from '../shared/resilience/clock';
import { handleStatsRequest, type StatsDeps } from '../shared/stats/stats-service';
import { DynamoBreakerStore } from '../shared/store/dynamo-breaker-store';
import { createDynamoClient } from '../shared/store/dynamo-client';
import { DynamoEventReader } from '../shared/store/dynamo-event-reader';
import { DynamoRollupStore } from '../shared/store/dynamo-rollup-store';
import { tableNamesFromEnv } from '../shared/store/table-definitions';

/** Builds the stats Lambda: `/stats`, `/health`, `/metrics` behind API Gateway (buffered responses). */
export function createStatsHandler(getDeps: () => StatsDeps) {
  let deps: StatsDeps | undefined;
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>({ timeoutEarlyInMillis: 0 }).handler(
    async (event, context) => {
      deps ??= getDeps();
      const response = await handleStatsRequest(gatewayRequestFromEvent(event, context), deps);
      return { statusCode: response.statusCode, headers: response.headers, body: String(response.body) };
    },
  );
}

/** Dependencies from the Lambda environment. */
export function statsDepsFor(
  config: StatsDeps['config'],
  client: ReturnType<typeof createDynamoClient>,
  tables: ReturnType<typeof tableNamesFromEnv>,
  log: StatsDeps['log'],
): StatsDeps {
  return {
    config,
    keys: compileGatewayKeys(config.apiKeys),
    breakers: new DynamoBreakerStore(client, tables),
    rollups: new DynamoRollupStore(client, tables),
    events: new DynamoEventReader(client, tables),
    clock: systemClock,
    log,
  };
}

/** The Lambda entry point. */
export const handler = createStatsHandler(() => {
  const config = loadConfigFile(process.env.GATEWAY_CONFIG ?? 'gateway.yaml');
  return statsDepsFor(
    config,
    createDynamoClient({ timeoutMs: 2000 }),
    tableNamesFromEnv(process.env),
    powertoolsLog(new Logger({ serviceName: 'llm-gateway-stats' })),
  );
});
