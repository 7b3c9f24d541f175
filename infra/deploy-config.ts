import { stringify } from 'yaml';
import { sha256Hex } from '../shared/auth/gateway-keys';
import { allInstances } from '../shared/config/load-config';
import { SECRET_PREFIX } from '../shared/config/resolve-secrets';
import type { GatewayConfig, ProviderType, RetryConfig } from '../shared/config/schema';

/** Seconds the proxy Lambda's timeout adds to `retry.totalTimeoutSeconds` (error answer, metrics flush). */
export const PROXY_TIMEOUT_MARGIN_SECONDS = 10;

/** Lambda's longest timeout, which is also the longest streamed API Gateway response (seconds). */
export const MAX_LAMBDA_TIMEOUT_SECONDS = 900;

/** The context key that allows deploying a config with no `apiKeys`: `cdk deploy -c allowOpenGateway=true`. */
export const ALLOW_OPEN_GATEWAY_CONTEXT = 'allowOpenGateway';

/** How a `secret:` reference is imported into the stack. */
export type SecretImportKind = 'name' | 'complete-arn' | 'partial-arn';

/** A Secrets Manager secret the config references (`apiKey: secret:<name-or-arn>`); the stack imports it. */
export interface ImportedSecret {
  /** The name or ARN after `secret:`. */
  secretId: string;
  kind: SecretImportKind;
  /** The instances that use it (several instances may share one secret). */
  instances: string[];
}

/** A secret the stack creates, empty, for a provider key that was given in plain text at synth. */
export interface CreatedSecret {
  secretName: string;
  provider: ProviderType;
  instance: string;
}

/** What `cdk synth` deploys for one gateway config; it holds no plain gateway key and no plain provider key. */
export interface DeployConfig {
  /** The config bundled into the proxy and stats functions, every `${VAR}` already resolved. */
  config: GatewayConfig;
  /** `config` as the gateway.yaml the functions load (`${` escaped so nothing is interpolated twice). */
  yaml: string;
  importedSecrets: ImportedSecret[];
  createdSecrets: CreatedSecret[];
  /** The proxy Lambda's timeout: `retry.totalTimeoutSeconds` + margin, at most MAX_LAMBDA_TIMEOUT_SECONDS. */
  proxyTimeoutSeconds: number;
  /** True when `retry.totalTimeoutSeconds` did not fit under the Lambda maximum (the deadline then wins). */
  proxyTimeoutCapped: boolean;
}

/** The config cannot be deployed as given; the message says what to change. */
export class DeployConfigError extends Error {
  override readonly name = 'DeployConfigError';
}

/** The name of the secret the stack creates for one instance's provider key. */
export function providerKeySecretName(stackName: string, instance: string): string {
  return `llm-gateway/${stackName}/${instance}`;
}

/** The proxy Lambda's timeout (seconds) for a retry budget, and whether the Lambda maximum capped it. */
export function proxyTimeoutFor(retry: Pick<RetryConfig, 'totalTimeoutSeconds'>): { seconds: number; capped: boolean } {
  const wanted = Math.ceil(retry.totalTimeoutSeconds) + PROXY_TIMEOUT_MARGIN_SECONDS;
  return { seconds: Math.min(wanted, MAX_LAMBDA_TIMEOUT_SECONDS), capped: wanted > MAX_LAMBDA_TIMEOUT_SECONDS };
}

/**
 * How to import a `secret:` id: a name, or an ARN — complete when its name ends in Secrets Manager's `-` + 6
 * character suffix, else partial (IAM then needs the `-??????` wildcard).
 */
export function secretImportKind(secretId: string): SecretImportKind {
  const arn = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)$/.exec(secretId);
  if (arn === null) return 'name';
  return /-[A-Za-z0-9]{6}$/.test(arn[1]) ? 'complete-arn' : 'partial-arn';
}

/**
 * Turns a loaded config into what gets deployed: every gateway key becomes `sha256:<hex>`; a `secret:` provider key
 * is kept and its secret imported; a plain provider key is dropped for `secret:llm-gateway/<stackName>/<instance>`,
 * a secret the stack creates empty. Refuses a config with no `apiKeys` unless `allowOpenGateway`.
 */
export function planDeployConfig(
  config: GatewayConfig,
  options: { stackName: string; allowOpenGateway?: boolean },
): DeployConfig {
  if (config.apiKeys.length === 0 && options.allowOpenGateway !== true) {
    throw new DeployConfigError(
      'The config has no apiKeys: deployed, anyone who finds the URL could spend your provider quota. ' +
        'Add apiKeys (plain or sha256:<hex>), or deploy an open gateway on purpose with ' +
        `-c ${ALLOW_OPEN_GATEWAY_CONTEXT}=true.`,
    );
  }

  const imported = new Map<string, ImportedSecret>();
  const createdSecrets: CreatedSecret[] = [];
  const deployedKey = new Map<string, string>();
  for (const instance of allInstances(config)) {
    if (instance.apiKey.startsWith(SECRET_PREFIX)) {
      const secretId = instance.apiKey.slice(SECRET_PREFIX.length);
      if (secretId === '') {
        throw new DeployConfigError(`instance "${instance.name}": apiKey "secret:" names no secret`);
      }
      const entry = imported.get(secretId) ?? { secretId, kind: secretImportKind(secretId), instances: [] };
      entry.instances.push(instance.name);
      imported.set(secretId, entry);
      deployedKey.set(instance.name, instance.apiKey);
    } else {
      const secretName = providerKeySecretName(options.stackName, instance.name);
      createdSecrets.push({ secretName, provider: instance.provider, instance: instance.name });
      deployedKey.set(instance.name, `${SECRET_PREFIX}${secretName}`);
    }
  }

  const deployed: GatewayConfig = {
    ...config,
    apiKeys: config.apiKeys.map(({ name, key }) => ({
      name,
      key: key.startsWith('sha256:') ? key : `sha256:${sha256Hex(key)}`,
    })),
    providers: Object.fromEntries(
      Object.entries(config.providers).map(([type, instances]) => [
        type,
        instances?.map((instance) => ({ ...instance, apiKey: deployedKey.get(instance.name) ?? '' })),
      ]),
    ) as GatewayConfig['providers'],
  };
  const timeout = proxyTimeoutFor(config.retry);
  return {
    config: deployed,
    yaml: toBundledYaml(deployed),
    importedSecrets: [...imported.values()],
    createdSecrets,
    proxyTimeoutSeconds: timeout.seconds,
    proxyTimeoutCapped: timeout.capped,
  };
}

/** The YAML the functions load: deterministic (a stable asset hash), `${` written `$${` as the loader expects. */
function toBundledYaml(config: GatewayConfig): string {
  const header =
    '# Generated by `cdk synth`: variables resolved, gateway keys hashed, provider keys in Secrets Manager.\n' +
    '# Edit your own gateway.yaml and redeploy instead of this file.\n';
  return header + stringify(escapeInterpolation(config), { lineWidth: 0 });
}

function escapeInterpolation(value: unknown): unknown {
  // A replacer function: in a replacement string `$$` would itself mean `$`.
  if (typeof value === 'string') return value.replaceAll('${', () => '$${');
  if (Array.isArray(value)) return value.map(escapeInterpolation);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, escapeInterpolation(item)]));
  }
  return value;
}
