import { parseConfig } from '../../shared/config/load-config';
import { resolveProviderSecrets, secretReferences } from '../../shared/config/resolve-secrets';

const config = parseConfig(
  `
providers:
  openai:
    - { name: a, baseUrl: "https://api.openai.com/v1", apiKey: "secret:llm-gateway/prod/a" }
    - { name: b, baseUrl: "https://api.openai.com/v1", apiKey: "sk-plain-value-123" }
  anthropic:
    - { name: c, baseUrl: "https://api.anthropic.com", apiKey: "secret:llm-gateway/prod/a" }
`,
  {},
);

describe('provider keys held in Secrets Manager', () => {
  it('lists the instances whose key is a secret: reference', () => {
    expect(secretReferences(config).map((r) => [r.name, r.secretId])).toEqual([
      ['a', 'llm-gateway/prod/a'],
      ['c', 'llm-gateway/prod/a'],
    ]);
  });

  it('replaces each reference with its value, fetching each secret once, and leaves plain keys alone', async () => {
    const fetchSecret = jest.fn(async (id: string) => `  value-of-${id}\n`);

    const resolved = await resolveProviderSecrets(config, fetchSecret);

    expect(fetchSecret).toHaveBeenCalledTimes(1);
    expect(resolved.providers.openai?.map((i) => i.apiKey)).toEqual([
      'value-of-llm-gateway/prod/a',
      'sk-plain-value-123',
    ]);
    expect(resolved.providers.anthropic?.[0].apiKey).toBe('value-of-llm-gateway/prod/a');
    expect(config.providers.openai?.[0].apiKey).toBe('secret:llm-gateway/prod/a');
  });

  it('fails when a secret cannot be read', async () => {
    await expect(resolveProviderSecrets(config, async () => Promise.reject(new Error('AccessDenied')))).rejects.toThrow(
      'AccessDenied',
    );
  });
});
