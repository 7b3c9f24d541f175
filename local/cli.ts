import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { isConfigError } from '../shared/config/config-error';
import { allInstances, type Env, loadConfigFile } from '../shared/config/load-config';
import { type GatewayConfig, PROVIDER_TYPES } from '../shared/config/schema';

/** Where the CLI writes and what it reads; injected so tests can run it in-process. */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: Env;
  fetch?: typeof fetch;
}

/**
 * Exit codes:
 * - 0: success (`stats`: no instance is down; `test`: the config is valid)
 * - 1: `stats`: at least one instance is down (`overall.down > 0`); `test`: the config is invalid
 * - 2: `stats`: the gateway is unreachable, timed out, rejected the key or answered non-2xx / an unexpected body;
 *      any command: a usage error (unknown command or option) or an unexpected internal error
 */
export const EXIT = { ok: 0, failed: 1, error: 2 } as const;

/** How long `stats` waits for each answer from the gateway. */
const STATS_TIMEOUT_MS = 5000;
const MAX_BODY_CHARS = 2000;

/** Runs `llm-gateway <argv>` and resolves to its exit code (never calls process.exit). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('llm-gateway')
    .description('Serverless LLM API gateway: failover across provider instances with a shared circuit breaker')
    .exitOverride()
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      outputError: (text, write) => write(text),
    })
    .showHelpAfterError('(run llm-gateway --help for usage)');

  program
    .command('stats')
    .description('print the provider health table of a running gateway (exit 1 if an instance is down)')
    .option('--url <url>', 'gateway base URL (default: http://127.0.0.1:$PORT, PORT defaults to 8080)')
    .option('--key <key>', 'gateway key sent as Authorization: Bearer (default: $GATEWAY_KEY)')
    .option('--json', 'print the /stats JSON instead of the table')
    .action(async (options: { url?: string; key?: string; json?: boolean }) => {
      exitCode = await stats(options, io);
    });

  program
    .command('test')
    .description('validate a gateway config and print a summary without secrets (exit 1 if invalid)')
    .option('--config <file>', 'config file (default: $GATEWAY_CONFIG, else ./gateway.yaml)')
    .action((options: { config?: string }) => {
      exitCode = testConfig(options, io);
    });

  program
    .command('start')
    .description('run the local gateway (DynamoDB Local + proxy and stats routes), like `npm start`')
    .action(async () => {
      exitCode = await start(io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help / --version exit 0; any usage error is 2, so `stats` callers never mistake it for "instance down".
      return error.exitCode === 0 ? EXIT.ok : EXIT.error;
    }
    io.stderr(`llm-gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.error;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// stats

interface StatsJson {
  instances: unknown[];
  overall: { total: number; healthy: number; recovering: number; down: number };
}

type Fetched = { ok: true; body: string } | { ok: false; message: string };

async function stats(options: { url?: string; key?: string; json?: boolean }, io: CliIo): Promise<number> {
  const base = (options.url ?? `http://127.0.0.1:${io.env.PORT || 8080}`).replace(/\/+$/, '');
  try {
    new URL(base);
  } catch {
    io.stderr(`Invalid --url ${JSON.stringify(base)}: expected e.g. http://127.0.0.1:8080\n`);
    return EXIT.error;
  }
  const key = options.key ?? (io.env.GATEWAY_KEY || undefined);
  const get = (path: string, accept: string) => fetchText(io.fetch ?? fetch, base, path, accept, key);

  // The table is what the server renders (one source of truth); the JSON decides the exit code.
  if (!options.json) {
    const text = await get('/stats?format=text', 'text/plain');
    if (!text.ok) {
      io.stderr(text.message);
      return EXIT.error;
    }
    io.stdout(text.body.endsWith('\n') ? text.body : `${text.body}\n`);
  }

  const json = await get('/stats', 'application/json');
  if (!json.ok) {
    io.stderr(json.message);
    return EXIT.error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.body);
  } catch {
    io.stderr(`Gateway at ${base} answered GET /stats with a body that is not JSON:\n${truncate(json.body)}\n`);
    return EXIT.error;
  }
  if (!isStatsJson(parsed)) {
    io.stderr(`Gateway at ${base} answered GET /stats without instances/overall counts:\n${truncate(json.body)}\n`);
    return EXIT.error;
  }
  if (options.json) io.stdout(`${JSON.stringify(parsed, null, 2)}\n`);
  return parsed.overall.down > 0 ? EXIT.failed : EXIT.ok;
}

async function fetchText(
  fetchFn: typeof fetch,
  base: string,
  path: string,
  accept: string,
  key: string | undefined,
): Promise<Fetched> {
  const headers: Record<string, string> = { accept };
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  let response: Response;
  let body: string;
  try {
    response = await fetchFn(`${base}${path}`, { headers, signal: AbortSignal.timeout(STATS_TIMEOUT_MS) });
    body = await response.text();
  } catch (error) {
    return { ok: false, message: `Gateway at ${base} is unreachable (GET ${path}): ${describeFetchError(error)}\n` };
  }
  if (response.status === 401) {
    return { ok: false, message: `Gateway at ${base} rejected the key (401): pass --key or set GATEWAY_KEY\n` };
  }
  if (!response.ok) {
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    return { ok: false, message: `Gateway at ${base} answered ${status} to GET ${path}:\n${truncate(body)}\n` };
  }
  return { ok: true, body };
}

function describeFetchError(error: unknown): string {
  // Duck-typed, not `instanceof Error`: fetch's errors may come from another realm (e.g. under Jest).
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${STATS_TIMEOUT_MS / 1000}s`;
  // undici: TypeError('fetch failed') with the socket error (ECONNREFUSED, ENOTFOUND, …) as its cause.
  const cause = typeof e.cause === 'object' && e.cause !== null ? e.cause : undefined;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (is `llm-gateway start` / `npm start` running?)';
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return cause?.message ?? e.message ?? String(error);
}

function isStatsJson(value: unknown): value is StatsJson {
  if (typeof value !== 'object' || value === null) return false;
  const { instances, overall } = value as Record<string, unknown>;
  if (!Array.isArray(instances) || typeof overall !== 'object' || overall === null) return false;
  const o = overall as Record<string, unknown>;
  return ['total', 'healthy', 'recovering', 'down'].every((name) => typeof o[name] === 'number');
}

function truncate(text: string): string {
  const trimmed = text.trimEnd();
  return trimmed.length > MAX_BODY_CHARS ? `${trimmed.slice(0, MAX_BODY_CHARS)}…` : trimmed;
}

// ---------------------------------------------------------------------------------------------------------------------
// test

function testConfig(options: { config?: string }, io: CliIo): number {
  const path = resolve(process.cwd(), options.config ?? (io.env.GATEWAY_CONFIG || 'gateway.yaml'));
  let config: GatewayConfig;
  try {
    config = loadConfigFile(path, io.env);
  } catch (error) {
    if (!isConfigError(error)) throw error;
    const lines = error.issues.map((issue) => `  - ${issue.path === '' ? '<root>' : issue.path}: ${issue.message}`);
    io.stderr(`Invalid config: ${path}\n${lines.join('\n')}\n`);
    return EXIT.failed;
  }
  io.stdout(redactSecrets(summarize(config, path), config));
  return EXIT.ok;
}

/** A readable summary of a valid config; prints no key (instance apiKey, gateway key) by construction. */
export function summarize(config: GatewayConfig, path: string): string {
  const out: string[] = [`Config OK: ${path}`, '', 'Providers:'];
  for (const provider of PROVIDER_TYPES) {
    const instances = config.providers[provider] ?? [];
    if (instances.length === 0) continue;
    out.push(`  ${provider} (${plural(instances.length, 'instance')})`);
    for (const i of instances) {
      out.push(
        `    ${i.name}`,
        `      baseUrl: ${displayUrl(i.baseUrl)}`,
        `      priority ${i.priority}, weight ${i.weight}, timeouts: request ${i.requestTimeoutSeconds}s, first byte ${i.firstByteTimeoutSeconds}s, ${i.enabled ? 'enabled' : 'disabled'}`,
      );
      if (i.models !== undefined) out.push(`      models: ${i.models.join(', ')}`);
    }
  }

  out.push('', 'Routing:');
  const rules = Object.entries(config.routing.rules).sort(([a], [b]) => b.length - a.length || a.localeCompare(b));
  if (rules.length === 0) out.push('  rules: none');
  else {
    out.push('  rules (longest model-name prefix wins):');
    for (const [prefix, provider] of rules) out.push(`    ${JSON.stringify(prefix)} -> ${provider}`);
  }
  out.push(`  default provider: ${config.routing.defaultProvider ?? 'none (unmatched models are rejected)'}`);

  const b = config.breaker;
  out.push(
    '',
    'Breaker:',
    `  opens after ${plural(b.failureThreshold, 'failure')} within ${b.failureWindowSeconds}s; closes after ${plural(b.successThreshold, 'half-open success', 'half-open successes')}`,
    `  backoff ${b.initialBackoffSeconds}s x${b.backoffMultiplier} up to ${b.maxBackoffSeconds}s, jitter ±${round(b.jitterRatio * 100)}%`,
    `  probe lease ${b.probeLeaseSeconds}s, state cache ${b.cacheSeconds}s, hold-back ${b.holdBackSeconds}s`,
  );
  const r = config.retry;
  out.push(
    '',
    'Retry:',
    `  max ${plural(r.maxAttempts, 'attempt')} per request, Retry-After honoured up to ${r.rateLimitMaxDelaySeconds}s, total timeout ${r.totalTimeoutSeconds}s`,
  );
  out.push(
    '',
    'Store:',
    `  DynamoDB call timeout ${config.store.timeoutSeconds}s, sticky session TTL ${config.store.sessionTtlSeconds}s`,
  );

  out.push('');
  if (config.apiKeys.length === 0) {
    out.push('Gateway keys: none (requests are accepted without a key: fine locally, not in AWS)');
  } else {
    out.push(`Gateway keys: ${config.apiKeys.length} (${config.apiKeys.map((k) => k.name).join(', ')})`);
  }
  out.push(
    `Instances: ${allInstances(config).length} total, ${allInstances(config).filter((i) => i.enabled).length} enabled`,
  );
  return `${out.join('\n')}\n`;
}

