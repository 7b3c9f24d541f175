import { parseConfig } from '../../shared/config/load-config';
import { secretIdOf, secretReferences } from '../../shared/config/resolve-secrets';

const config = parseConfig(
  `
providers:
  openai:
    - { name: a, baseUrl: "https://api.openai.com/v1", apiKey: "secret:llm-gateway/prod/a" }
    - { name: b, baseUrl: "https://api.openai.com/v1", apiKey: "sk-plain-value-123" }
  anthropic:
    - { name: c, baseUrl: "https://api.anthropic.com", apiKey: "secret:arn:aws:secretsmanager:eu-west-1:111122223333:secret:k-AbCdEf" }
`,
  {},
);

describe('provider keys held in Secrets Manager', () => {
  it('lists the instances whose key is a secret: reference, with the secret id', () => {
    expect(secretReferences(config).map((r) => [r.name, r.secretId])).toEqual([
      ['a', 'llm-gateway/prod/a'],
      ['c', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:k-AbCdEf'],
    ]);
  });

  it.each([
    ['secret:name', 'name'],
    ['sk-plain', null],
    ['', null],
  ])('reads the secret id of %j as %j', (apiKey, id) => {
    expect(secretIdOf(apiKey)).toBe(id);
  });
});
