// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the tests write ${VAR} references into YAML on purpose.

import {
  DeployConfigError,
  MAX_LAMBDA_TIMEOUT_SECONDS,
  PROXY_TIMEOUT_MARGIN_SECONDS,
  planDeployConfig,
  providerKeySecretName,
  proxyTimeoutFor,
  secretImportKind,
} from '../../infra/deploy-config';
import { sha256Hex } from '../../shared/auth/gateway-keys';
import { allInstances, parseConfig } from '../../shared/config/load-config';
import {
  BACKUP_SECRET_ARN,
  GEMINI_SECRET_NAME,
  KEYED_CONFIG,
  KEYED_ENV,
  PLAIN_ANTHROPIC_KEY,
  PLAIN_GATEWAY_KEY,
  PLAIN_OPENAI_KEY,
} from './fixtures';

const STACK = 'TestStack';

describe('the deploy config bundled into the functions', () => {
  const loaded = parseConfig(KEYED_CONFIG, KEYED_ENV);

  it('replaces every plain gateway key with its sha256 digest and keeps keys that are digests already', () => {
    const plan = planDeployConfig(loaded, { stackName: STACK });

    expect(plan.config.apiKeys).toEqual([
      { name: 'app-1', key: `sha256:${sha256Hex(PLAIN_GATEWAY_KEY)}` },
      { name: 'app-2', key: `sha256:${'ab'.repeat(32)}` },
    ]);
  });

  it('moves each plain provider key to a secret the stack creates, named after the stack and instance', () => {
    const plan = planDeployConfig(loaded, { stackName: STACK });

    expect(plan.createdSecrets).toEqual([
      { secretName: 'llm-gateway/TestStack/openai-primary', provider: 'openai', instance: 'openai-primary' },
      { secretName: 'llm-gateway/TestStack/anthropic-primary', provider: 'anthropic', instance: 'anthropic-primary' },
    ]);
    const keys = Object.fromEntries(allInstances(plan.config).map((i) => [i.name, i.apiKey]));
    expect(keys).toEqual({
      'openai-primary': 'secret:llm-gateway/TestStack/openai-primary',
      'openai-backup': `secret:${BACKUP_SECRET_ARN}`,
      'anthropic-primary': 'secret:llm-gateway/TestStack/anthropic-primary',
      'gemini-main': `secret:${GEMINI_SECRET_NAME}`,
    });
  });

  it('keeps secret: references and lists each referenced secret once, with how to import it', () => {
    const shared = parseConfig(
      `${KEYED_CONFIG}\n`.replace('apiKey: ${ANTHROPIC_API_KEY}', `apiKey: secret:${GEMINI_SECRET_NAME}`),
      KEYED_ENV,
    );

    const plan = planDeployConfig(shared, { stackName: STACK });

    expect(plan.importedSecrets).toEqual([
      { secretId: BACKUP_SECRET_ARN, kind: 'complete-arn', instances: ['openai-backup'] },
      { secretId: GEMINI_SECRET_NAME, kind: 'name', instances: ['anthropic-primary', 'gemini-main'] },
    ]);
  });

  it('writes YAML that holds no plain key and loads back, unchanged, as the deployed config', () => {
    const plan = planDeployConfig(loaded, { stackName: STACK });

    for (const plain of [PLAIN_GATEWAY_KEY, PLAIN_OPENAI_KEY, PLAIN_ANTHROPIC_KEY])
      expect(plan.yaml).not.toContain(plain);
    expect(parseConfig(plan.yaml, {})).toEqual(plan.config);
  });

  it('escapes a literal ${ so the Lambda does not interpolate a resolved value a second time', () => {
    const withDollar = parseConfig(
      KEYED_CONFIG.replace('name: app-2', () => 'name: app-$${HOME}'),
      KEYED_ENV,
    );

    const plan = planDeployConfig(withDollar, { stackName: STACK });

    expect(plan.yaml).toContain('app-$${HOME}');
    expect(parseConfig(plan.yaml, { HOME: '/root' }).apiKeys[1].name).toBe('app-${HOME}');
  });

  it('refuses a config without apiKeys unless an open gateway is asked for', () => {
    const open = parseConfig(KEYED_CONFIG.replace(/^apiKeys:[\s\S]*?^routing:/m, 'routing:'), KEYED_ENV);

    expect(() => planDeployConfig(open, { stackName: STACK })).toThrow(DeployConfigError);
    expect(() => planDeployConfig(open, { stackName: STACK })).toThrow(/no apiKeys[\s\S]*allowOpenGateway=true/);
    expect(planDeployConfig(open, { stackName: STACK, allowOpenGateway: true }).config.apiKeys).toEqual([]);
  });

  it('sizes the proxy timeout to the retry budget plus a margin, capped at the Lambda maximum', () => {
    expect(planDeployConfig(loaded, { stackName: STACK }).proxyTimeoutSeconds).toBe(121 + PROXY_TIMEOUT_MARGIN_SECONDS);
    expect(proxyTimeoutFor({ totalTimeoutSeconds: 300 })).toEqual({ seconds: 310, capped: false });
    expect(proxyTimeoutFor({ totalTimeoutSeconds: 2000 })).toEqual({
      seconds: MAX_LAMBDA_TIMEOUT_SECONDS,
      capped: true,
    });
  });

  it('tells secret names, complete ARNs and partial ARNs apart', () => {
    expect(secretImportKind('prod/openai')).toBe('name');
    expect(secretImportKind(BACKUP_SECRET_ARN)).toBe('complete-arn');
    expect(secretImportKind('arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/openai')).toBe('partial-arn');
    expect(providerKeySecretName('S', 'i-1')).toBe('llm-gateway/S/i-1');
  });
});
