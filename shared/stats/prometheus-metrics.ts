import { Counter, Gauge, Registry } from 'prom-client';
import type { HealthSummary } from './health-summary';
import type { Counts } from './rollup-counters';

const STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * `GET /metrics`: Prometheus text exposition (SPEC §5). Circuit state and consecutive failures are gauges; failures,
 * failovers and circuit opens are cumulative counters from the aggregator's totals.
 */
export async function renderPrometheus(
  summary: HealthSummary,
  /** Cumulative counts keyed by `provider#instance`; provider-wide ones under `provider#*`. */
  totals: Map<string, Counts>,
): Promise<{ contentType: string; body: string }> {
  const registry = new Registry();
  const labels = ['instance', 'provider'] as const;
  const state = new Gauge({
    name: 'llm_gateway_circuit_state',
    help: 'Circuit state per instance: 0 closed, 1 half-open, 2 open',
    labelNames: labels,
    registers: [registry],
  });
  const consecutive = new Gauge({
    name: 'llm_gateway_consecutive_failures',
    help: 'Consecutive failed attempts per instance',
    labelNames: labels,
    registers: [registry],
  });
  const up = new Gauge({
    name: 'llm_gateway_instance_admitting',
    help: '1 when the instance admits traffic now (closed, or due for a recovery probe), else 0',
    labelNames: labels,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'llm_gateway_failures_total',
    help: 'Failed upstream attempts per instance and failure class',
    labelNames: [...labels, 'class'],
    registers: [registry],
  });
  const failovers = new Counter({
    name: 'llm_gateway_failovers_total',
    help: 'Requests moved away from this instance to another',
    labelNames: labels,
    registers: [registry],
  });
  const opens = new Counter({
    name: 'llm_gateway_circuit_opens_total',
    help: 'Times the circuit of this instance opened',
    labelNames: labels,
    registers: [registry],
  });
  const noHealthy = new Counter({
    name: 'llm_gateway_no_healthy_instance_total',
    help: 'Requests answered 503/429 because no instance of the provider was eligible',
    labelNames: ['provider'],
    registers: [registry],
  });
  for (const i of summary.instances) {
    const l = { instance: i.name, provider: i.provider };
    state.set(l, STATE_VALUE[i.state]);
    consecutive.set(l, i.consecutiveFailures);
    up.set(l, i.status === 'down' || (i.status === 'recovering' && i.retryAt !== null) ? 0 : 1);
    const t = totals.get(`${i.provider}#${i.name}`) ?? {};
    failovers.inc(l, t.failovers ?? 0);
    opens.inc(l, t.circuitOpens ?? 0);
    for (const [name, value] of Object.entries(t)) {
      if (name.startsWith('failures_')) failures.inc({ ...l, class: name.slice('failures_'.length) }, value);
    }
  }
  for (const [key, t] of totals) {
    if (key.endsWith('#*')) noHealthy.inc({ provider: key.slice(0, -2) }, t.noHealthy ?? 0);
  }
  return { contentType: registry.contentType, body: await registry.metrics() };
}
