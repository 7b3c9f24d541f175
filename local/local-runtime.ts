import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { GatewayConfig } from '../shared/config/schema';
import { createProxyDeps } from '../shared/gateway/proxy-deps';
import type { ProxyDeps } from '../shared/gateway/proxy-service';
import type { Log } from '../shared/observability/log';
import { type MetricsSink, noMetrics } from '../shared/observability/metrics-sink';
import type { Random } from '../shared/resilience/backoff';
import type { Clock } from '../shared/resilience/clock';
import { STATS_PATHS } from '../shared/stats/stats-service';
import type { BreakerStore, EventStore } from '../shared/store/breaker-store';
import { DynamoBreakerStore } from '../shared/store/dynamo-breaker-store';
import { createDynamoClient } from '../shared/store/dynamo-client';
import { DynamoRollupStore } from '../shared/store/dynamo-rollup-store';
import { DynamoSessionStore } from '../shared/store/dynamo-session-store';
import { MemorySessionStore, type SessionStore } from '../shared/store/session-store';
import { LOCAL_TABLE_NAMES, type TableNames, tablesToCreate } from '../shared/store/table-definitions';
import { apiGatewayEventFromHttp } from './api-gateway-event-from-http';
import { consoleLog } from './console-log';
import { ensureTables } from './ensure-tables';
import { installLambdaStreamingGlobals } from './lambda-streaming-globals';
import { LocalResponseStream } from './local-response-stream';
import { type StreamPoller, startStreamPoller } from './stream-poller';

/** API Gateway's own request size limit (bytes); larger bodies never reach the Lambda. */
const API_GATEWAY_MAX_BODY = 10 * 1024 * 1024;

/** How to run one local gateway (one "Lambda container"). */
export interface LocalRuntimeOptions {
  config: GatewayConfig;
  /** DynamoDB endpoint (DynamoDB Local). */
  dynamoEndpoint: string;
  port?: number;
  host?: string;
  tables?: TableNames;
  log?: Log;
  clock?: Clock;
  random?: Random;
  /** Replaces the DynamoDB breaker store (e.g. per-process memory, for comparisons). */
  store?: BreakerStore & EventStore;
  /** Replaces the DynamoDB session store. */
  sessions?: SessionStore;
  /** Where the proxy's metrics go (default: nowhere). */
  metrics?: MetricsSink;
  /** Called with the DynamoDB client before use (tests attach counting middleware). */
  onDynamoClient?: (client: DynamoDBDocumentClient) => void;
  /** Create the tables if missing (default true). */
  createTables?: boolean;
  /** The simulated Lambda timeout (ms); the request budget is capped by it. */
  lambdaTimeoutMs?: number;
  /** Poll the events stream and feed the aggregator, as Lambda's event source mapping would (default true). */
  pollStream?: boolean;
  /** Idle interval of the stream poller (ms, default 200). */
  streamPollIntervalMs?: number;
}

/** A running local gateway. */
export interface LocalRuntime {
  url: string;
  port: number;
  deps: ProxyDeps;
  /** The events-stream poller feeding the aggregator, when polling. */
  poller: StreamPoller | null;
  close(): Promise<void>;
}

/**
 * Serves the proxy Lambda over HTTP the way API Gateway REST (STREAM mode) + Lambda response streaming would: each
 * HTTP request becomes a REST proxy event for the same handler, and its response stream is written straight back.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  installLambdaStreamingGlobals();
  const { createProxyHandler } = await import('../functions/proxy');
  const { createStatsHandler, statsDepsFor } = await import('../functions/stats');
  const { createAggregatorHandler } = await import('../functions/aggregator');
  const log = options.log ?? consoleLog();
  const tables = options.tables ?? LOCAL_TABLE_NAMES;
  const client = createDynamoClient({
    endpoint: options.dynamoEndpoint,
    timeoutMs: options.config.store.timeoutSeconds * 1000,
    localCredentials: true,
  });
  options.onDynamoClient?.(client);
  if (options.createTables !== false) {
    await ensureTables(client, tablesToCreate(tables));
  }
  const store = options.store ?? new DynamoBreakerStore(client, tables);
  const sessions =
    options.sessions ?? (options.store ? new MemorySessionStore() : new DynamoSessionStore(client, tables));
  const deps = createProxyDeps({
    config: options.config,
    store,
    sessions,
    log,
    clock: options.clock,
    random: options.random,
    metrics: options.metrics,
  });
  const handler = createProxyHandler(() => deps) as unknown as (
    event: unknown,
    stream: LocalResponseStream,
    context: Context,
  ) => Promise<void>;
  const lambdaTimeoutMs = options.lambdaTimeoutMs ?? (options.config.retry.totalTimeoutSeconds + 5) * 1000;
  const statsHandler = createStatsHandler(() => ({
    ...statsDepsFor(options.config, client, tables, log),
    breakers: store,
    ...(options.clock ? { clock: options.clock } : {}),
  })) as unknown as (
    event: unknown,
    context: Context,
  ) => Promise<{ statusCode: number; headers?: Record<string, string>; body: string }>;
  const poller =
    options.pollStream === false
      ? null
      : await startStreamPoller({
          endpoint: options.dynamoEndpoint,
          tableName: tables.events,
          handler: createAggregatorHandler(() => ({
            rollups: new DynamoRollupStore(client, tables),
            metrics: noMetrics,
            log,
          })),
          intervalMs: options.streamPollIntervalMs ?? 200,
          log,
        });

  const sockets = new Set<Socket>();
  const server: Server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    void serve(req, res).catch((error) => {
      log.error('Local runtime failed to serve a request', { error: String(error) });
      if (res.headersSent) {
        // Part of a response is out: cut it, as API Gateway does, rather than append an error to it.
        res.destroy();
        return;
      }
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal server error' }));
    });
  });
  // A client that sends its request too slowly is cut off, as API Gateway would (slow-loris protection).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > API_GATEWAY_MAX_BODY) {
        res.writeHead(413, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Request Too Long' }));
        req.destroy();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const event = apiGatewayEventFromHttp(req, Buffer.concat(chunks));
    const startedAt = Date.now();
    const isStats = STATS_PATHS.includes(event.path);
    const context = {
      awsRequestId: randomUUID(),
      functionName: 'llm-gateway-proxy-local',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:llm-gateway-proxy-local',
      memoryLimitInMB: '1024',
      logGroupName: '/aws/lambda/llm-gateway-proxy-local',
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => Math.max(0, lambdaTimeoutMs - (Date.now() - startedAt)),
    } as unknown as Context;
    if (isStats) {
      // The stats Lambda sits behind a buffered integration: one response, written whole.
      const result = await statsHandler(event, context);
      res.writeHead(result.statusCode, result.headers ?? {});
      res.end(result.body);
      return;
    }
    try {
      await handler(event, new LocalResponseStream(res), context);
    } catch (error) {
      // A client that disconnects mid-stream ends the invocation early; that is not a gateway failure.
      if (res.destroyed || res.writableEnded) {
        log.debug('Client disconnected before the response ended', { requestId: event.requestContext.requestId });
        return;
      }
      throw error;
    }
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    deps,
    poller,
    close: async () => {
      await poller?.stop();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.destroy();
    },
  };
}
