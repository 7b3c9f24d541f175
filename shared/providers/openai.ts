import { joinVersionedPath, type ProviderManifest } from './provider-manifest';

/** OpenAI and any OpenAI-compatible API: Bearer auth, `/v1/...` paths. */
export const openAiProvider: ProviderManifest = {
  type: 'openai',
  authHeaders: (apiKey) => ({ authorization: `Bearer ${apiKey}` }),
  defaultHeaders: {},
  upstreamUrl: joinVersionedPath,
};
