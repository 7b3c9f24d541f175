import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../local/dynamodb-local';
import { captureOutput, forkWatched, stopChild } from './children';

/** Whether Portkey took part, and why not when it did not. */
export type PortkeyStatus = { available: true; version: string } | { available: false; reason: string };

/** The Portkey open-source gateway (`@portkey-ai/gateway`), running in its own Node process on loopback. */
export interface PortkeyGateway {
  url: string;
  version: string;
  child: ChildProcess;
  /** The headers that send a request through Portkey to an OpenAI-compatible upstream at `upstreamUrl`. */
  headersFor(upstreamUrl: string): Record<string, string>;
  stop(): Promise<void>;
}

/** Where npm put Portkey's server, or null when it is not installed. */
function portkeyEntry(): { path: string; version: string } | null {
  try {
    const manifest = require.resolve('@portkey-ai/gateway/package.json');
    const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    return { path: join(manifest, '..', 'build', 'start-server.js'), version };
  } catch {
    return null;
  }
}

/**
 * Starts Portkey's Node server (`build/start-server.js --port=N --headless`, NODE_ENV=production: no console UI,
 * no log streaming) and waits until it answers. Requests name the provider (`openai`) and the upstream with
 * `x-portkey-custom-host`; Portkey trusts 127.0.0.1 as a custom host by default.
 */
export async function startPortkey(timeoutMs = 30_000): Promise<PortkeyGateway> {
  const entry = portkeyEntry();
  if (!entry) throw new Error('@portkey-ai/gateway is not installed (npm install)');
  const port = await freePort();
  const child = forkWatched(entry.path, [`--port=${port}`, '--headless'], { NODE_ENV: 'production' });
  const output = captureOutput(child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Portkey exited during start-up:\n${output()}`);
      try {
        await (await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) })).arrayBuffer();
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`Portkey did not answer within ${timeoutMs} ms:\n${output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    url,
    version: entry.version,
    child,
    headersFor: (upstreamUrl) => ({
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstreamUrl}/v1`,
      authorization: 'Bearer k',
    }),
    stop: () => stopChild(child),
  };
}
