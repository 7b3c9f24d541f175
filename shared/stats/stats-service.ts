import { authenticate, type GatewayKeyRing, presentedKey } from '../auth/gateway-keys';
import { allInstances } from '../config/load-config';
import type { GatewayConfig } from '../config/schema';
import { errorResponse } from '../gateway/client-error';
import type { GatewayRequest, GatewayResponse } from '../gateway/gateway-http';
import type { Log } from '../observability/log';
import type { Clock } from '../resilience/clock';
import type { BreakerStore } from '../store/breaker-store';
import type { DynamoEventReader } from '../store/dynamo-event-reader';
import type { DynamoRollupStore } from '../store/dynamo-rollup-store';
import { buildHealthSummary, type HealthSummary, providerHealth, renderHealthTable } from './health-summary';
import { renderPrometheus } from './prometheus-metrics';
import { notClosedMillis } from './time-open';

/** What the stats Lambda reads from. */
export interface StatsDeps {
  config: GatewayConfig;
  keys: GatewayKeyRing;
  breakers: BreakerStore;
  rollups: Pick<DynamoRollupStore, 'windows' | 'totals'>;
  events: Pick<DynamoEventReader, 'circuitMarks'>;
  clock: Clock;
  log: Log;
}

/** The paths the stats Lambda serves. */
export const STATS_PATHS = ['/stats', '/health', '/metrics'];

const HOUR = 3_600_000;
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

/** Serves `/stats` (JSON or text table), `/health` and `/metrics` (SPEC §5). Never throws. */
export async function handleStatsRequest(request: GatewayRequest, deps: StatsDeps): Promise<GatewayResponse> {
  try {
    if (!STATS_PATHS.includes(request.path)) {
      return errorResponse('openai', 404, `Unknown route: ${request.method} ${request.path}`, 'not_found');
    }
    if (request.method !== 'GET') {
      return errorResponse(
        'openai',
        405,
        `Method ${request.method} is not allowed on ${request.path}`,
        'method_not_allowed',
        {
          allow: 'GET',
        },
      );
    }
    if (deps.keys.size > 0) {
      const auth = authenticate(deps.keys, presentedKey(request.headers, request.query));
      if (!auth.ok) {
        return errorResponse(
          'openai',
          401,
          auth.reason === 'missing' ? 'Missing gateway key' : 'Invalid gateway key',
          'invalid_api_key',
        );
      }
    }
    const now = deps.clock();
    const instances = allInstances(deps.config);
    const records = await deps.breakers.load(instances.map((i) => i.name));
    if (request.path === '/health') {
      const health = providerHealth(
        instances.map((instance) => ({ instance, record: records.get(instance.name) })),
        now,
      );
      return {
        statusCode: health.healthy ? 200 : 503,
        headers: JSON_HEADERS,
        body: JSON.stringify({
          status: health.healthy ? 'healthy' : 'unhealthy',
          checkedAt: new Date(now).toISOString(),
          providers: health.providers,
        }),
      };
    }
    const summary = await summarize(deps, now, records);
    if (request.path === '/metrics') {
      const refs = [
        ...instances.map((i) => ({ provider: i.provider, name: i.name })),
        ...[...new Set(instances.map((i) => i.provider))].map((provider) => ({ provider, name: '*' })),
      ];
      const metrics = await renderPrometheus(summary, await deps.rollups.totals(refs));
      return {
        statusCode: 200,
        headers: { 'content-type': metrics.contentType, 'cache-control': 'no-store' },
        body: metrics.body,
      };
    }
    const wantsText = request.query.format === 'text' || /^text\/plain\b/.test(request.headers.accept ?? '');
    return wantsText
      ? {
          statusCode: 200,
          headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
          body: renderHealthTable(summary, now),
        }
      : { statusCode: 200, headers: JSON_HEADERS, body: JSON.stringify(summary) };
  } catch (error) {
    deps.log.error('Stats request failed', {
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    return errorResponse('openai', 500, `Internal gateway error (request id ${request.requestId})`, 'internal_error');
  }
}

async function summarize(
  deps: StatsDeps,
  now: number,
  records: Awaited<ReturnType<BreakerStore['load']>>,
): Promise<HealthSummary> {
  const instances = allInstances(deps.config);
  const windows = await deps.rollups.windows(
    instances.map((i) => ({ provider: i.provider, name: i.name })),
    now,
  );
  const inputs = await Promise.all(
    instances.map(async (instance) => {
      const record = records.get(instance.name);
      const marks = await deps.events.circuitMarks(instance.provider, instance.name, now - 24 * HOUR);
      const closedNow = !record || record.circuit.state === 'closed';
      const w = windows.get(instance.name);
      return {
        instance,
        record,
        lastHour: w?.lastHour ?? {},
        last24h: w?.last24h ?? {},
        openMs: {
          lastHour: notClosedMillis(marks, now - HOUR, now, closedNow),
          last24h: notClosedMillis(marks, now - 24 * HOUR, now, closedNow),
        },
      };
    }),
  );
  return buildHealthSummary(inputs, now);
}
