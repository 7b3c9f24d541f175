// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the tests write ${VAR} references into YAML on purpose.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliIo, runCli } from '../../local/cli';

const GATEWAY_KEY = 'gw-secret-abcdef123456';
const OPENAI_KEY = 'sk-secret-123456789';
const ANTHROPIC_KEY = 'sk-ant-secret-987654321';
const SECRETS = [GATEWAY_KEY, OPENAI_KEY, ANTHROPIC_KEY, 'other-gw-key-5555', 'url-token-xyz', 'hunter2pw'];

function cli(env: CliIo['env'] = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env };
  return {
    run: (...argv: string[]) => runCli(argv, io),
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe('llm-gateway (usage)', () => {
  it('prints help with the three commands and exits 0', async () => {
    const c = cli();
    expect(await c.run('--help')).toBe(0);
    expect(c.stdout()).toContain('Usage: llm-gateway');
    for (const command of ['stats', 'test', 'start']) expect(c.stdout()).toContain(command);
  });

  it('exits 2 on an unknown command or option (never 1, which `stats` uses for "down")', async () => {
    const c = cli();
    expect(await c.run('bogus')).toBe(2);
    expect(c.stderr()).toContain("unknown command 'bogus'");
    expect(await cli().run('stats', '--nope')).toBe(2);
  });
});

describe('llm-gateway test', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'llm-gateway-cli-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    jest.restoreAllMocks();
  });

  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  const VALID = `
apiKeys:
  - name: app-1
    key: ${GATEWAY_KEY}
  - name: app-2
    key: \${OTHER_GATEWAY_KEY}
routing:
  defaultProvider: openai
  rules: { "gpt-": openai, "claude-": anthropic }
providers:
  openai:
    - name: openai-primary
      baseUrl: https://user:hunter2pw@api.openai.com/v1/?token=url-token-xyz
      apiKey: ${OPENAI_KEY}
      priority: 1
      weight: 70
      requestTimeoutSeconds: 120
      firstByteTimeoutSeconds: 15
    - name: openai-backup
      baseUrl: https://backup.example.com
      apiKey: \${OPENAI_BACKUP_KEY}
      priority: 2
      enabled: false
  anthropic:
    - name: anthropic-primary
      baseUrl: https://api.anthropic.com
      apiKey: ${ANTHROPIC_KEY}
breaker:
  failureThreshold: 4
  failureWindowSeconds: 45
  initialBackoffSeconds: 0.5
  maxBackoffSeconds: 8
retry:
  maxAttempts: 5
`;
  const ENV = { OTHER_GATEWAY_KEY: 'other-gw-key-5555', OPENAI_BACKUP_KEY: 'sk-secret-123456789-backup' };

  it('validates a config and prints a summary without any key', async () => {
    const path = write('gateway.yaml', VALID);
    const c = cli(ENV);
    expect(await c.run('test', '--config', path)).toBe(0);
    const out = c.stdout();
    expect(c.stderr()).toBe('');
    expect(out).toContain(`Config OK: ${path}`);
    for (const name of ['openai-primary', 'openai-backup', 'anthropic-primary']) expect(out).toContain(name);
    expect(out).toContain('openai (2 instances)');
    expect(out).toContain('anthropic (1 instance)');
    expect(out).toContain('"claude-" -> anthropic');
    expect(out).toContain('"gpt-" -> openai');
    expect(out).toContain('default provider: openai');
    expect(out).toContain('priority 1, weight 70, timeouts: request 120s, first byte 15s, enabled');
    expect(out).toMatch(/openai-backup\n.*\n.*priority 2, .*disabled/);
    expect(out).toContain('baseUrl: https://api.openai.com/v1\n'); // userinfo and query stripped
    expect(out).toContain('opens after 4 failures within 45s');
    expect(out).toContain('backoff 0.5s x2 up to 8s, jitter ±20%');
    expect(out).toContain('max 5 attempts per request');
    expect(out).toContain('Gateway keys: 2 (app-1, app-2)');
    expectNoSecret(out);
    expect(out).not.toContain(ENV.OPENAI_BACKUP_KEY);
  });

  it('finds the config through GATEWAY_CONFIG, else ./gateway.yaml in the working directory', async () => {
    const path = write('custom.yaml', VALID);
    const fromEnv = cli({ ...ENV, GATEWAY_CONFIG: path });
    expect(await fromEnv.run('test')).toBe(0);
    expect(fromEnv.stdout()).toContain(`Config OK: ${path}`);

    const local = write('gateway.yaml', VALID);
    jest.spyOn(process, 'cwd').mockReturnValue(dir);
    const fromCwd = cli(ENV);
    expect(await fromCwd.run('test')).toBe(0);
    expect(fromCwd.stdout()).toContain(`Config OK: ${local}`);
  });

  it('says when there are no gateway keys', async () => {
    const path = write('gateway.yaml', VALID.replace(/apiKeys:[\s\S]*?routing:/, 'routing:'));
    const c = cli(ENV);
    expect(await c.run('test', '--config', path)).toBe(0);
    expect(c.stdout()).toContain('Gateway keys: none');
  });

  const INVALID: [kind: string, yaml: string, path: string, detail: RegExp][] = [
    [
      'bad YAML',
      `providers:\n  openai:\n    - name: a\n      apiKey: ${OPENAI_KEY}\n      baseUrl: [unclosed\n`,
      '<root>',
      /Invalid YAML .* at line \d+, column \d+/,
    ],
    [
      'an unknown provider type',
      `providers:\n  cohere:\n    - name: c\n      baseUrl: https://api.cohere.ai\n      apiKey: ${OPENAI_KEY}\n`,
      'providers.cohere',
      /unknown key/,
    ],
    [
      'a negative breaker.failureThreshold',
      `providers:\n  openai:\n    - name: a\n      baseUrl: https://api.openai.com\n      apiKey: ${OPENAI_KEY}\nbreaker:\n  failureThreshold: -1\n`,
      'breaker.failureThreshold',
      /got -1/,
    ],
    [
      'an instance without a name',
      `providers:\n  openai:\n    - baseUrl: https://api.openai.com\n      apiKey: ${OPENAI_KEY}\n`,
      'providers.openai[0].name',
      /required/,
    ],
    [
      'an unset ${ENV} reference',
      `providers:\n  openai:\n    - name: a\n      baseUrl: https://api.openai.com\n      apiKey: \${NOT_SET_ANYWHERE}\n`,
      'providers.openai[0].apiKey',
      /environment variable NOT_SET_ANYWHERE is not set/,
    ],
    [
      'a wrong-typed gateway key',
      `apiKeys:\n  - name: app\n    key: sha256:${GATEWAY_KEY}\nproviders:\n  openai:\n    - name: a\n      baseUrl: https://api.openai.com\n      apiKey: ${OPENAI_KEY}\n`,
      'apiKeys[0].key',
      /sha256: key must be followed by 64 hex digits/,
    ],
  ];

  it.each(INVALID)('rejects %s naming the path, without printing a key', async (_kind, yaml, issuePath, detail) => {
    const path = write('gateway.yaml', yaml);
    const c = cli();
    expect(await c.run('test', '--config', path)).toBe(1);
    expect(c.stdout()).toBe('');
    const lines = c.stderr().split('\n');
    expect(lines[0]).toBe(`Invalid config: ${path}`);
    const issue = lines.find((line) => line.startsWith(`  - ${issuePath}: `));
    expect(issue).toBeDefined();
    expect(issue).toMatch(detail);
    expectNoSecret(c.stderr());
  });

  it('rejects a missing file', async () => {
    const path = join(dir, 'nope.yaml');
    const c = cli();
    expect(await c.run('test', '--config', path)).toBe(1);
    expect(c.stderr()).toBe(`Invalid config: ${path}\n  - <root>: config file not found: ${path}\n`);
  });
});

