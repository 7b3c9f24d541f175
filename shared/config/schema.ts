import { z } from 'zod';

/** The provider types the gateway can talk to, in a fixed order. */
export const PROVIDER_TYPES = ['openai', 'anthropic', 'gemini'] as const;

/** A provider type: the API format an instance speaks. */
export const providerTypeSchema = z.enum(PROVIDER_TYPES);
export type ProviderType = z.infer<typeof providerTypeSchema>;

/** A duration in seconds: a finite number > 0, decimals allowed (tests use sub-second breakers). */
const seconds = () => z.number().positive();

const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SHA256_KEY = /^sha256:[0-9a-fA-F]{64}$/;

/** A gateway client key: `key` is the plain key or `sha256:<64 hex>` of it. */
export const apiKeySchema = z.strictObject({
  name: z.string().min(1),
  key: z
    .string()
    .min(1)
    .refine((key) => !key.startsWith('sha256:') || SHA256_KEY.test(key), {
      message: 'a sha256: key must be followed by 64 hex digits',
    }),
});
export type ApiKeyConfig = z.infer<typeof apiKeySchema>;

/** One provider instance (an account, key, region or deployment); timeouts in seconds. */
export const instanceSchema = z.strictObject({
  name: z.string().regex(INSTANCE_NAME, {
    message: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
  }),
  /** Upstream base URL, http(s), trailing slashes stripped. */
  baseUrl: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .transform((url) => url.replace(/\/+$/, '')),
  /** The upstream key (or `secret:<name-or-arn>` in AWS). */
  apiKey: z.string().min(1),
  /** Lower is preferred. */
  priority: z.int().min(0).default(1),
  /** Weighted random among instances of equal priority. */
  weight: z.number().positive().default(100),
  requestTimeoutSeconds: seconds().default(300),
  firstByteTimeoutSeconds: seconds().default(30),
  enabled: z.boolean().default(true),
  /** Models this instance serves; absent means every model routed to its provider. */
  models: z.array(z.string().min(1)).min(1).optional(),
});
export type InstanceConfig = z.infer<typeof instanceSchema>;

const instanceList = () => z.array(instanceSchema).min(1);

/** Provider type → its instances; an unknown provider type is an error. */
export const providersSchema = z
  .strictObject({
    openai: instanceList().optional(),
    anthropic: instanceList().optional(),
    gemini: instanceList().optional(),
  })
  .superRefine((providers, ctx) => {
    const seen = new Set<string>();
    let count = 0;
    for (const type of PROVIDER_TYPES) {
      for (const [index, instance] of (providers[type] ?? []).entries()) {
        count++;
        if (seen.has(instance.name)) {
          ctx.addIssue({
            code: 'custom',
            path: [type, index, 'name'],
            message: 'duplicate instance name; names must be unique across all providers',
          });
        }
        seen.add(instance.name);
      }
    }
    if (count === 0) ctx.addIssue({ code: 'custom', path: [], message: 'at least one provider instance is required' });
  });

/** Circuit breaker settings (SPEC §4.2); durations in seconds. */
export const breakerSchema = z
  .strictObject({
    /** Failures within the window that open the circuit. */
    failureThreshold: z.int().min(1).default(3),
    failureWindowSeconds: seconds().default(60),
    /** Consecutive half-open successes that close the circuit. */
    successThreshold: z.int().min(1).default(2),
    initialBackoffSeconds: seconds().default(60),
    maxBackoffSeconds: seconds().default(600),
    backoffMultiplier: z.number().min(1).default(2),
    /** Backoff varies by ±this fraction. */
    jitterRatio: z.number().min(0).max(1).default(0.2),
    /** Longest time one half-open probe may hold the lease. */
    probeLeaseSeconds: seconds().default(30),
    /** How long a container trusts its cached breaker read; 0 disables the cache. */
    cacheSeconds: z.number().min(0).default(1),
    /**
     * After a failure no success has cleared, send requests to the other eligible instances for this long (up to
     * 1.5×, drawn per container; the failures that open the circuit then come one at a time); 0 keeps the instance
     * at its priority.
     */
    holdBackSeconds: z.number().min(0).default(0),
  })
  .superRefine((breaker, ctx) => {
    if (breaker.maxBackoffSeconds < breaker.initialBackoffSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxBackoffSeconds'],
        message: `must be >= initialBackoffSeconds (${breaker.initialBackoffSeconds})`,
      });
    }
  });
export type BreakerConfig = z.infer<typeof breakerSchema>;

/** Retry settings (SPEC §4.1, §4.3); durations in seconds. */
export const retrySchema = z.strictObject({
  /** Upstream attempts per request, across instances. */
  maxAttempts: z.int().min(1).default(3),
  /** Longest `Retry-After` wait honoured before retrying. */
  rateLimitMaxDelaySeconds: z.number().min(0).default(60),
  /** One deadline across all attempts of a request. */
  totalTimeoutSeconds: seconds().default(300),
});
export type RetryConfig = z.infer<typeof retrySchema>;

/** DynamoDB state store settings; durations in seconds. */
export const storeSchema = z.strictObject({
  /** Each DynamoDB call's timeout before falling back to the in-memory view. */
  timeoutSeconds: seconds().default(0.5),
  /** Idle time after which a sticky session expires. */
  sessionTtlSeconds: seconds().default(3600),
});
export type StoreConfig = z.infer<typeof storeSchema>;

/** Model-name prefix → provider type (longest prefix wins), else `defaultProvider`. */
export const routingSchema = z.strictObject({
  defaultProvider: providerTypeSchema.optional(),
  rules: z.record(z.string().min(1), providerTypeSchema).default({}),
});
export type RoutingConfig = z.infer<typeof routingSchema>;

/** The whole `gateway.yaml` (SPEC §3); parsing applies every default. */
export const gatewayConfigSchema = z
  .strictObject({
    apiKeys: z.array(apiKeySchema).default([]),
    routing: routingSchema.prefault({}),
    providers: providersSchema,
    breaker: breakerSchema.prefault({}),
    retry: retrySchema.prefault({}),
    store: storeSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    for (const [index, apiKey] of config.apiKeys.entries()) {
      if (names.has(apiKey.name)) {
        ctx.addIssue({ code: 'custom', path: ['apiKeys', index, 'name'], message: 'duplicate gateway key name' });
      }
      names.add(apiKey.name);
    }

    const configured = (type: ProviderType) => (config.providers[type]?.length ?? 0) > 0;
    const { defaultProvider, rules } = config.routing;
    if (defaultProvider !== undefined && !configured(defaultProvider)) {
      ctx.addIssue({
        code: 'custom',
        path: ['routing', 'defaultProvider'],
        message: `provider "${defaultProvider}" has no instances configured`,
      });
    }
    for (const [prefix, type] of Object.entries(rules)) {
      if (!configured(type)) {
        ctx.addIssue({
          code: 'custom',
          path: ['routing', 'rules', prefix],
          message: `provider "${type}" has no instances configured`,
        });
      }
    }
  });
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
