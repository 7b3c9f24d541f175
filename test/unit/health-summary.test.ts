import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { ProviderInstance } from '../../shared/config/load-config';
import { type BreakerRecord, freshRecord } from '../../shared/resilience/breaker-record';
import {
  buildHealthSummary,
  formatWait,
  type InstanceInput,
  providerHealth,
  renderHealthTable,
} from '../../shared/stats/health-summary';
import { renderPrometheus } from '../../shared/stats/prometheus-metrics';
import { notClosedMillis } from '../../shared/stats/time-open';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const instance = (name: string, provider: ProviderInstance['provider'] = 'openai'): ProviderInstance => ({
  name,
  provider,
  baseUrl: 'https://example.test',
  apiKey: 'sk-never-shown-000000',
  priority: 1,
  weight: 100,
  requestTimeoutSeconds: 300,
  firstByteTimeoutSeconds: 30,
  enabled: true,
});
const input = (i: ProviderInstance, record?: BreakerRecord): InstanceInput => ({
  instance: i,
  record,
  lastHour: {},
  last24h: {},
  openMs: { lastHour: 0, last24h: 0 },
});
const open = (name: string, retryInMs: number, failures: number): BreakerRecord => ({
  ...freshRecord(name),
  version: 3,
  circuit: { state: 'open', openedAt: NOW - 1000, retryAt: NOW + retryInMs },
  consecutiveFailures: failures,
  lastFailureClass: 'transient',
  lastFailureAt: NOW - 1000,
});
const halfOpen = (name: string, leaseMs: number): BreakerRecord => ({
  ...freshRecord(name),
  version: 4,
  circuit: { state: 'half_open', successes: 0, probe: { holder: 'r1', expiresAt: NOW + leaseMs } },
  consecutiveFailures: 3,
});

describe('the health summary', () => {
  const summary = buildHealthSummary(
    [
      input(instance('openai-primary')),
      input(instance('anthropic-primary', 'anthropic'), halfOpen('anthropic-primary', 45_000)),
      input(instance('gemini-main', 'gemini'), open('gemini-main', 8 * 60_000, 5)),
      input(instance('openai-backup')),
    ],
    NOW,
  );

  it('classifies closed as healthy, half-open as recovering, open as down, and counts them', () => {
    expect(summary.instances.map((i) => [i.name, i.state, i.status])).toEqual([
      ['openai-primary', 'closed', 'healthy'],
      ['anthropic-primary', 'half_open', 'recovering'],
      ['gemini-main', 'open', 'down'],
      ['openai-backup', 'closed', 'healthy'],
    ]);
    expect(summary.overall).toEqual({ total: 4, healthy: 2, recovering: 1, down: 1 });
    expect(summary.instances[2].retryAt).toBe(new Date(NOW + 8 * 60_000).toISOString());
    expect(summary.instances[0].retryAt).toBeNull();
  });

  it('renders the table of SPEC §5 exactly', () => {
    expect(renderHealthTable(summary, NOW)).toBe(
      [
        'Provider Health Status:',
        '  openai-primary                 ✅ Healthy      (0 failures)',
        '  anthropic-primary              🟡 Recovering   (testing recovery, retry in 45s)',
        '  gemini-main                    🔴 Unhealthy    (5 failures, retry in 8m)',
        '  openai-backup                  ✅ Healthy      (0 failures)',
        '',
        'Overall: 2/4 healthy, 1 recovering, 1 down',
        '',
      ].join('\n'),
    );
  });

  it('shows an open circuit whose backoff has passed as recovering (the next request probes it)', () => {
    const due = buildHealthSummary([input(instance('x'), open('x', -1, 3))], NOW);
    expect(due.instances[0].status).toBe('recovering');
    expect(due.instances[0].retryAt).toBeNull();
  });

  it('shows a rate-limited instance as recovering until its cool-down ends', () => {
    const cooling = { ...freshRecord('x'), cooldownUntil: NOW + 30_000, consecutiveFailures: 1 };
    const s = buildHealthSummary([input(instance('x'), cooling)], NOW);
    expect(s.instances[0]).toMatchObject({ status: 'recovering', detail: 'rate limited' });
    expect(renderHealthTable(s, NOW)).toContain('(rate limited, retry in 30s)');
  });

  it.each([
    [500, '1s'],
    [45_000, '45s'],
    [59_400, '1m'],
    [8 * 60_000, '8m'],
    [2 * 3_600_000, '2h'],
  ])('formats a wait of %i ms as %s', (ms, text) => {
    expect(formatWait(ms)).toBe(text);
  });
});