describe('llm-gateway stats', () => {
  const KEY = 'test-key';
  type Instance = { name: string; provider: string; state: string; failures: number; retryInS: number | null };
  let instances: Instance[];
  let status: number | null; // force this status on every request
  let requests: { url: string; headers: IncomingHttpHeaders }[];
  let server: Server;
  let url: string;

  const isDown = (i: Instance) => i.state === 'open' && i.retryInS !== null && i.retryInS > 0;
  const statsJson = () => {
    const now = Date.now();
    const entries = instances.map((i) => ({
      name: i.name,
      provider: i.provider,
      state: i.state,
      consecutiveFailures: i.failures,
      retryAt: i.retryInS === null ? null : new Date(now + i.retryInS * 1000).toISOString(),
      lastFailureClass: i.failures > 0 ? 'server_error' : null,
      counts: { lastHour: { failures: i.failures }, last24h: { failures: i.failures } },
    }));
    const down = instances.filter(isDown).length;
    const recovering = instances.filter((i) => i.state === 'half_open').length;
    return {
      instances: entries,
      overall: { total: instances.length, healthy: instances.length - down - recovering, recovering, down },
    };
  };
  const statsText = () => {
    const summary = statsJson();
    const lines = instances.map((i) => {
      const label = isDown(i) ? '🔴 Unhealthy ' : i.state === 'half_open' ? '🟡 Recovering' : '✅ Healthy   ';
      const detail = isDown(i) ? `${i.failures} failures, retry in ${i.retryInS}s` : `${i.failures} failures`;
      return `  ${i.name.padEnd(30)} ${label}   (${detail})`;
    });
    const o = summary.overall;
    return `Provider Health Status:\n${lines.join('\n')}\n\nOverall: ${o.healthy}/${o.total} healthy, ${o.recovering} recovering, ${o.down} down\n`;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      if (status !== null) {
        res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"boom"}');
      } else if (req.headers.authorization !== `Bearer ${KEY}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"invalid key"}}');
      } else if (req.url === '/stats?format=text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(statsText());
      } else if (req.url === '/stats') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(statsJson()));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    status = null;
    requests = [];
    instances = [
      { name: 'openai-primary', provider: 'openai', state: 'closed', failures: 0, retryInS: null },
      { name: 'anthropic-primary', provider: 'anthropic', state: 'closed', failures: 1, retryInS: null },
    ];
  });

  it('prints the server-rendered table and exits 0 when nothing is down', async () => {
    const c = cli();
    expect(await c.run('stats', '--url', url, '--key', KEY)).toBe(0);
    expect(c.stdout()).toBe(statsText());
    expect(c.stdout()).toContain('Overall: 2/2 healthy, 0 recovering, 0 down');
    expect(c.stderr()).toBe('');
    expect(requests.map((r) => r.url)).toEqual(['/stats?format=text', '/stats']);
    expect(requests[0].headers.accept).toBe('text/plain');
    expect(requests[1].headers.accept).toBe('application/json');
    for (const r of requests) expect(r.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('takes the key from GATEWAY_KEY and the port from PORT by default', async () => {
    const c = cli({ GATEWAY_KEY: KEY, PORT: new URL(url).port });
    expect(await c.run('stats')).toBe(0);
    expect(c.stdout()).toContain('Provider Health Status:');
  });

  it('exits 1 when an instance is down, still printing the table', async () => {
    instances[1] = { ...instances[1], state: 'open', failures: 5, retryInS: 480 };
    const c = cli();
    expect(await c.run('stats', '--url', `${url}/`, '--key', KEY)).toBe(1);
    expect(c.stdout()).toContain('anthropic-primary              🔴 Unhealthy    (5 failures, retry in 480s)');
    expect(c.stdout()).toContain('Overall: 1/2 healthy, 0 recovering, 1 down');
  });

  it('exits 0 when an instance is only recovering (half-open)', async () => {
    instances[0] = { ...instances[0], state: 'half_open', failures: 3, retryInS: null };
    expect(await cli().run('stats', '--url', url, '--key', KEY)).toBe(0);
  });

  it('--json prints the JSON pretty and exits by the same rule', async () => {
    const healthy = cli();
    expect(await healthy.run('stats', '--url', url, '--key', KEY, '--json')).toBe(0);
    expect(JSON.parse(healthy.stdout())).toEqual({
      instances: [expect.objectContaining({ name: 'openai-primary' }), expect.objectContaining({ retryAt: null })],
      overall: { total: 2, healthy: 2, recovering: 0, down: 0 },
    });
    expect(healthy.stdout()).toContain('\n  "instances": [');
    expect(requests.map((r) => r.url)).toEqual(['/stats']);

    instances[0] = { ...instances[0], state: 'open', failures: 3, retryInS: 60 };
    const down = cli();
    expect(await down.run('stats', '--url', url, '--key', KEY, '--json')).toBe(1);
    expect(JSON.parse(down.stdout()).overall.down).toBe(1);
  });

  it('exits 2 with a clear message when the key is rejected (401) or missing', async () => {
    for (const argv of [['--key', 'wrong-key'], []]) {
      const c = cli();
      expect(await c.run('stats', '--url', url, ...argv)).toBe(2);
      expect(c.stdout()).toBe('');
      expect(c.stderr()).toBe(`Gateway at ${url} rejected the key (401): pass --key or set GATEWAY_KEY\n`);
    }
  });

  it('exits 2 on any other non-2xx, printing status and body', async () => {
    status = 503;
    const c = cli();
    expect(await c.run('stats', '--url', url, '--key', KEY, '--json')).toBe(2);
    expect(c.stderr()).toContain('answered 503 Service Unavailable to GET /stats');
    expect(c.stderr()).toContain('{"error":"boom"}');
  });

  it('exits 2 when nothing listens on the port', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const c = cli();
    expect(await c.run('stats', '--url', `http://127.0.0.1:${port}`, '--key', KEY)).toBe(2);
    expect(c.stdout()).toBe('');
    expect(c.stderr()).toContain(`Gateway at http://127.0.0.1:${port} is unreachable`);
    expect(c.stderr()).toContain('connection refused');
  });

  it('exits 2 when /stats answers JSON without the overall counts', async () => {
    const fakeFetch: typeof fetch = async () => new Response('{"hello":"world"}', { status: 200 });
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['stats', '--json'], {
      stdout: (s) => out.push(s),
      stderr: (s) => err.push(s),
      env: {},
      fetch: fakeFetch,
    });
    expect(code).toBe(2);
    expect(err.join('')).toContain('without instances/overall counts');
  });

  it('exits 2 on an invalid --url', async () => {
    const c = cli();
    expect(await c.run('stats', '--url', 'not a url')).toBe(2);
    expect(c.stderr()).toContain('Invalid --url');
  });
});
