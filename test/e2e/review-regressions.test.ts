import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { FakeProvider } from '../../local/fake-provider';
import { type LocalRuntime, startLocalRuntime } from '../../local/local-runtime';
import { parseConfig } from '../../shared/config/load-config';
import type { GatewayRequest } from '../../shared/gateway/gateway-http';
import { handleProxyRequest } from '../../shared/gateway/proxy-service';
import { MemoryLog } from '../../shared/observability/log';
import type { BreakerRecord } from '../../shared/resilience/breaker-record';
import { DynamoBreakerStore } from '../../shared/store/dynamo-breaker-store';
import type { TableNames } from '../../shared/store/table-definitions';
import { allEvents, dynamoEndpoint, freshTables, localClient } from '../support/dynamo';
import { FAST_BREAKER_YAML, type Harness, startHarness, twoInstanceYaml } from '../support/gateway-harness';

/** Regression tests for the defects of the code review, through the local runtime. */

/** Every client call is cut off after this (ms): a regression fails fast instead of hanging the suite. */
const CLIENT_TIMEOUT_MS = 4_000;

const CHAT_BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] });

/** The stored breaker records of `instances`, read straight from DynamoDB Local. */
async function storedRecords(h: Pick<Harness, 'admin' | 'tables'>, ...instances: string[]) {
  return new DynamoBreakerStore(h.admin, h.tables).load(instances);
}

function postChat(url: string, body: string = CHAT_BODY): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
  });
}

/** A POST sent with `Expect: 100-continue`: the body goes out only once the server has answered 100 Continue. */
function postExpectingContinue(
  url: string,
  body: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string; continued: boolean }> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = httpRequest(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        expect: '100-continue',
      },
    });
    req.setTimeout(CLIENT_TIMEOUT_MS, () => req.destroy(new Error('client timeout')));
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          continued,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('review regressions through the local runtime', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('serves a request sent with Expect: 100-continue, counting no failure against any instance', async () => {
    h = await startHarness();

    const res = await postExpectingContinue(`${h.runtime.url}/v1/chat/completions`, CHAT_BODY);

    expect(res.continued).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-instance']).toBe('primary');
    expect(res.headers['x-gateway-attempts']).toBe('1');
    expect(JSON.parse(res.body).choices[0].message.content).toBe('Hello from primary');
    expect(h.primary.hits).toHaveLength(1);
    expect(h.primary.hits[0].headers.expect).toBeUndefined();
    expect(h.backup.hits).toHaveLength(0);
    const records = await storedRecords(h, 'primary', 'backup');
    expect(records.get('primary')).toMatchObject({ version: 0, consecutiveFailures: 0 });
    expect(records.get('backup')).toMatchObject({ version: 0, consecutiveFailures: 0 });
    expect((await allEvents(h.admin, h.tables)).filter((e) => e.type === 'failure')).toEqual([]);
  });

  it('answers 400 invalid_header in OpenAI format for a header value outside Latin-1, without any upstream call', async () => {
    h = await startHarness();
    const request: GatewayRequest = {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', 'x-custom': 'caf\u00e9\u2603' },
      query: {},
      body: Buffer.from(CHAT_BODY),
      requestId: `req-${randomUUID()}`,
      remainingMs: 20_000,
    };

    const response = await handleProxyRequest(request, h.runtime.deps);

    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/json');
    expect(typeof response.body).toBe('string');
    const body = JSON.parse(response.body as string);
    expect(body).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_header' },
    });
    expect(h.primary.hits).toHaveLength(0);
    expect(h.backup.hits).toHaveLength(0);
    const records = await storedRecords(h, 'primary', 'backup');
    expect(records.get('primary')).toMatchObject({ version: 0, consecutiveFailures: 0 });
    expect(records.get('backup')).toMatchObject({ version: 0, consecutiveFailures: 0 });
    const view = await h.runtime.deps.breaker.view(['primary', 'backup']);
    expect([...view.values()].map((r: BreakerRecord) => r.consecutiveFailures)).toEqual([0, 0]);
  });

  it('does not count the gateway running out of its own request budget mid-stream against the instance', async () => {
    const content = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    h = await startHarness({
      primary: { kind: 'ok', content, eventDelayMs: 50 },
      extraYaml: FAST_BREAKER_YAML.replace('totalTimeoutSeconds: 20', 'totalTimeoutSeconds: 1.5'),
    });
    expect(h.runtime.deps.config.retry.totalTimeoutSeconds).toBe(1.5);

    const res = await postChat(
      h.runtime.url,
      JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Hello' }] }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-instance')).toBe('primary');
    const text = await res.text();

    // The stream started, then ended with the gateway's error event rather than its proper end.
    expect(text).toContain('word0');
    expect(text).not.toContain('word59');
    expect(text).not.toContain('[DONE]');
    const dataLines = text
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice('data: '.length));
    expect(JSON.parse(dataLines.at(-1) as string)).toMatchObject({ error: { code: 'upstream_stream_failure' } });
    // ...and the instance was not blamed for it.
    const records = await storedRecords(h, 'primary');
    expect(records.get('primary')?.consecutiveFailures).toBe(0);
    expect(records.get('primary')?.lastFailureClass).toBeNull();
    const view = await h.runtime.deps.breaker.view(['primary']);
    expect(view.get('primary')?.consecutiveFailures).toBe(0);
    expect(
      (await allEvents(h.admin, h.tables)).filter((e) => e.type === 'failure' || e.type === 'circuit_open'),
    ).toEqual([]);
  });

  it('cuts a non-streaming body that broke midway instead of ending it cleanly with text appended', async () => {
    h = await startHarness({ primary: { kind: 'cut', afterEvents: 1 } });

    const res = await postChat(h.runtime.url);

    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });
});

describe('an upstream error body that stalls', () => {
  let runtime: LocalRuntime | undefined;
  let stalled: Server | undefined;
  let backup: FakeProvider | undefined;
  const sockets = new Set<Socket>();
  const admin = localClient();

  afterEach(async () => {
    await runtime?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (stalled ? stalled.close(() => resolve()) : resolve()));
    await backup?.close();
    runtime = undefined;
    stalled = undefined;
    backup = undefined;
  });

  afterAll(() => admin.destroy());

  it('is failed over after about the first-byte timeout: the backup answers, at the second attempt', async () => {
    // The primary sends a 503 head and part of its error body, then never ends it.
    let primaryHits = 0;
    stalled = createServer((req, res) => {
      primaryHits++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      res.write('{"error":{"message":"overloaded, please try ');
    });
    stalled.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => stalled?.listen(0, '127.0.0.1', resolve));
    const address = stalled.address();
    const stalledUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    backup = await FakeProvider.start('backup', { kind: 'ok' });
    const tables: TableNames = await freshTables(admin);
    runtime = await startLocalRuntime({
      config: parseConfig(twoInstanceYaml(`${stalledUrl}/v1`, `${backup.url}/v1`), {}),
      dynamoEndpoint: dynamoEndpoint(),
      tables,
      log: new MemoryLog(),
      createTables: false,
      pollStream: false,
    });
    expect(runtime.deps.config.retry.totalTimeoutSeconds).toBe(20);

    const res = await postChat(runtime.url);

    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-instance')).toBe('backup');
    expect(res.headers.get('x-gateway-attempts')).toBe('2');
    const answer = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(answer.choices[0].message.content).toBe('Hello from backup');
    expect(primaryHits).toBe(1);
    expect(backup.hits).toHaveLength(1);
    const record = (await new DynamoBreakerStore(admin, tables).load(['primary'])).get('primary');
    expect(record?.consecutiveFailures).toBe(1);
  });
});
