// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the tests write ${VAR} references into YAML on purpose.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigError, isConfigError } from '../../shared/config/config-error';
import {
  allInstances,
  instancesOf,
  loadConfigFile,
  parseConfig,
  providerForModel,
  resolveConfigPath,
} from '../../shared/config/load-config';

/** The SPEC §3 example, with openai and gemini instances filled in. */
const SPEC_EXAMPLE = `
apiKeys:
  - name: app-1
    key: \${GATEWAY_KEY}
routing:
  defaultProvider: openai
  rules: { "gpt-": openai, "claude-": anthropic, "gemini-": gemini }
providers:
  anthropic:
    - name: anthropic-primary
      baseUrl: https://api.anthropic.com
      apiKey: \${ANTHROPIC_API_KEY}
      priority: 1
      weight: 100
      requestTimeoutSeconds: 300
      firstByteTimeoutSeconds: 30
    - name: anthropic-backup
      baseUrl: https://api.anthropic.com
      apiKey: \${ANTHROPIC_BACKUP_KEY}
      priority: 2
  openai:
    - name: openai-primary
      baseUrl: https://api.openai.com/v1/
      apiKey: \${OPENAI_API_KEY}
  gemini:
    - name: gemini-main
      baseUrl: https://generativelanguage.googleapis.com
      apiKey: \${GEMINI_API_KEY}
breaker:
  failureThreshold: 3
  failureWindowSeconds: 60
  successThreshold: 2
  initialBackoffSeconds: 60
  maxBackoffSeconds: 600
  backoffMultiplier: 2
  jitterRatio: 0.2
retry:
  maxAttempts: 3
  rateLimitMaxDelaySeconds: 60
`;

const ENV = {
  GATEWAY_KEY: 'gw-test-key',
  ANTHROPIC_API_KEY: 'sk-ant-primary',
  ANTHROPIC_BACKUP_KEY: 'sk-ant-backup',
  OPENAI_API_KEY: 'sk-openai',
  GEMINI_API_KEY: 'gemini-key',
};

/** A minimal valid config; `extra` is appended as more top-level YAML. */
function minimal(extra = '', instanceExtra = ''): string {
  return `
providers:
  openai:
    - name: openai-primary
      baseUrl: https://api.openai.com
      apiKey: sk-openai${instanceExtra}
${extra}`;
}

