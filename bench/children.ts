import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

/** Every child process the benchmark started; all are killed on finish, on error and on exit. */
const children = new Set<ChildProcess>();

/** Kills every child still running (SIGKILL after a short grace period). Safe to call more than once. */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child)));
}

/** Stops one child: SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

// Last resort: a benchmark that dies must not leave gateways or Portkey running.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Forks a TypeScript module (run by tsx's loader, one process) with an IPC channel. */
export function forkTs(modulePath: string, env: Record<string, string> = {}): ChildProcess {
  return track(
    fork(join(__dirname, '..', modulePath), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
}

/**
 * Forks a plain Node script with an IPC channel it does not use itself: bench/child-watchdog.cjs, preloaded, makes it
 * exit when the channel closes (this process ended, even by SIGKILL) or after `maxLifetimeMs`.
 */
export function forkWatched(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  maxLifetimeMs = 600_000,
): ChildProcess {
  return track(
    fork(script, args, {
      execArgv: ['--require', join(__dirname, 'child-watchdog.cjs')],
      env: { ...process.env, BENCH_CHILD_MAX_LIFETIME_MS: String(maxLifetimeMs), ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
}

/** The last few KB a child printed, for error messages. */
export function captureOutput(child: ChildProcess): () => string {
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => output;
}

/** Waits for the first IPC message matching `accept`, failing on exit, error message or timeout. */
export function nextMessage<T>(
  child: ChildProcess,
  accept: (message: unknown) => message is T,
  timeoutMs: number,
  output: () => string = () => '',
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: unknown) => {
      if (accept(message)) {
        cleanup();
        resolve(message);
      } else if (isErrorMessage(message)) {
        cleanup();
        reject(new Error(`child failed: ${message.message}\n${output()}`));
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child exited (${code}) before answering\n${output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child did not answer within ${timeoutMs} ms\n${output()}`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function isErrorMessage(message: unknown): message is { kind: 'error'; message: string } {
  return typeof message === 'object' && message !== null && (message as { kind?: unknown }).kind === 'error';
}
