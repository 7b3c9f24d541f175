import { joinVersionedPath, type ProviderManifest } from './provider-manifest';

/**
 * Google Gemini API: `x-goog-api-key` auth, `/v1beta/models/{model}:generateContent` and
 * `:streamGenerateContent?alt=sse` (the query is passed through).
 */
export const geminiProvider: ProviderManifest = {
  type: 'gemini',
  authHeaders: (apiKey) => ({ 'x-goog-api-key': apiKey }),
  defaultHeaders: {},
  upstreamUrl: joinVersionedPath,
};
