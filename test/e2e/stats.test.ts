import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { runCli } from '../../local/cli';
import type { HealthSummary, InstanceHealth } from '../../shared/stats/health-summary';
import { chat, FAST_BREAKER_YAML, type Harness, pause, startHarness } from '../support/gateway-harness';

/** What the gateway says about its health, through every surface, at one moment. */
async function look(h: Harness) {
  await h.runtime.poller?.drain(10_000);
  const get = (path: string, accept = 'application/json') => fetch(`${h.runtime.url}${path}`, { headers: { accept } });
  const json = (await (await get('/stats')).json()) as HealthSummary;
  const text = await (await get('/stats', 'text/plain')).text();
  const healthRes = await get('/health');
  const metrics = parsePrometheusTextFormat(await (await get('/metrics')).text());
  const out: string[] = [];
  const exitCode = await runCli(['stats', '--url', h.runtime.url], {
    stdout: (s) => out.push(s),
    stderr: (s) => out.push(s),
    env: {},
  });
  const metric = (name: string, instance: string, extra: Record<string, string> = {}) =>
    metrics
      .find((f) => f.name === name)
      ?.metrics.find(
        (m) => m.labels?.instance === instance && Object.entries(extra).every(([k, v]) => m.labels?.[k] === v),
      )?.value;
  return {
    json,
    primary: json.instances.find((i) => i.name === 'primary') as InstanceHealth,
    text,
    health: { status: healthRes.status, body: await healthRes.json() },
    metric,
    cli: { exitCode, output: out.join('') },
  };
}

describe('the health summary follows a primary through failure, open, half-open and closed', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('says the same thing in /stats (JSON and text), /health, /metrics and `llm-gateway stats` at every stage', async () => {
    // A 2 s backoff: long enough that a slow machine cannot see the circuit go due mid-look.
    h = await startHarness({
      extraYaml: FAST_BREAKER_YAML.replace('initialBackoffSeconds: 0.4', 'initialBackoffSeconds: 2'),
    });

    // Healthy.
    await chat(h.openai);
    let seen = await look(h);
    expect(seen.primary).toMatchObject({ state: 'closed', status: 'healthy', consecutiveFailures: 0, retryAt: null });
    expect(seen.json.overall).toEqual({ total: 2, healthy: 2, recovering: 0, down: 0 });
    expect(seen.text).toContain('  primary                        ✅ Healthy      (0 failures)');
    expect(seen.text).toContain('Overall: 2/2 healthy, 0 recovering, 0 down');
    expect(seen.health.status).toBe(200);
    expect(seen.metric('llm_gateway_circuit_state', 'primary')).toBe('0');
    expect(seen.cli).toEqual({ exitCode: 0, output: seen.text });

    // Failing: three 503s open the circuit; the backup serves.
    h.primary.behave({ kind: 'status', status: 503 });
    for (let i = 0; i < 3; i++) await chat(h.openai);
    seen = await look(h);
    expect(seen.primary).toMatchObject({
      state: 'open',
      status: 'down',
      consecutiveFailures: 3,
      lastFailureClass: 'transient',
    });
    expect(seen.primary.retryAt).not.toBeNull();
    expect(seen.primary.counts.lastHour).toMatchObject({ failures: 3, failovers: 3, circuitOpens: 1 });
    expect(seen.primary.counts.lastHour.failuresByClass).toEqual({ transient: 3 });
    expect(seen.primary.counts.last24h.failures).toBe(3);
    expect(seen.json.overall).toEqual({ total: 2, healthy: 1, recovering: 0, down: 1 });
    expect(seen.text).toMatch(/ {2}primary {24}🔴 Unhealthy {4}\(3 failures, retry in \d+s\)/);
    expect(seen.text).toContain('Overall: 1/2 healthy, 0 recovering, 1 down');
    expect(seen.health.status).toBe(200); // the backup still admits traffic
    expect(seen.metric('llm_gateway_circuit_state', 'primary')).toBe('2');
    expect(seen.metric('llm_gateway_consecutive_failures', 'primary')).toBe('3');
    expect(seen.metric('llm_gateway_failures_total', 'primary', { class: 'transient' })).toBe('3');
    expect(seen.metric('llm_gateway_failovers_total', 'primary')).toBe('3');
    expect(seen.metric('llm_gateway_circuit_opens_total', 'primary')).toBe('1');
    expect(seen.cli.exitCode).toBe(1);
    expect(seen.cli.output.replace(/retry in \d+s/, '')).toBe(seen.text.replace(/retry in \d+s/, ''));

    // Half-open: after the backoff the recovered primary answers one probe.
    h.primary.behave({ kind: 'ok' });
    await pause(Math.max(0, Date.parse(seen.primary.retryAt ?? '') - Date.now() + 100));
    expect((await chat(h.openai)).instance).toBe('primary');
    seen = await look(h);
    expect(seen.primary).toMatchObject({ state: 'half_open', status: 'recovering' });
    expect(seen.text).toContain('  primary                        🟡 Recovering   (testing recovery)');
    expect(seen.text).toContain('Overall: 1/2 healthy, 1 recovering, 0 down');
    expect(seen.metric('llm_gateway_circuit_state', 'primary')).toBe('1');
    expect(seen.cli.exitCode).toBe(0);

    // Closed after a second success.
    await chat(h.openai);
    seen = await look(h);
    expect(seen.primary).toMatchObject({ state: 'closed', status: 'healthy', consecutiveFailures: 0 });
    expect(seen.primary.counts.lastHour.circuitOpens).toBe(1);
    expect(seen.primary.counts.lastHour.secondsOpen).toBeGreaterThanOrEqual(0);
    expect(seen.text).toContain('Overall: 2/2 healthy, 0 recovering, 0 down');
    expect(seen.metric('llm_gateway_circuit_state', 'primary')).toBe('0');
    expect(seen.cli).toEqual({ exitCode: 0, output: seen.text });
  });

  it('answers /health 503 once no instance of a provider admits traffic', async () => {
    h = await startHarness({ primary: { kind: 'status', status: 500 }, backup: { kind: 'status', status: 500 } });

    for (let i = 0; i < 3; i++)
      await h.openai.chat.completions.create({ model: 'gpt-4o', messages: [] }).catch(() => {});
    const res = await fetch(`${h.runtime.url}/health`);

    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      status: 'unhealthy',
      providers: { openai: { instances: 2, admitting: 0 } },
    });
  });
});
