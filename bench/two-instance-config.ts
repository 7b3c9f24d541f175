import type { BreakerConfig, InstanceConfig, RetryConfig, StoreConfig } from '../shared/config/schema';

/** A fake upstream of the fixture (a FakeProvider fits): its instance name and base URL. */
export interface FixtureUpstream {
  name: string;
  url: string;
}

/** What the benchmarks vary around the two-instance config. */
export interface TwoInstanceOptions {
  /** Settings added to both instances (timeouts). */
  instance?: Partial<Pick<InstanceConfig, 'requestTimeoutSeconds' | 'firstByteTimeoutSeconds'>>;
  breaker?: Partial<BreakerConfig>;
  retry?: Partial<RetryConfig>;
  store?: Partial<StoreConfig>;
}

/**
 * gateway.yaml with two OpenAI instances in front of fake upstreams: `preferred` (priority 1, key k1) and `fallback`
 * (priority 2, key k2), OpenAI the default provider; the breaker, retry and store sections only when given.
 */
export function twoInstanceConfig(
  preferred: FixtureUpstream,
  fallback: FixtureUpstream,
  options: TwoInstanceOptions = {},
): string {
  const instance = (upstream: FixtureUpstream, rank: number) =>
    `    - ${JSON.stringify({ name: upstream.name, baseUrl: upstream.url, apiKey: `k${rank}`, priority: rank, ...options.instance })}`;
  const sections = (['breaker', 'retry', 'store'] as const).flatMap((key) =>
    options[key] ? [`${key}: ${JSON.stringify(options[key])}`] : [],
  );
  return [
    'routing: { defaultProvider: openai }',
    'providers:',
    '  openai:',
    instance(preferred, 1),
    instance(fallback, 2),
    ...sections,
    '',
  ].join('\n');
}
