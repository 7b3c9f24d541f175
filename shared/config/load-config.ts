import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error';
import {
  type GatewayConfig,
  gatewayConfigSchema,
  type InstanceConfig,
  PROVIDER_TYPES,
  type ProviderType,
} from './schema';

/** Environment variables as `process.env` holds them. */
export type Env = Record<string, string | undefined>;

/** An instance with the provider type it belongs to. */
export type ProviderInstance = InstanceConfig & { provider: ProviderType };

type PathSegment = PropertyKey;

/** Field names whose values are never printed: keys, secrets, tokens, passwords (case-insensitive). */
const SENSITIVE_NAME = /key|secret|token|passw|credential/i;
const REDACTED = '<redacted>';
const MAX_VALUE_CHARS = 60;

/**
 * Parses and validates a gateway config from YAML text, after replacing `${VAR}` / `${VAR:-default}` in every string
 * value from `env`. Throws a ConfigError naming each bad path and value (secrets redacted); `source` names the file.
 */
export function parseConfig(yamlText: string, env: Env, source = '<inline>'): GatewayConfig {
  const raw = parseYaml(yamlText, source);

  const interpolationIssues: ConfigIssue[] = [];
  const interpolated = interpolate(raw, [], env, interpolationIssues);
  if (interpolationIssues.length > 0) throw configError(source, interpolationIssues);

  const result = gatewayConfigSchema.safeParse(interpolated);
  if (!result.success) throw configError(source, describeIssues(result.error.issues, interpolated));
  return result.data;
}

/** Reads and parses a gateway config file (see parseConfig); a missing or unreadable file is a ConfigError. */
export function loadConfigFile(path: string, env: Env = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT' ? 'config file not found' : `cannot read config file (${code ?? 'unknown error'})`;
    throw new ConfigError(`${problem}: ${path}`, { path: '', cause });
  }
  return parseConfig(text, env, path);
}

/**
 * Which config file to use (SPEC §6): `GATEWAY_CONFIG` (relative to `cwd`) if set, else `<cwd>/gateway.yaml` if it
 * exists, else `demoPath`. The caller passes `demoPath` so this module needs no `__dirname` and stays bundle-safe.
 */
export function resolveConfigPath(
  env: Env,
  cwd: string,
  demoPath: string,
): { path: string; source: 'GATEWAY_CONFIG' | 'gateway.yaml' | 'demo' } {
  const fromEnv = env.GATEWAY_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return { path: resolve(cwd, fromEnv), source: 'GATEWAY_CONFIG' };
  const local = join(cwd, 'gateway.yaml');
  if (existsSync(local)) return { path: local, source: 'gateway.yaml' };
  return { path: demoPath, source: 'demo' };
}

/** The instances of one provider type (enabled or not), in config order, each tagged with its provider. */
export function instancesOf(config: Pick<GatewayConfig, 'providers'>, provider: ProviderType): ProviderInstance[] {
  return (config.providers[provider] ?? []).map((instance) => ({ ...instance, provider }));
}

/** Every configured instance (enabled or not), grouped by provider type in PROVIDER_TYPES order. */
export function allInstances(config: Pick<GatewayConfig, 'providers'>): ProviderInstance[] {
  return PROVIDER_TYPES.flatMap((provider) => instancesOf(config, provider));
}

/** The provider type a model routes to: the longest matching `routing.rules` prefix, else `defaultProvider`, else null. */
export function providerForModel(config: Pick<GatewayConfig, 'routing'>, model: string): ProviderType | null {
  let best: { prefix: string; provider: ProviderType } | null = null;
  for (const [prefix, provider] of Object.entries(config.routing.rules)) {
    if (model.startsWith(prefix) && (best === null || prefix.length > best.prefix.length)) best = { prefix, provider };
  }
  return best?.provider ?? config.routing.defaultProvider ?? null;
}

function parseYaml(yamlText: string, source: string): unknown {
  const lineCounter = new LineCounter();
  // prettyErrors off: the pretty message quotes the offending source line, which may hold a secret.
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false });
  const [first] = doc.errors;
  if (first !== undefined) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw new ConfigError(`Invalid YAML in ${source} at line ${line}, column ${col}: ${first.message}`, {
      path: '',
      cause: first,
    });
  }
  try {
    return doc.toJS();
  } catch (cause) {
    // e.g. an alias expanding past yaml's maxAliasCount (a "billion laughs" document).
    throw new ConfigError(`Invalid YAML in ${source}: ${(cause as Error).message}`, { path: '', cause });
  }
}

/** Replaces `${VAR}` and `${VAR:-default}` in every string; `$${` is a literal `${`. Collects problems in `issues`. */
function interpolate(value: unknown, path: PathSegment[], env: Env, issues: ConfigIssue[]): unknown {
  if (typeof value === 'string') return interpolateString(value, path, env, issues);
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, [...path, index], env, issues));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, [...path, key], env, issues)]),
    );
  }
  return value;
}

function interpolateString(text: string, path: PathSegment[], env: Env, issues: ConfigIssue[]): string {
  return text.replace(/\$\$\{|\$\{([^}]*)\}|\$\{/g, (match, reference: string | undefined) => {
    if (match === '$${') return '${';
    const parsed = reference === undefined ? null : /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(reference);
    if (parsed === null) {
      const shown = isSensitivePath(path) ? REDACTED : JSON.stringify(truncate(match));
      issues.push({
        path: formatPath(path),
        message: `malformed variable reference ${shown}; use \${VAR} or \${VAR:-default}`,
      });
      return match;
    }
    const [, name, fallback] = parsed;
    const set = env[name];
    // Shell semantics: `:-` also applies when the variable is set but empty.
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set === undefined) {
      issues.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      return match;
    }
    return set;
  });
}

/** Turns zod issues into ConfigIssues: one per unknown key, each with the offending value (redacted if secret). */
function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): ConfigIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => describe([...issue.path, key], 'unknown key', input));
    }
    if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
      return [describe(issue.path, `required, expected ${issue.expected}`, input)];
    }
    return [describe(issue.path, issue.message, input)];
  });
}

function describe(path: readonly PathSegment[], problem: string, input: unknown): ConfigIssue {
  return { path: formatPath(path), message: `${problem} (got ${showValue(path, valueAt(input, path))})` };
}

function configError(source: string, issues: ConfigIssue[]): ConfigError {
  const lines = issues.map((issue) => `  - ${issue.path === '' ? '<root>' : issue.path}: ${issue.message}`);
  return new ConfigError(`Invalid gateway config in ${source}:\n${lines.join('\n')}`, { path: issues[0].path, issues });
}

/** `providers.openai[1].priority`; keys that are not identifiers are quoted: `routing.rules["gpt-"]`. */
function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$]*$/.test(segment))
      out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let current = root;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function isSensitivePath(path: readonly PathSegment[]): boolean {
  return path.some((segment) => typeof segment === 'string' && SENSITIVE_NAME.test(segment));
}

/** JSON of the value, with any secret inside it redacted, cut to MAX_VALUE_CHARS. */
function showValue(path: readonly PathSegment[], value: unknown): string {
  if (isSensitivePath(path)) return REDACTED;
  if (value === undefined) return 'undefined';
  return truncate(JSON.stringify(redactDeep(value)) ?? String(value));
}

function redactDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactDeep);
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, SENSITIVE_NAME.test(key) ? REDACTED : redactDeep(item)]),
    );
  }
  return value;
}

function truncate(text: string): string {
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
