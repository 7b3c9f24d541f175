/** One problem found in a gateway config: where it is (dotted/bracket path, '' for the whole file) and what is wrong. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * The gateway config could not be read, parsed or validated. `path` points at the first offending value
 * (e.g. `providers.openai[1].priority`, '' for the file itself); `issues` lists every problem found.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly path: string;
  readonly issues: readonly ConfigIssue[];

  constructor(message: string, options: { path: string; cause?: unknown; issues?: readonly ConfigIssue[] }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
    this.issues = options.issues ?? [{ path: options.path, message }];
  }
}

/** True for a ConfigError, judged by `name` so it also holds across bundles where `instanceof` fails. */
export function isConfigError(e: unknown): e is ConfigError {
  // Not `instanceof Error` either: errors from another realm (vm context, Jest sandbox) fail that check too.
  if (typeof e !== 'object' || e === null) return false;
  const candidate = e as { name?: unknown; path?: unknown };
  return candidate.name === 'ConfigError' && typeof candidate.path === 'string';
}
