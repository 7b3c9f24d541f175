import { APIError } from 'openai';
import { allEvents } from '../support/dynamo';
import { chat, FAST_BREAKER_YAML, type Harness, pause, startHarness } from '../support/gateway-harness';

describe('failover through the local runtime, called with the official OpenAI SDK', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('serves every request from the backup while the primary is down, probes it once per backoff, and closes on recovery', async () => {
    h = await startHarness({ primary: { kind: 'status', status: 503 } });

    // Three failures open the primary's circuit; every client request is still answered, by the backup.
    for (let i = 0; i < 3; i++) {
      const answer = await chat(h.openai);
      expect(answer.instance).toBe('backup');
      expect(answer.attempts).toBe(2);
      expect(answer.text).toBe('Hello from backup');
    }
    expect(h.primary.hits).toHaveLength(3);

    // Open: the primary receives no traffic at all.
    for (let i = 0; i < 5; i++) expect((await chat(h.openai)).attempts).toBe(1);
    expect(h.primary.hits).toHaveLength(3);

    // After the 0.4 s backoff, exactly one of several concurrent requests probes it (and fails: it reopens).
    await pause(450);
    const concurrent = await Promise.all(Array.from({ length: 6 }, () => chat(h.openai)));
    expect(concurrent.every((a) => a.instance === 'backup')).toBe(true);
    expect(h.primary.hits).toHaveLength(4);

    // It recovers; after the (doubled, 0.8 s) backoff two successful probes close the circuit.
    h.primary.behave({ kind: 'ok' });
    await pause(850);
    expect((await chat(h.openai)).instance).toBe('primary');
    expect((await chat(h.openai)).instance).toBe('primary');
    const record = (await h.runtime.deps.breaker.view(['primary'])).get('primary');
    expect(record?.circuit.state).toBe('closed');

    const events = (await allEvents(h.admin, h.tables)).filter((e) => e.instance === 'primary');
    expect(events.filter((e) => e.type === 'circuit_open')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'circuit_half_open')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'circuit_closed')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'failure')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'failover').length).toBeGreaterThanOrEqual(4);
    const lines = h.log.lines.map((l) => l.message);
    expect(lines).toContain('Failure recorded (1/3) - instance: primary');
    expect(lines.some((l) => l.startsWith('Circuit opened due to 3 consecutive failures - instance: primary'))).toBe(
      true,
    );
    expect(lines).toContain('Circuit half-open (testing recovery) - instance: primary');
    expect(lines).toContain('Circuit closed after 2 consecutive successes - instance: primary');
  });

  it('with breaker.holdBackSeconds, sends requests to the backup after a primary failure until the hold-back ends', async () => {
    h = await startHarness({
      primary: { kind: 'status', status: 503 },
      extraYaml: FAST_BREAKER_YAML.replace('probeLeaseSeconds: 2', 'probeLeaseSeconds: 2\n  holdBackSeconds: 1'),
    });

    // The first request fails on the primary and is served by the backup; the next ones skip the primary.
    const first = await chat(h.openai);
    const next = [await chat(h.openai), await chat(h.openai), await chat(h.openai)];
    const hitsDuringHoldBack = h.primary.hits.length;

    // Once the hold-back (1 s, up to 1.5 s as drawn) has passed, one request tries the primary again (and fails: held
    // back again).
    await pause(1600);
    const afterHoldBack = await chat(h.openai);
    const again = await chat(h.openai);

    expect(first).toMatchObject({ instance: 'backup', attempts: 2 });
    expect(next.map((a) => [a.instance, a.attempts])).toEqual([
      ['backup', 1],
      ['backup', 1],
      ['backup', 1],
    ]);
    expect(hitsDuringHoldBack).toBe(1);
    expect(afterHoldBack).toMatchObject({ instance: 'backup', attempts: 2 });
    expect(again).toMatchObject({ instance: 'backup', attempts: 1 });
    expect(h.primary.hits).toHaveLength(2);
    const record = (await h.runtime.deps.breaker.view(['primary'])).get('primary');
    expect(record).toMatchObject({ circuit: { state: 'closed' }, consecutiveFailures: 2 });
  });

  it('fails over at once on a 429 and leaves the primary alone until its Retry-After has passed', async () => {
    h = await startHarness({ primary: { kind: 'status', status: 429, headers: { 'retry-after': '1' } } });

    const first = await chat(h.openai);
    const limitedAt = h.primary.hits[0].at;
    expect(first.instance).toBe('backup');
    expect(first.attempts).toBe(2);
    const record = (await h.runtime.deps.breaker.view(['primary'])).get('primary');
    expect(record?.cooldownUntil).toBeGreaterThanOrEqual(limitedAt + 900);

    // While it cools down, requests go straight to the backup.
    h.primary.behave({ kind: 'ok' });
    const during: string[] = [];
    while (Date.now() < limitedAt + 800) during.push((await chat(h.openai)).instance ?? '');
    expect(during.length).toBeGreaterThan(0);
    expect(new Set(during)).toEqual(new Set(['backup']));
    expect(h.primary.hits).toHaveLength(1);

    // Once it has passed, the primary is preferred again.
    await pause(Math.max(0, limitedAt + 1100 - Date.now()));
    expect((await chat(h.openai)).instance).toBe('primary');
    const rateLimited = (await allEvents(h.admin, h.tables)).filter((e) => e.type === 'rate_limited');
    expect(rateLimited).toHaveLength(1);
    expect(rateLimited[0].httpStatus).toBe(429);
  });

  it('answers 503 in OpenAI format with Retry-After when every instance is down', async () => {
    h = await startHarness({ primary: { kind: 'status', status: 500 }, backup: { kind: 'status', status: 502 } });

    const error = await h.openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(APIError);
    const apiError = error as APIError;
    expect(apiError.status).toBe(503);
    expect(Number(apiError.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(apiError.headers?.get('x-gateway-attempts')).toBe('2');
    expect((apiError.error as { code?: string }).code).toBe('no_healthy_instance');
    expect(apiError.message).toContain('primary');
    expect(apiError.message).not.toContain('sk-test');
  });

  it('fails over when the primary does not send a first byte in time', async () => {
    h = await startHarness({ primary: { kind: 'hang' } });

    const answer = await chat(h.openai);

    expect(answer.instance).toBe('backup');
    expect(answer.attempts).toBe(2);
    const failure = (await allEvents(h.admin, h.tables)).find((e) => e.type === 'failure');
    expect(failure?.failureClass).toBe('instance_failure');
    expect(failure?.message).toContain('no first byte within 500 ms');
  });

  it('returns a business error unchanged without failing over or counting it', async () => {
    const body = JSON.stringify({
      error: { message: 'context too long', type: 'invalid_request_error', code: 'context_length_exceeded' },
    });
    h = await startHarness({ primary: { kind: 'status', status: 400, body } });

    const error = (await h.openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e)) as APIError;

    expect(error.status).toBe(400);
    expect((error.error as { code?: string }).code).toBe('context_length_exceeded');
    expect(h.backup.hits).toHaveLength(0);
    expect((await h.runtime.deps.breaker.view(['primary'])).get('primary')?.consecutiveFailures).toBe(0);
  });

  it('forwards the instance key upstream and never the client key', async () => {
    h = await startHarness();

    await chat(h.openai);

    expect(h.primary.hits[0].headers.authorization).toBe('Bearer sk-test-primary-0123456789');
    expect(h.primary.hits[0].path).toBe('/v1/chat/completions');
    expect(JSON.parse(h.primary.hits[0].body).messages[0].content).toBe('Hello');
    expect(h.log.text()).not.toContain('sk-test');
  });
});
