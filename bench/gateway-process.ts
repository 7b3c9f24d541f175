import type { ChildProcess } from 'node:child_process';
import type { TableNames } from '../shared/store/table-definitions';
import type { CapacityTally } from './capacity';
import { captureOutput, forkTs, nextMessage, stopChild } from './children';

/** The first message a gateway process (bench/fleet-member.ts) receives. */
export interface StartMessage {
  kind: 'start';
  configYaml: string;
  dynamoEndpoint: string;
  tables?: TableNames;
  /** Per-process in-memory breakers instead of the shared DynamoDB store. */
  memoryStore: boolean;
  createTables: boolean;
  maxLifetimeMs: number;
}

/** What a gateway process answers once it serves. */
export interface ReadyMessage {
  kind: 'ready';
  url: string;
}

/** What a gateway process answers to `stop`, just before it exits. */
export interface StoppedMessage {
  kind: 'stopped';
  commands: Record<string, number>;
  capacity: CapacityTally;
  /** The proxy's metrics, summed by name. */
  metrics: Record<string, number>;
  /** Circuit transitions of this process's in-memory breakers (empty with the shared store). */
  transitions: Transition[];
}

/** One circuit transition (epoch ms). */
export interface Transition {
  type: string;
  instance: string;
  timestamp: number;
}

function isReady(message: unknown): message is ReadyMessage {
  return (message as ReadyMessage | undefined)?.kind === 'ready';
}

function isStopped(message: unknown): message is StoppedMessage {
  return (message as StoppedMessage | undefined)?.kind === 'stopped';
}

function isUsage(message: unknown): message is Omit<StoppedMessage, 'kind'> & { kind: 'usage' } {
  return (message as { kind?: unknown } | undefined)?.kind === 'usage';
}

/** A local runtime in its own Node process. */
export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** Its DynamoDB usage and metrics so far. */
  usage(): Promise<Omit<StoppedMessage, 'kind'>>;
  /** Closes the runtime; resolves with its DynamoDB usage (null if it had to be killed). */
  stop(): Promise<StoppedMessage | null>;
}

/** Forks bench/fleet-member.ts and starts a local runtime in it; resolves once it serves. */
export async function startGatewayProcess(
  start: Omit<StartMessage, 'kind' | 'maxLifetimeMs'> & { maxLifetimeMs?: number },
): Promise<GatewayProcess> {
  const child = forkTs('bench/fleet-member.ts');
  const output = captureOutput(child);
  try {
    const ready = nextMessage(child, isReady, 60_000, output);
    child.send({ kind: 'start', maxLifetimeMs: 300_000, ...start } satisfies StartMessage);
    const { url } = await ready;
    return {
      url,
      child,
      usage: async () => {
        const answer = nextMessage(child, isUsage, 10_000, output);
        child.send({ kind: 'usage' });
        return answer;
      },
      stop: async () => {
        try {
          const stopped = nextMessage(child, isStopped, 10_000, output);
          child.send({ kind: 'stop' });
          return await stopped;
        } catch {
          return null;
        } finally {
          await stopChild(child);
        }
      },
    };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}
