import { allInstances, type ProviderInstance } from './load-config';
import type { GatewayConfig } from './schema';

/** The prefix of a provider key held in AWS Secrets Manager (`secret:<name-or-arn>`). */
export const SECRET_PREFIX = 'secret:';

/** The Secrets Manager id in a `secret:` provider key, or null for a plain key. */
export function secretIdOf(apiKey: string): string | null {
  return apiKey.startsWith(SECRET_PREFIX) ? apiKey.slice(SECRET_PREFIX.length) : null;
}

/** The instances whose provider key is a Secrets Manager reference. */
export function secretReferences(config: GatewayConfig): (ProviderInstance & { secretId: string })[] {
  return allInstances(config)
    .map((i) => ({ ...i, secretId: secretIdOf(i.apiKey) }))
    .filter((i): i is ProviderInstance & { secretId: string } => i.secretId !== null);
}
