import type { ProviderInstance } from './load-config';
import { allInstances } from './load-config';
import type { GatewayConfig } from './schema';

/** The prefix of a provider key held in AWS Secrets Manager (`secret:<name-or-arn>`). */
export const SECRET_PREFIX = 'secret:';

/** The instances whose provider key is a Secrets Manager reference. */
export function secretReferences(config: GatewayConfig): (ProviderInstance & { secretId: string })[] {
  return allInstances(config)
    .filter((i) => i.apiKey.startsWith(SECRET_PREFIX))
    .map((i) => ({ ...i, secretId: i.apiKey.slice(SECRET_PREFIX.length) }));
}

/**
 * Replaces every `secret:` provider key with the secret's value, fetched once per distinct secret (the fetcher
 * caches across calls, e.g. Powertools Parameters). Returns a new config; the input is not changed.
 */
export async function resolveProviderSecrets(
  config: GatewayConfig,
  fetchSecret: (secretId: string) => Promise<string>,
): Promise<GatewayConfig> {
  const ids = [...new Set(secretReferences(config).map((r) => r.secretId))];
  const values = new Map(await Promise.all(ids.map(async (id) => [id, (await fetchSecret(id)).trim()] as const)));
  const providers = Object.fromEntries(
    Object.entries(config.providers).map(([type, instances]) => [
      type,
      instances?.map((i) =>
        i.apiKey.startsWith(SECRET_PREFIX)
          ? { ...i, apiKey: values.get(i.apiKey.slice(SECRET_PREFIX.length)) ?? '' }
          : i,
      ),
    ]),
  ) as GatewayConfig['providers'];
  return { ...config, providers };
}
