import type { Readable } from 'node:stream';
import { authenticate, type GatewayKeyRing, presentedKey } from '../auth/gateway-keys';
import { allInstances, instancesOf, type ProviderInstance, providerForModel } from '../config/load-config';
import type { GatewayConfig } from '../config/schema';
import type { ApiFormat } from '../http/api-errors';
import { forwardableRequestHeaders, forwardableResponseHeaders } from '../http/forwarded-headers';
import { sendUpstream, type UpstreamResponse } from '../http/upstream-client';
import type { Log } from '../observability/log';
import type { MetricsSink } from '../observability/metrics-sink';
import { providerManifest } from '../providers/provider-manifests';
import type { Random } from '../resilience/backoff';
import type { CircuitBreaker } from '../resilience/circuit-breaker';
import type { Clock } from '../resilience/clock';
import { type FailoverInstance, runFailover } from '../resilience/failover-loop';
import { ClientError, errorResponse, isClientError } from './client-error';
import type { GatewayRequest, GatewayResponse } from './gateway-http';
import { formatForPath, PROXY_ROUTES, type ProxyCall } from './proxy-routes';
import { type StickySessions, sessionIdOf, sessionKey } from './sticky-sessions';

/** Everything the proxy needs, built once per container. */
export interface ProxyDeps {
  config: GatewayConfig;
  breaker: CircuitBreaker;
  keys: GatewayKeyRing;
  sessions: StickySessions;
  clock: Clock;
  random: Random;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  log: Log;
  metrics: MetricsSink;
  /** The upstream key of an instance (a `secret:` reference is read from Secrets Manager in AWS, with caching). */
  providerKey: (instance: ProviderInstance) => Promise<string>;
}

/** Control characters (other than tab) are not allowed in header values; the upstream request would fail. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const INVALID_HEADER_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Time kept back from the Lambda deadline to answer in the client's format (ms). */
const DEADLINE_SAFETY_MS = 1000;
/** The caller's name when the gateway has no keys configured (open, local use). */
const ANONYMOUS = 'anonymous';

/** Serves one proxy request: routing, authentication, validation, failover, the gateway headers. Never throws. */
export async function handleProxyRequest(request: GatewayRequest, deps: ProxyDeps): Promise<GatewayResponse> {
  const started = deps.clock();
  const onPath = PROXY_ROUTES.map((route) => ({ route, match: route.path.exec(request.path) })).filter((r) => r.match);
  const found = onPath.find((r) => r.route.method === request.method);
  const format = found?.route.format ?? onPath[0]?.route.format ?? formatForPath(request.path);
  let response: GatewayResponse;
  try {
    if (!found) {
      throw onPath.length > 0
        ? new ClientError(405, `Method ${request.method} is not allowed on ${request.path}`, 'method_not_allowed', {
            allow: onPath.map((r) => r.route.method).join(', '),
          })
        : new ClientError(404, `Unknown route: ${request.method} ${request.path}`, 'not_found');
    }
    const caller = authenticateCaller(request, deps);
    const parse = found.route.parse;
    response = parse
      ? await proxy(request, parse(request, found.match as RegExpExecArray), caller, deps)
      : modelsList(deps.config);
  } catch (error) {
    response = errorAnswer(error, format, request, deps);
  }
  response.headers['x-gateway-request-id'] = request.requestId;
  const instance = response.headers['x-gateway-instance'];
  const attempts = response.headers['x-gateway-attempts'];
  deps.log.info(
    `${request.method} ${request.path} ${response.statusCode}${instance ? ` via ${instance}` : ''}${attempts ? ` (${attempts} attempt(s))` : ''} ${deps.clock() - started}ms`,
    { requestId: request.requestId, status: response.statusCode, instance },
  );
  return response;
}

function errorAnswer(error: unknown, format: ApiFormat, request: GatewayRequest, deps: ProxyDeps): GatewayResponse {
  if (isClientError(error)) return errorResponse(format, error.status, error.message, error.code, error.headers);
  deps.log.error('Unexpected error while proxying', {
    requestId: request.requestId,
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  return errorResponse(format, 500, `Internal gateway error (request id ${request.requestId})`, 'internal_error');
}

/** The caller's gateway key name; 401 when keys are configured and the request has none or a wrong one. */
function authenticateCaller(request: GatewayRequest, deps: ProxyDeps): string {
  if (deps.keys.size === 0) return ANONYMOUS;
  const result = authenticate(deps.keys, presentedKey(request.headers, request.query));
  if (result.ok) return result.name;
  throw new ClientError(
    401,
    result.reason === 'missing'
      ? 'Missing gateway key: send it as Authorization: Bearer <key>, x-api-key, x-goog-api-key or ?key='
      : 'Invalid gateway key',
    'invalid_api_key',
  );
}

/** `GET /v1/models`: the models the gateway can route (those instances list), in OpenAI's list format. */
function modelsList(config: GatewayConfig): GatewayResponse {
  const seen = new Map<string, string>();
  for (const instance of allInstances(config)) {
    if (!instance.enabled) continue;
    for (const model of instance.models ?? []) if (!seen.has(model)) seen.set(model, instance.provider);
  }
  const data = [...seen].map(([id, provider]) => ({ id, object: 'model', created: 0, owned_by: provider }));
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ object: 'list', data }),
  };
}

