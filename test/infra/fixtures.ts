// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the configs hold ${VAR} references on purpose.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Values that must never reach a template, an asset or the bundled config. */
export const PLAIN_GATEWAY_KEY = 'gw-plain-key-7f3a91c2-never-bundled';
export const PLAIN_OPENAI_KEY = 'sk-plain-openai-4b8e0d17-never-bundled';
export const PLAIN_ANTHROPIC_KEY = 'sk-ant-plain-anthropic-9c2f55aa-never-bundled';

/** A Secrets Manager secret referenced by name, and one by complete ARN. */
export const GEMINI_SECRET_NAME = 'prod/gemini-key';
export const BACKUP_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/openai-backup-AbC123';

/** The environment `${VAR}`s of KEYED_CONFIG resolve from at synth. */
export const KEYED_ENV = {
  GATEWAY_KEY: PLAIN_GATEWAY_KEY,
  OPENAI_API_KEY: PLAIN_OPENAI_KEY,
  ANTHROPIC_API_KEY: PLAIN_ANTHROPIC_KEY,
};

/**
 * A production-like config: gateway keys (one plain from the environment, one already hashed), plain provider keys
 * from the environment, and `secret:` references by name and by ARN.
 */
export const KEYED_CONFIG = `
apiKeys:
  - name: app-1
    key: \${GATEWAY_KEY}
  - name: app-2
    key: sha256:${'ab'.repeat(32)}
routing:
  defaultProvider: openai
  rules: { "claude-": anthropic, "gemini-": gemini }
providers:
  openai:
    - name: openai-primary
      baseUrl: https://api.openai.com/v1
      apiKey: \${OPENAI_API_KEY}
    - name: openai-backup
      baseUrl: https://api.openai.com/v1
      apiKey: secret:${BACKUP_SECRET_ARN}
      priority: 2
  anthropic:
    - name: anthropic-primary
      baseUrl: https://api.anthropic.com
      apiKey: \${ANTHROPIC_API_KEY}
  gemini:
    - name: gemini-main
      baseUrl: https://generativelanguage.googleapis.com
      apiKey: secret:${GEMINI_SECRET_NAME}
retry:
  totalTimeoutSeconds: 120.5
`;

/** Writes a config to a fresh temporary directory and returns its path. */
export function writeConfig(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'llm-gateway-infra-test-')), 'gateway.yaml');
  writeFileSync(path, yaml);
  return path;
}

/** Environment for the bundled demo config (its instances are on loopback). */
export const DEMO_ENV = { DEMO_PRIMARY_URL: 'http://127.0.0.1:1', DEMO_BACKUP_URL: 'http://127.0.0.1:2' };
