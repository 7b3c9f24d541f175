import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `pid` is gone or `limitMs` passes; true when it is gone. */
async function goneWithin(pid: number, limitMs: number): Promise<boolean> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !alive(pid);
}

describe('DynamoDB Local started by a process that is killed with SIGKILL', () => {
  let parent: ChildProcess | undefined;
  let javaPid: number | undefined;

  afterEach(() => {
    if (parent && parent.exitCode === null) parent.kill('SIGKILL');
    if (javaPid !== undefined && alive(javaPid)) process.kill(javaPid, 'SIGKILL');
  });

  it('does not outlive it: the Java process is stopped too', async () => {
    // Prepare: a process that starts DynamoDB Local and reports the Java pid.
    parent = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'dynamodb-local-process.ts')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const reported = new Promise<number>((resolve, reject) => {
      parent?.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(Number(JSON.parse(line).javaPid));
      });
      parent?.once('exit', (code) => reject(new Error(`the process exited early (${code})`)));
    });
    javaPid = await reported;
    expect(alive(javaPid)).toBe(true);

    // Act
    const exited = once(parent, 'exit');
    parent.kill('SIGKILL');
    await exited;

    // Assess (bounded wait: the guard polls every 500 ms)
    expect(await goneWithin(javaPid, 15_000)).toBe(true);
  }, 90_000);
});
