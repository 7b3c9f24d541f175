import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { loadConfigFile } from '../shared/config/load-config';
import { gatewayRequestFromEvent } from '../shared/gateway/api-gateway-event';
import { createProxyDeps } from '../shared/gateway/proxy-deps';
import { handleProxyRequest, type ProxyDeps } from '../shared/gateway/proxy-service';
import { powertoolsLog } from '../shared/observability/powertools-log';
import { DynamoBreakerStore } from '../shared/store/dynamo-breaker-store';
import { createDynamoClient } from '../shared/store/dynamo-client';
import { DynamoSessionStore } from '../shared/store/dynamo-session-store';
import { tableNamesFromEnv } from '../shared/store/table-definitions';

/**
 * Builds the proxy Lambda: a response-streaming handler (API Gateway REST `STREAM` mode) that turns the proxy event
 * into a gateway request and streams the answer back. `getDeps` is called once per container.
 */
export function createProxyHandler(getDeps: () => ProxyDeps | Promise<ProxyDeps>) {
  let deps: Promise<ProxyDeps> | undefined;
  return middy<APIGatewayProxyEvent, unknown, Error, Context>({
    streamifyResponse: true,
    timeoutEarlyInMillis: 0,
  }).handler(async (event: APIGatewayProxyEvent, context: Context) => {
    deps ??= Promise.resolve(getDeps());
    const response = await handleProxyRequest(gatewayRequestFromEvent(event, context), await deps);
    return { statusCode: response.statusCode, headers: response.headers, body: response.body };
  });
}

/** Dependencies from the Lambda environment: bundled config, DynamoDB tables named by the stack. */
function depsFromEnvironment(): ProxyDeps {
  const config = loadConfigFile(process.env.GATEWAY_CONFIG ?? 'gateway.yaml');
  const client = createDynamoClient({ timeoutMs: config.store.timeoutSeconds * 1000 });
  const log = powertoolsLog(new Logger({ serviceName: 'llm-gateway-proxy' }));
  const tables = tableNamesFromEnv(process.env);
  return createProxyDeps({
    config,
    store: new DynamoBreakerStore(client, tables),
    sessions: new DynamoSessionStore(client, tables),
    log,
  });
}

/** The Lambda entry point. */
export const handler = createProxyHandler(depsFromEnvironment);