/** Routes the model to a provider and fails over across its instances. */
async function proxy(
  request: GatewayRequest,
  call: ProxyCall,
  caller: string,
  deps: ProxyDeps,
): Promise<GatewayResponse> {
  const { config } = deps;
  const { format, model } = call;
  const provider = providerForModel(config, model);
  if (!provider) {
    throw new ClientError(
      404,
      `The model '${model}' does not exist or is not routed by this gateway`,
      'model_not_found',
    );
  }
  if (provider !== format) {
    throw new ClientError(
      400,
      `The model '${model}' is routed to provider '${provider}', whose API format differs from this ${format} endpoint; cross-format serving is not supported yet`,
      'unsupported_model_format',
    );
  }
  const manifest = providerManifest(provider);
  const instances = instancesOf(config, provider).filter((i) => i.enabled && (!i.models || i.models.includes(model)));
  if (instances.length === 0) {
    throw new ClientError(404, `No enabled ${provider} instance serves the model '${model}'`, 'model_not_found');
  }

  const sessionId = sessionIdOf(request.headers, call.body);
  const session = sessionId ? sessionKey(caller, sessionId) : null;
  const pinned = session ? await deps.sessions.pinned(session) : null;

  const now = deps.clock();
  const deadline =
    now + Math.max(1, Math.min(request.remainingMs - DEADLINE_SAFETY_MS, config.retry.totalTimeoutSeconds * 1000));
  const headers = { ...manifest.defaultHeaders, ...forwardableRequestHeaders(request.headers) };
  try {
    new Headers(headers);
  } catch (error) {
    throw new ClientError(400, `Invalid request header: ${(error as Error).message}`, 'invalid_header');
  }
  const controlled = Object.entries(headers).find(([, value]) => INVALID_HEADER_VALUE.test(value));
  if (controlled) {
    throw new ClientError(
      400,
      `Invalid request header: ${controlled[0]} contains a control character`,
      'invalid_header',
    );
  }
  const query = new URLSearchParams(Object.entries(request.query).filter(([name]) => name !== 'key')).toString();

  const result = await runFailover<(typeof instances)[number] & FailoverInstance, UpstreamResponse>(
    {
      requestId: request.requestId,
      provider,
      instances,
      preferred: pinned?.instance,
      maxAttempts: config.retry.maxAttempts,
      rateLimitMaxDelayMs: config.retry.rateLimitMaxDelaySeconds * 1000,
      deadline,
      probeLeaseMs: config.breaker.probeLeaseSeconds * 1000,
      signal: request.signal,
      attempt: async (instance, limits) => {
        let apiKey: string;
        try {
          apiKey = await deps.providerKey(instance);
        } catch (error) {
          // A key that cannot be read is this instance's credentials problem: fail over, count it against it.
          deps.log.error(`Provider key of ${instance.name} unavailable`, {
            instance: instance.name,
            error: String(error),
          });
          return { observation: { status: 401 }, response: null, message: 'provider key unavailable' };
        }
        const startedAt = deps.clock();
        const result = await sendUpstream(
          {
            url: manifest.upstreamUrl(instance.baseUrl, request.path, query),
            method: request.method,
            headers: { ...headers, ...manifest.authHeaders(apiKey) },
            body: request.body,
            format,
            instanceDeadline: deps.clock() + instance.requestTimeoutSeconds * 1000,
            onStreamFailure: async (failure) => {
              if (!failure.countsAgainstInstance) {
                deps.log.warn(`Stream cut: ${failure.message}`, {
                  requestId: request.requestId,
                  instance: instance.name,
                });
                return;
              }
              await deps.breaker.recordFailure(instance.name, {
                class: 'stream_failure',
                retryAfterMs: null,
                status: null,
                message: failure.message,
                requestId: request.requestId,
              });
            },
          },
          limits,
          deps.clock,
        );
        // An upstream may echo the key it was sent (in an error code, say): it never reaches a message or event.
        if (apiKey.length >= 4 && result.message.includes(apiKey)) {
          result.message = result.message.split(apiKey).join('[redacted]');
        }
        deps.metrics.record('UpstreamLatency', deps.clock() - startedAt, { provider, instance: instance.name });
        return result;
      },
    },
    deps,
  );
  deps.metrics.record('Requests', 1, { provider });
  deps.metrics.record('Attempts', result.attempts, { provider });

  if (result.kind === 'exhausted') {
    deps.metrics.record('NoHealthyInstance', 1, { provider });
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
  if (session && result.outcome === 'success') await deps.sessions.remember(session, result.instance, pinned);
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