/** The ConfigError thrown by `act`; fails the test if nothing or something else is thrown. */
function configErrorOf(act: () => unknown): ConfigError {
  try {
    act();
  } catch (e) {
    if (isConfigError(e)) return e;
    throw e;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

describe('parseConfig', () => {
  describe('a valid config', () => {
    it('parses the SPEC §3 example with env vars substituted and defaults applied', () => {
      const config = parseConfig(SPEC_EXAMPLE, ENV);

      expect(config.apiKeys).toEqual([{ name: 'app-1', key: 'gw-test-key' }]);
      expect(config.routing).toEqual({
        defaultProvider: 'openai',
        rules: { 'gpt-': 'openai', 'claude-': 'anthropic', 'gemini-': 'gemini' },
      });
      expect(config.providers.anthropic?.[1]).toEqual({
        name: 'anthropic-backup',
        baseUrl: 'https://api.anthropic.com',
        apiKey: 'sk-ant-backup',
        priority: 2,
        weight: 100,
        requestTimeoutSeconds: 300,
        firstByteTimeoutSeconds: 30,
        enabled: true,
      });
      expect(config.breaker).toEqual({
        failureThreshold: 3,
        failureWindowSeconds: 60,
        successThreshold: 2,
        initialBackoffSeconds: 60,
        maxBackoffSeconds: 600,
        backoffMultiplier: 2,
        jitterRatio: 0.2,
        probeLeaseSeconds: 30,
        cacheSeconds: 1,
        holdBackSeconds: 0,
      });
      expect(config.retry).toEqual({ maxAttempts: 3, rateLimitMaxDelaySeconds: 60, totalTimeoutSeconds: 300 });
      expect(config.store).toEqual({ timeoutSeconds: 0.5, sessionTtlSeconds: 3600 });
    });

    it('strips the trailing slash from a base URL', () => {
      const config = parseConfig(SPEC_EXAMPLE, ENV);

      expect(config.providers.openai?.[0].baseUrl).toBe('https://api.openai.com/v1');
    });

    it('fills every optional section with its defaults when only providers are given', () => {
      const config = parseConfig(minimal(), {});

      expect(config.apiKeys).toEqual([]);
      expect(config.routing).toEqual({ rules: {} });
      expect(config.breaker.failureThreshold).toBe(3);
      expect(config.retry.maxAttempts).toBe(3);
      expect(config.store.timeoutSeconds).toBe(0.5);
    });

    it('accepts decimal durations', () => {
      const config = parseConfig(minimal('breaker: { initialBackoffSeconds: 0.2, maxBackoffSeconds: 0.8 }'), {});

      expect(config.breaker.initialBackoffSeconds).toBe(0.2);
      expect(config.breaker.maxBackoffSeconds).toBe(0.8);
    });

    it('accepts a sha256 gateway key', () => {
      const digest = `sha256:${'ab'.repeat(32)}`;

      const config = parseConfig(minimal(`apiKeys: [{ name: app, key: "${digest}" }]`), {});

      expect(config.apiKeys[0].key).toBe(digest);
    });
  });

  describe('environment variables', () => {
    it('uses the ${VAR:-default} default when the variable is not set', () => {
      const yaml = minimal('', '\n      baseUrl: ${OPENAI_URL:-http://127.0.0.1:9001}').replace(
        '      baseUrl: https://api.openai.com\n',
        '',
      );

      const config = parseConfig(yaml, {});

      expect(config.providers.openai?.[0].baseUrl).toBe('http://127.0.0.1:9001');
    });

    it('prefers the variable over the default when it is set', () => {
      const yaml = minimal('apiKeys: [{ name: app, key: "${GATEWAY_KEY:-fallback}" }]');

      const config = parseConfig(yaml, { GATEWAY_KEY: 'from-env' });

      expect(config.apiKeys[0].key).toBe('from-env');
    });

    it('substitutes a variable inside a longer string and keeps $${ literal', () => {
      const yaml = minimal('', '\n      models: ["${PREFIX}-mini", "$${NOT_A_VAR}"]');

      const config = parseConfig(yaml, { PREFIX: 'gpt-4o' });

      expect(config.providers.openai?.[0].models).toEqual(['gpt-4o-mini', '${NOT_A_VAR}']);
    });

    it('names the path and the variable when a variable without default is not set', () => {
      const yaml = SPEC_EXAMPLE;
      const { OPENAI_API_KEY: _unset, ...env } = ENV;

      const error = configErrorOf(() => parseConfig(yaml, env));

      expect(error.message).toContain('providers.openai[0].apiKey: environment variable OPENAI_API_KEY is not set');
      expect(error.path).toBe('providers.openai[0].apiKey');
    });

    it('rejects a malformed variable reference', () => {
      const error = configErrorOf(() => parseConfig(minimal('', '\n      models: ["${1BAD}"]'), {}));

      expect(error.message).toContain('providers.openai[0].models[0]: malformed variable reference');
    });
  });

  describe('an invalid config', () => {
    it('reports bad YAML with its line', () => {
      const yaml = 'providers:\n  openai:\n    - name: a\n   baseUrl: [unclosed\n';

      const error = configErrorOf(() => parseConfig(yaml, {}, 'gateway.yaml'));

      expect(error.message).toMatch(/Invalid YAML in gateway\.yaml at line \d+, column \d+/);
      expect(error.path).toBe('');
    });

    it('names an unknown provider type', () => {
      const yaml = `${minimal()}  cohere:\n    - name: c\n      baseUrl: https://api.cohere.ai\n      apiKey: k\n`;

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain('providers.cohere: unknown key');
      expect(error.path).toBe('providers.cohere');
    });

    it('names a negative failureThreshold with its value', () => {
      const error = configErrorOf(() => parseConfig(minimal('breaker: { failureThreshold: -1 }'), {}));

      expect(error.message).toContain('breaker.failureThreshold: ');
      expect(error.message).toContain('(got -1)');
    });

    it('names a missing instance name', () => {
      const yaml = minimal().replace('    - name: openai-primary\n      baseUrl', '    - baseUrl');

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain('providers.openai[0].name: required, expected string (got undefined)');
      expect(error.path).toBe('providers.openai[0].name');
    });

    it('points at the second instance when a name is reused across providers', () => {
      const yaml = `${minimal()}  anthropic:\n    - name: openai-primary\n      baseUrl: https://api.anthropic.com\n      apiKey: k\n`;

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain('providers.anthropic[0].name: duplicate instance name');
      expect(error.message).toContain('(got "openai-primary")');
    });

    it('names a misspelled key with its full path', () => {
      const error = configErrorOf(() => parseConfig(minimal('breaker: { failureThreshhold: 5 }'), {}));

      expect(error.message).toContain('breaker.failureThreshhold: unknown key (got 5)');
    });

    it('rejects a routing rule to a provider without instances', () => {
      const error = configErrorOf(() => parseConfig(minimal('routing: { rules: { "claude-": anthropic } }'), {}));

      expect(error.message).toContain('routing.rules["claude-"]: provider "anthropic" has no instances configured');
    });

    it('rejects a default provider without instances', () => {
      const error = configErrorOf(() => parseConfig(minimal('routing: { defaultProvider: gemini }'), {}));

      expect(error.message).toContain('routing.defaultProvider: provider "gemini" has no instances configured');
    });

    it('rejects maxBackoffSeconds below initialBackoffSeconds', () => {
      const yaml = minimal('breaker: { initialBackoffSeconds: 120, maxBackoffSeconds: 60 }');

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain('breaker.maxBackoffSeconds: must be >= initialBackoffSeconds (120) (got 60)');
    });

    it('rejects a config with no provider instances', () => {
      const error = configErrorOf(() => parseConfig('providers: {}\n', {}));

      expect(error.message).toContain('providers: at least one provider instance is required');
    });

    it('rejects a non-http base URL', () => {
      const yaml = minimal().replace('https://api.openai.com', 'ftp://api.openai.com');

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain(
        'providers.openai[0].baseUrl: must be an http(s) URL (got "ftp://api.openai.com")',
      );
    });

    it('lists every issue, not just the first', () => {
      const yaml = minimal('breaker: { failureThreshold: 0 }\nretry: { maxAttempts: 0 }');

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.issues.map((issue) => issue.path)).toEqual(['breaker.failureThreshold', 'retry.maxAttempts']);
    });

    it('truncates long values to 60 characters', () => {
      const yaml = minimal().replace('openai-primary', `"${'x'.repeat(100)}!"`);

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain(`(got "${'x'.repeat(58)}…)`);
    });
  });

  describe('secrets in error messages', () => {
    const SECRET = 'sk-live-0123456789abcdef';

    it('never prints an invalid instance apiKey', () => {
      const yaml = minimal().replace('apiKey: sk-openai', 'apiKey: 12345');

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain('providers.openai[0].apiKey: ');
      expect(error.message).toContain('(got <redacted>)');
      expect(error.message).not.toContain('12345');
    });

    it('never prints an apiKey given as an object', () => {
      const yaml = minimal().replace('apiKey: sk-openai', `apiKey: { value: ${SECRET} }`);

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain('(got <redacted>)');
      expect(error.message).not.toContain(SECRET);
    });

    it('never prints an invalid gateway key', () => {
      const yaml = minimal(`apiKeys: [{ name: app, key: "sha256:${SECRET}" }]`);

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain('apiKeys[0].key: ');
      expect(error.message).not.toContain(SECRET);
    });

    it('redacts secrets inside a printed object and under a misspelled key', () => {
      const yaml = minimal('', `\n      apikey: ${SECRET}`).replace('      apiKey: sk-openai\n', '');

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain('providers.openai[0].apikey: unknown key (got <redacted>)');
      expect(error.message).not.toContain(SECRET);
    });

    it('never prints the source line of a YAML error', () => {
      const yaml = `providers:\n  openai:\n    - apiKey: "${SECRET}\n`;

      const error = configErrorOf(() => parseConfig(yaml, {}));

      expect(error.message).toContain('line');
      expect(error.message).not.toContain(SECRET);
    });
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads and parses a file, naming the file in errors', () => {
    const path = join(dir, 'gateway.yaml');
    writeFileSync(path, minimal('breaker: { failureThreshold: 0 }'));

    const error = configErrorOf(() => loadConfigFile(path, {}));

    expect(error.message).toContain(`Invalid gateway config in ${path}`);
  });

  it('names a missing file', () => {
    const path = join(dir, 'missing.yaml');

    const error = configErrorOf(() => loadConfigFile(path, {}));

    expect(error.message).toContain(`config file not found: ${path}`);
  });
});

describe('resolveConfigPath', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-cwd-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prefers GATEWAY_CONFIG, resolved against cwd', () => {
    writeFileSync(join(dir, 'gateway.yaml'), '');

    const resolved = resolveConfigPath({ GATEWAY_CONFIG: 'conf/custom.yaml' }, dir, '/demo.yaml');

    expect(resolved).toEqual({ path: join(dir, 'conf/custom.yaml'), source: 'GATEWAY_CONFIG' });
  });

  it('uses ./gateway.yaml when it exists', () => {
    writeFileSync(join(dir, 'gateway.yaml'), '');

    expect(resolveConfigPath({}, dir, '/demo.yaml')).toEqual({
      path: join(dir, 'gateway.yaml'),
      source: 'gateway.yaml',
    });
  });

  it('falls back to the demo config', () => {
    expect(resolveConfigPath({}, dir, '/demo.yaml')).toEqual({ path: '/demo.yaml', source: 'demo' });
  });
});

