import type { Readable } from 'node:stream';
import { instancesOf, providerForModel } from '../config/load-config';
import type { GatewayConfig, ProviderType } from '../config/schema';
import type { ApiFormat } from '../http/api-errors';
import { forwardableRequestHeaders, forwardableResponseHeaders } from '../http/forwarded-headers';
import { sendUpstream, type UpstreamResponse } from '../http/upstream-client';
import type { Log } from '../observability/log';
import { openAiProvider } from '../providers/openai';
import type { ProviderManifest } from '../providers/provider-manifest';
import type { Random } from '../resilience/backoff';
import type { CircuitBreaker } from '../resilience/circuit-breaker';
import type { Clock } from '../resilience/clock';
import { type FailoverInstance, runFailover } from '../resilience/failover-loop';
import { ClientError, errorResponse, isClientError } from './client-error';
import type { GatewayRequest, GatewayResponse } from './gateway-http';

/** Everything the proxy needs, built once per container. */
export interface ProxyDeps {
  config: GatewayConfig;
  breaker: CircuitBreaker;
  clock: Clock;
  random: Random;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  log: Log;
}

/** Lambda's request payload limit, which API Gateway shares (bytes). */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;
/** Time kept back from the Lambda deadline to answer in the client's format (ms). */
const DEADLINE_SAFETY_MS = 1000;

const MANIFESTS: Partial<Record<ProviderType, ProviderManifest>> = { openai: openAiProvider };

interface Route {
  method: string;
  path: RegExp;
  format: ApiFormat;
  handle: (request: GatewayRequest, deps: ProxyDeps) => Promise<GatewayResponse>;
}

const ROUTES: Route[] = [
  { method: 'POST', path: /^\/v1\/chat\/completions$/, format: 'openai', handle: chatCompletions },
];

/** The format a path's client speaks, for errors on paths the gateway does not serve. */
function formatForPath(path: string): ApiFormat {
  if (path.startsWith('/v1beta/')) return 'gemini';
  if (path.startsWith('/v1/messages')) return 'anthropic';
  return 'openai';
}

