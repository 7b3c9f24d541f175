import type { ProviderType } from '../config/schema';
import { anthropicProvider } from './anthropic';
import { geminiProvider } from './gemini';
import { openAiProvider } from './openai';
import type { ProviderManifest } from './provider-manifest';

const MANIFESTS: Record<ProviderType, ProviderManifest> = {
  openai: openAiProvider,
  anthropic: anthropicProvider,
  gemini: geminiProvider,
};

/** The manifest for a provider type; every type has one (a missing one is a compile error). */
export function providerManifest(type: ProviderType): ProviderManifest {
  return MANIFESTS[type];
}