describe('instance helpers', () => {
  const config = parseConfig(SPEC_EXAMPLE, ENV);

  it('tags the instances of one provider with their provider type', () => {
    expect(instancesOf(config, 'anthropic').map((i) => [i.name, i.provider])).toEqual([
      ['anthropic-primary', 'anthropic'],
      ['anthropic-backup', 'anthropic'],
    ]);
  });

  it('lists every instance across providers', () => {
    expect(allInstances(config).map((i) => i.name)).toEqual([
      'openai-primary',
      'anthropic-primary',
      'anthropic-backup',
      'gemini-main',
    ]);
  });
});

describe('providerForModel', () => {
  const config = parseConfig(
    `${SPEC_EXAMPLE.replace('"gemini-": gemini', '"gemini-": gemini, "gpt-4o-": anthropic')}`,
    ENV,
  );

  it('lets the longest matching prefix win', () => {
    expect(providerForModel(config, 'gpt-4o-mini')).toBe('anthropic');
    expect(providerForModel(config, 'gpt-3.5-turbo')).toBe('openai');
  });

  it('falls back to the default provider when no prefix matches', () => {
    expect(providerForModel(config, 'mistral-large')).toBe('openai');
  });

  it('returns null when no prefix matches and there is no default', () => {
    const noDefault = { routing: { rules: { 'claude-': 'anthropic' as const } } };

    expect(providerForModel(noDefault, 'mistral-large')).toBeNull();
  });
});
