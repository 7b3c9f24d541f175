import { joinVersionedPath, type ProviderManifest } from './provider-manifest';

/** Anthropic Messages API: `x-api-key` auth, a required `anthropic-version` header, `/v1/messages`. */
export const anthropicProvider: ProviderManifest = {
  type: 'anthropic',
  authHeaders: (apiKey) => ({ 'x-api-key': apiKey }),
  defaultHeaders: { 'anthropic-version': '2023-06-01' },
  upstreamUrl: joinVersionedPath,
};