describe('provider health (GET /health)', () => {
  it('is healthy while every provider has an instance that admits traffic', () => {
    const health = providerHealth(
      [
        { instance: instance('a'), record: open('a', 60_000, 3) },
        { instance: instance('b'), record: undefined },
        { instance: instance('c', 'gemini'), record: open('c', -1, 3) },
      ],
      NOW,
    );
    expect(health).toEqual({
      healthy: true,
      providers: { openai: { instances: 2, admitting: 1 }, gemini: { instances: 1, admitting: 1 } },
    });
  });

  it('is unhealthy when one provider has none', () => {
    const health = providerHealth([{ instance: instance('a'), record: open('a', 60_000, 3) }], NOW);
    expect(health.healthy).toBe(false);
  });
});

describe('time the circuit was not closed', () => {
  it('adds up open and half-open periods inside the window, and the current one', () => {
    const marks = [
      { type: 'circuit_open' as const, timestamp: NOW - 50_000 },
      { type: 'circuit_half_open' as const, timestamp: NOW - 40_000 },
      { type: 'circuit_closed' as const, timestamp: NOW - 30_000 },
      { type: 'circuit_open' as const, timestamp: NOW - 10_000 },
    ];
    expect(notClosedMillis(marks, NOW - 3_600_000, NOW, false)).toBe(30_000);
  });

  it('counts from the window start when the circuit opened before it', () => {
    const marks = [
      { type: 'circuit_open' as const, timestamp: NOW - 7_200_000 },
      { type: 'circuit_closed' as const, timestamp: NOW - 3_000_000 },
    ];
    expect(notClosedMillis(marks, NOW - 3_600_000, NOW, true)).toBe(600_000);
  });

  it('is zero for a circuit that stayed closed', () => {
    expect(notClosedMillis([], NOW - 3_600_000, NOW, true)).toBe(0);
  });
});

describe('the Prometheus exposition (GET /metrics)', () => {
  it('parses as valid text exposition with the documented metrics and labels', async () => {
    const summary = buildHealthSummary(
      [input(instance('openai-primary')), input(instance('gemini-main', 'gemini'), open('gemini-main', 60_000, 5))],
      NOW,
    );
    const totals = new Map<string, Record<string, number>>([
      [
        'openai#openai-primary',
        { failures: 4, failures_transient: 3, failures_rate_limited: 1, failovers: 4, circuitOpens: 1 },
      ],
      ['openai#*', { noHealthy: 2 }],
    ]);

    const { body, contentType } = await renderPrometheus(summary, totals);
    const families = parsePrometheusTextFormat(body);
    const family = (name: string) => families.find((f) => f.name === name);

    expect(contentType).toContain('text/plain');
    expect(family('llm_gateway_circuit_state')?.type).toBe('GAUGE');
    expect(family('llm_gateway_circuit_state')?.metrics).toEqual(
      expect.arrayContaining([
        { labels: { instance: 'openai-primary', provider: 'openai' }, value: '0' },
        { labels: { instance: 'gemini-main', provider: 'gemini' }, value: '2' },
      ]),
    );
    expect(family('llm_gateway_consecutive_failures')?.metrics).toContainEqual({
      labels: { instance: 'gemini-main', provider: 'gemini' },
      value: '5',
    });
    expect(family('llm_gateway_failures_total')?.type).toBe('COUNTER');
    expect(family('llm_gateway_failures_total')?.metrics).toContainEqual({
      labels: { instance: 'openai-primary', provider: 'openai', class: 'transient' },
      value: '3',
    });
    expect(family('llm_gateway_failovers_total')?.metrics).toContainEqual({
      labels: { instance: 'openai-primary', provider: 'openai' },
      value: '4',
    });
    expect(family('llm_gateway_circuit_opens_total')?.metrics).toContainEqual({
      labels: { instance: 'openai-primary', provider: 'openai' },
      value: '1',
    });
    expect(family('llm_gateway_no_healthy_instance_total')?.metrics).toContainEqual({
      labels: { provider: 'openai' },
      value: '2',
    });
    expect(body).not.toContain('sk-never-shown');
  });
});
