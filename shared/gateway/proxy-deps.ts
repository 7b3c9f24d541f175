import { compileGatewayKeys } from '../auth/gateway-keys';
import { allInstances } from '../config/load-config';
import type { GatewayConfig } from '../config/schema';
import type { Log } from '../observability/log';
import { type MetricsSink, noMetrics } from '../observability/metrics-sink';
import type { Random } from '../resilience/backoff';
import { CircuitBreaker } from '../resilience/circuit-breaker';
import { type Clock, sleep, systemClock } from '../resilience/clock';
import type { BreakerStore, EventStore } from '../store/breaker-store';
import type { SessionStore } from '../store/session-store';
import type { ProxyDeps } from './proxy-service';
import { StickySessions } from './sticky-sessions';

/** Inputs for building the proxy's per-container dependencies. */
export interface ProxyDepsInput {
  config: GatewayConfig;
  store: BreakerStore & EventStore;
  sessions: SessionStore;
  log: Log;
  metrics?: MetricsSink;
  /** Reads `secret:` provider keys; without it, keys are used as configured. */
  providerKey?: ProxyDeps['providerKey'];
  clock?: Clock;
  random?: Random;
}

/** Wires config, breaker store and clock into the proxy's dependencies (once per container). */
export function createProxyDeps(input: ProxyDepsInput): ProxyDeps {
  const { config, store, log } = input;
  const clock = input.clock ?? systemClock;
  const random = input.random ?? Math.random;
  const metrics = input.metrics ?? noMetrics;
  const providers = new Map(allInstances(config).map((i) => [i.name, i.provider]));
  const breaker = new CircuitBreaker({
    store,
    events: store,
    options: config.breaker,
    cacheMs: config.breaker.cacheSeconds * 1000,
    holdBackMs: config.breaker.holdBackSeconds * 1000,
    providerOf: (instance) => providers.get(instance) ?? 'unknown',
    clock,
    random,
    log,
    metrics,
  });
  const keys = compileGatewayKeys(config.apiKeys);
  const sessions = new StickySessions(input.sessions, config.store.sessionTtlSeconds * 1000, clock, log);
  const providerKey = input.providerKey ?? (async (instance) => instance.apiKey);
  return { config, breaker, keys, sessions, clock, random, sleep, log, metrics, providerKey };
}