/** Serves one proxy request: routing, validation, failover, and the gateway headers. Never throws. */
export async function handleProxyRequest(request: GatewayRequest, deps: ProxyDeps): Promise<GatewayResponse> {
  const started = deps.clock();
  const onPath = ROUTES.filter((r) => r.path.test(request.path));
  const route = onPath.find((r) => r.method === request.method);
  const format = route?.format ?? onPath[0]?.format ?? formatForPath(request.path);
  let response: GatewayResponse;
  try {
    if (!route) {
      throw onPath.length > 0
        ? new ClientError(405, `Method ${request.method} is not allowed on ${request.path}`, 'method_not_allowed', {
            allow: onPath.map((r) => r.method).join(', '),
          })
        : new ClientError(404, `Unknown route: ${request.method} ${request.path}`, 'not_found');
    }
    response = await route.handle(request, deps);
  } catch (error) {
    if (isClientError(error)) {
      response = errorResponse(format, error.status, error.message, error.code, error.headers);
    } else {
      deps.log.error('Unexpected error while proxying', {
        requestId: request.requestId,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      response = errorResponse(
        format,
        500,
        `Internal gateway error (request id ${request.requestId})`,
        'internal_error',
      );
    }
  }
  response.headers['x-gateway-request-id'] = request.requestId;
  deps.log.info(
    `${request.method} ${request.path} ${response.statusCode}` +
      (response.headers['x-gateway-instance'] ? ` via ${response.headers['x-gateway-instance']}` : '') +
      (response.headers['x-gateway-attempts'] ? ` (${response.headers['x-gateway-attempts']} attempt(s))` : '') +
      ` ${deps.clock() - started}ms`,
    { requestId: request.requestId, status: response.statusCode, instance: response.headers['x-gateway-instance'] },
  );
  return response;
}

/** Parses a JSON object body, with the client-facing errors for every way it can be wrong. */
function parseJsonBody(request: GatewayRequest): Record<string, unknown> {
  if (request.body.length > MAX_BODY_BYTES) {
    throw new ClientError(
      413,
      `Request body is ${request.body.length} bytes; the limit is ${MAX_BODY_BYTES}`,
      'request_too_large',
    );
  }
  const contentType = request.headers['content-type'];
  if (contentType && !/^application\/([a-z.+-]*\+)?json\b/i.test(contentType.trim())) {
    throw new ClientError(
      415,
      `Unsupported content type "${contentType.slice(0, 100)}"; send application/json`,
      'unsupported_media_type',
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString('utf8'));
  } catch (error) {
    throw new ClientError(400, `Malformed JSON body: ${(error as Error).message}`, 'invalid_json');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ClientError(400, 'The request body must be a JSON object', 'invalid_request');
  }
  return body as Record<string, unknown>;
}

async function chatCompletions(request: GatewayRequest, deps: ProxyDeps): Promise<GatewayResponse> {
  const body = parseJsonBody(request);
  if (typeof body.model !== 'string' || body.model.length === 0) {
    throw new ClientError(400, "Missing required parameter: 'model'", 'missing_required_parameter');
  }
  if (!Array.isArray(body.messages)) {
    throw new ClientError(400, "Missing required parameter: 'messages'", 'missing_required_parameter');
  }
  return proxy(request, deps, 'openai', body.model);
}

/** Routes the model to a provider and fails over across its instances. */
async function proxy(
  request: GatewayRequest,
  deps: ProxyDeps,
  format: ApiFormat,
  model: string,
): Promise<GatewayResponse> {
  const { config } = deps;
  const provider = providerForModel(config, model);
  if (!provider) {
    throw new ClientError(
      404,
      `The model '${model}' does not exist or is not routed by this gateway`,
      'model_not_found',
    );
  }
  const manifest = MANIFESTS[provider];
  if (provider !== format || !manifest) {
    throw new ClientError(
      400,
      `The model '${model}' is routed to provider '${provider}', whose API format differs from this ${format} endpoint; cross-format serving is not supported yet`,
      'unsupported_model_format',
    );
  }
  const instances = instancesOf(config, provider).filter((i) => i.enabled && (!i.models || i.models.includes(model)));
  if (instances.length === 0) {
    throw new ClientError(404, `No enabled ${provider} instance serves the model '${model}'`, 'model_not_found');
  }
  const now = deps.clock();
  const deadline =
    now + Math.max(1, Math.min(request.remainingMs - DEADLINE_SAFETY_MS, config.retry.totalTimeoutSeconds * 1000));
  const forwarded = forwardableRequestHeaders(request.headers);
  const query = new URLSearchParams(request.query).toString();

  const result = await runFailover<(typeof instances)[number] & FailoverInstance, UpstreamResponse>(
    {
      requestId: request.requestId,
      provider,
      instances,
      maxAttempts: config.retry.maxAttempts,
      rateLimitMaxDelayMs: config.retry.rateLimitMaxDelaySeconds * 1000,
      deadline,
      probeLeaseMs: config.breaker.probeLeaseSeconds * 1000,
      signal: request.signal,
      attempt: (instance, limits) =>
        sendUpstream(
          {
            url: manifest.upstreamUrl(instance.baseUrl, request.path, query),
            method: request.method,
            headers: { ...forwarded, ...manifest.authHeaders(instance.apiKey) },
            body: request.body,
            signal: request.signal,
          },
          { ...limits, deadline: Math.min(limits.deadline, deps.clock() + instance.requestTimeoutSeconds * 1000) },
          deps.clock,
        ),
    },
    deps,
  );

  if (result.kind === 'exhausted') {
    const tried = result.failures.map((f) => `${f.instance} (${f.message})`).join(', ');
    const message =
      result.status === 429
        ? `Every ${provider} instance is rate limited; retry after ${result.retryAfterSeconds}s`
        : `No healthy ${provider} instance is available${tried ? `; tried ${tried}` : ''}; retry after ${result.retryAfterSeconds}s`;
    return errorResponse(
      format,
      result.status,
      message,
      result.status === 429 ? 'rate_limited' : 'no_healthy_instance',
      {
        'retry-after': String(result.retryAfterSeconds),
        'x-gateway-attempts': String(result.attempts),
      },
    );
  }
  const upstream = result.response;
  return {
    statusCode: upstream.status,
    headers: {
      ...forwardableResponseHeaders(upstream.headers),
      'x-gateway-instance': result.instance,
      'x-gateway-attempts': String(result.attempts),
    },
    body: upstream.body as string | Readable,
  };
}