/** The base URL without userinfo, query or fragment (where credentials sometimes hide). */
function displayUrl(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return '<unparseable URL>';
  }
}

/** Belt and braces: whatever the summary says, no configured key value (4+ chars) appears in it. */
function redactSecrets(text: string, config: GatewayConfig): string {
  const secrets = [...config.apiKeys.map((k) => k.key), ...allInstances(config).map((i) => i.apiKey)]
    .filter((secret) => secret.length >= 4)
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('<redacted>');
  return out;
}

function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

// ---------------------------------------------------------------------------------------------------------------------
// start

/** Runs local/start.ts under tsx in a child process with inherited stdio; resolves to its exit code. */
function start(io: CliIo): Promise<number> {
  const tsxCli = require.resolve('tsx/cli');
  const child = spawn(process.execPath, [tsxCli, join(__dirname, 'start.ts')], {
    stdio: 'inherit',
    env: io.env as NodeJS.ProcessEnv,
  });
  // Ctrl-C already reaches the child through the terminal's process group: only wait for it to stop cleanly (a
  // second SIGINT would make tsx's relay escalate). SIGTERM / SIGHUP sent to this process alone are forwarded.
  const ignore = () => {};
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  return new Promise((resolvePromise) => {
    const done = (code: number) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', forward);
      process.off('SIGHUP', forward);
      resolvePromise(code);
    };
    child.on('error', (error) => {
      io.stderr(`llm-gateway start: cannot run ${tsxCli}: ${error.message}\n`);
      done(EXIT.error);
    });
    child.on('exit', (code, signal) => {
      if (code !== null) done(code);
      else done(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : signal === 'SIGHUP' ? 1 : 0));
    });
  });
}
