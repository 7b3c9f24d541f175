import type { ProviderType } from '../config/schema';

/** A provider described as data (STYLE habit 7): how to address it and authenticate to it. */
export interface ProviderManifest {
  type: ProviderType;
  /** The headers that carry the instance's key upstream. */
  authHeaders(apiKey: string): Record<string, string>;
  /** Headers sent upstream when the client did not send them (e.g. `anthropic-version`). */
  defaultHeaders: Record<string, string>;
  /** The upstream URL for a client path such as `/v1/chat/completions`, given the instance's base URL. */
  upstreamUrl(baseUrl: string, clientPath: string, query: string): string;
}

/**
 * Joins a base URL and a client path. A base URL that already ends in the path's version segment (an
 * OpenAI-compatible `https://host/openai/v1`) does not get it twice.
 */
export function joinVersionedPath(baseUrl: string, clientPath: string, query: string): string {
  const version = /^\/(v\d+[a-z0-9]*)\//.exec(clientPath)?.[1];
  const path = version && baseUrl.endsWith(`/${version}`) ? clientPath.slice(version.length + 1) : clientPath;
  return `${baseUrl}${path}${query ? `?${query}` : ''}`;
}
