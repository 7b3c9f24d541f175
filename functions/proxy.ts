import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { loadConfigFile } from '../shared/config/load-config';
import { secretIdOf } from '../shared/config/resolve-secrets';
import { gatewayRequestFromEvent } from '../shared/gateway/api-gateway-event';
import { createProxyDeps } from '../shared/gateway/proxy-deps';
import { handleProxyRequest, type ProxyDeps } from '../shared/gateway/proxy-service';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../shared/observability/metrics-sink';
import { powertoolsLog } from '../shared/observability/powertools-log';
import { powertoolsMetrics } from '../shared/observability/powertools-metrics';
import { DynamoBreakerStore } from '../shared/store/dynamo-breaker-store';
import { createDynamoClient } from '../shared/store/dynamo-client';
import { DynamoSessionStore } from '../shared/store/dynamo-session-store';
import { tableNamesFromEnv } from '../shared/store/table-definitions';

/** How long a provider key read from Secrets Manager is reused by a container (seconds). */
const SECRET_CACHE_SECONDS = 300;

/**
 * Builds the proxy Lambda: a response-streaming handler (API Gateway REST `STREAM` mode) that turns the proxy event
 * into a gateway request and streams the answer back. `getDeps` is called once per container; metrics are flushed
 * once the streamed response has ended, never mid-stream.
 */
export function createProxyHandler(getDeps: () => ProxyDeps | Promise<ProxyDeps>) {
  let deps: Promise<ProxyDeps> | undefined;
  return middy<APIGatewayProxyEvent, unknown, Error, Context>({
    streamifyResponse: true,
    timeoutEarlyInMillis: 0,
    requestEnd: async () => {
      (await deps)?.metrics.flush();
    },
  }).handler(async (event: APIGatewayProxyEvent, context: Context) => {
    // A failed start-up is retried by the next request rather than kept for the container's life.
    deps ??= Promise.resolve(getDeps()).catch((error: unknown) => {
      deps = undefined;
      throw error;
    });
    const response = await handleProxyRequest(gatewayRequestFromEvent(event, context), await deps);
    return { statusCode: response.statusCode, headers: response.headers, body: response.body };
  });
}

/** Dependencies from the Lambda environment: bundled config, provider keys from Secrets Manager, the stack's tables. */
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
    metrics: powertoolsMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE })),
    // Read per attempt through Powertools' cache: one empty or unreadable secret fails over that instance only,
    // and a rotated key is picked up within the cache time.
    providerKey: async (instance) => {
      const id = secretIdOf(instance.apiKey);
      if (id === null) return instance.apiKey;
      const value = await getSecret<string>(id, { maxAge: SECRET_CACHE_SECONDS });
      if (typeof value !== 'string' || value.trim() === '') {
        throw new Error(`Secret ${id} has no value yet: put the provider key into it (README, Deploying)`);
      }
      return value.trim();
    },
  });
}

/** The Lambda entry point. */
export const handler = createProxyHandler(depsFromEnvironment);
