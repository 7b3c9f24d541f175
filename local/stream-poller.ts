import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type AttributeValue as SdkAttributeValue,
  type _Record as SdkRecord,
  type Shard as SdkShard,
} from '@aws-sdk/client-dynamodb-streams';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { Log } from '../shared/observability/log';
import { consoleLog } from './console-log';

/** Options of the local stand-in for Lambda's DynamoDB Streams event source mapping. */
export interface StreamPollerOptions {
  /** DynamoDB Local endpoint, e.g. `http://127.0.0.1:8000`. */
  endpoint: string;
  /** The streamed table (the events table); the poller follows its `LatestStreamArn`. */
  tableName: string;
  /** The function under test, invoked as Lambda would with `ReportBatchItemFailures` enabled. */
  // biome-ignore lint/suspicious/noConfusingVoidType: the aws-lambda handler type; an `async () => {}` handler returns void.
  handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
  /** Most records per invocation, 1–1000 (GetRecords' own limit); default 100. */
  batchSize?: number;
  /** Idle poll interval and delay before a retry (ms); default 200. */
  intervalMs?: number;
  /** Redeliveries of a failing batch before its failed records are skipped (logged, like an on-failure destination); default 3. */
  maxRetries?: number;
  /** Default: a console log at `info`. */
  log?: Log;
  /** Where to start in the shards open at start-up; shards that appear later are always read from their start. Default TRIM_HORIZON. */
  startAt?: 'TRIM_HORIZON' | 'LATEST';
}

/** Counters since start: handler invocations, records acknowledged, redeliveries, records given up on. */
export interface StreamPollerStats {
  batches: number;
  records: number;
  retries: number;
  skipped: number;
}

/** A running poller. */
export interface StreamPoller {
  /** Stops polling; resolves once the in-flight invocation (if any) has returned. No handler call happens after. */
  stop(): Promise<void>;
  /** Resolves once every record written before the call has been delivered and acknowledged; rejects after timeoutMs (default 10 000). */
  drain(timeoutMs?: number): Promise<void>;
  /** A snapshot of the counters. */
  readonly stats: StreamPollerStats;
}

/** Why a poller operation failed. */
export type StreamPollerErrorReason = 'invalid_option' | 'no_stream' | 'stream_not_found' | 'drain_timeout' | 'stopped';

/** A poller misconfiguration, a table without a stream, a drain that timed out or was cut short by stop(). */
export class StreamPollerError extends Error {
  override readonly name = 'StreamPollerError';
  constructor(
    message: string,
    readonly reason: StreamPollerErrorReason,
    readonly context: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Where a shard is: reading (no iterator yet means "get one from the checkpoint"), retrying a batch, or done. */
type ShardPhase =
  | { tag: 'reading'; iterator?: string }
  | {
      tag: 'retrying';
      /** The failed record and everything after it in its batch. */
      records: DynamoDBRecord[];
      /** The number of the next delivery attempt (the first delivery is attempt 1). */
      attempt: number;
      /** Epoch ms. */
      retryAt: number;
      /** Where the shard goes once these records are acknowledged or skipped. */
      after: ShardPhase;
    }
  | { tag: 'finished' };

interface ShardState {
  id: string;
  parentId?: string;
  /** Last acknowledged sequence number: a lost iterator is re-got just after it. */
  checkpoint?: string;
  /** Where to start while there is no checkpoint. */
  start: 'TRIM_HORIZON' | 'LATEST';
  phase: ShardPhase;
}

/** What one step on a shard achieved: caught up, did work (poll again at once), or could not proceed yet. */
type StepResult = 'idle' | 'busy' | 'waiting';

interface DrainWaiter {
  /** Passes started when drain() was called: only a later pass can prove the records written before it are in. */
  after: number;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** How often shards (and the table's latest stream) are re-listed while nobody is draining (ms). */
const RELIST_INTERVAL_MS = 5000;
/** While DynamoDB is unreachable, log the first failure and then every Nth, not one line per poll. */
const LOG_EVERY_NTH_FAILURE = 50;

/**
 * Polls the table's DynamoDB stream and invokes the handler the way Lambda's event source mapping does with
 * `ReportBatchItemFailures`: in-order batches per shard, redelivery from the lowest failed record, bounded retries,
 * then skipping. Resolves after a first listing of the stream (LATEST positions are taken then); rejects only on a bad
 * option or a table without a stream. DynamoDB unreachable or the table not created yet is logged and retried.
 */
export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const batchSize = options.batchSize ?? 100;
  const intervalMs = options.intervalMs ?? 200;
  const maxRetries = options.maxRetries ?? 3;
  const startAt = options.startAt ?? 'TRIM_HORIZON';
  const log = options.log ?? consoleLog('info');
  checkOption('batchSize', batchSize, Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 1000);
  checkOption('intervalMs', intervalMs, Number.isFinite(intervalMs) && intervalMs > 0);
  checkOption('maxRetries', maxRetries, Number.isInteger(maxRetries) && maxRetries >= 0);

  const clientConfig = {
    endpoint: options.endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 5000, throwOnRequestTimeout: true }),
  };
  const dynamo = new DynamoDBClient(clientConfig);
  const streams = new DynamoDBStreamsClient(clientConfig);
  const stats: StreamPollerStats = { batches: 0, records: 0, retries: 0, skipped: 0 };
  const shards = new Map<string, ShardState>();
  const waiters: DrainWaiter[] = [];
  let streamArn = '';
  let listedOnce = false;
  /** The table points at a newer stream that we will follow once the current one is read to its end. */
  let switchPending = false;
  let nextRelistAt = 0;
  let passesStarted = 0;
  let consecutiveFailures = 0;
  let stopped = false;
  let wake: (() => void) | undefined;

  async function latestStreamArn(): Promise<string> {
    const out = await dynamo.send(new DescribeTableCommand({ TableName: options.tableName }));
    const arn = out.Table?.LatestStreamArn;
    if (!arn) {
      throw new StreamPollerError(`Table ${options.tableName} has no stream`, 'no_stream', {
        tableName: options.tableName,
      });
    }
    return arn;
  }

  /** The stream's status and every shard it lists, or 'gone' when the stream no longer exists. */
  async function describeStream(arn: string): Promise<{ status?: string; shards: SdkShard[] } | 'gone'> {
    const listed: SdkShard[] = [];
    let status: string | undefined;
    let start: string | undefined;
    do {
      try {
        const out = await streams.send(new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: start }));
        status = out.StreamDescription?.StreamStatus;
        listed.push(...(out.StreamDescription?.Shards ?? []));
        start = out.StreamDescription?.LastEvaluatedShardId;
      } catch (error) {
        if (errorName(error) === 'ResourceNotFoundException') return 'gone';
        throw error;
      }
    } while (start);
    return { status, shards: listed };
  }

  /**
   * Re-lists the shards and follows the table to a new stream (table re-created, DynamoDB Local restarted) once the
   * current one is gone or disabled and read to its end. The first successful listing applies `startAt`.
   */
  async function relist(): Promise<void> {
    const initial = !listedOnce;
    nextRelistAt = Date.now() + RELIST_INTERVAL_MS;
    let latest: string | undefined;
    try {
      latest = await latestStreamArn();
    } catch (error) {
      // A deleted table's stream stays readable: keep draining it, the table may come back with a new stream.
      if (errorName(error) !== 'ResourceNotFoundException' || !streamArn) throw error;
    }
    if (!streamArn && latest) streamArn = latest;
    let description = await describeStream(streamArn);
    switchPending = false;
    if (latest && latest !== streamArn) {
      const retired =
        description === 'gone' ||
        (description.status !== 'ENABLED' &&
          description.status !== 'ENABLING' &&
          description.shards.every((s) => shards.get(s.ShardId ?? '')?.phase.tag === 'finished'));
      if (retired) {
        log.info(`Stream poller: following the new stream of table ${options.tableName}`, { streamArn: latest });
        streamArn = latest;
        shards.clear();
        description = await describeStream(streamArn);
      } else {
        switchPending = true;
      }
    }
    if (description === 'gone') {
      throw new StreamPollerError(`Stream ${streamArn} of table ${options.tableName} not found`, 'stream_not_found', {
        streamArn,
      });
    }
    const listedIds = new Set<string>();
    for (const shard of description.shards) {
      if (!shard.ShardId) continue;
      listedIds.add(shard.ShardId);
      if (shards.has(shard.ShardId)) continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      const start = initial ? startAt : 'TRIM_HORIZON';
      shards.set(shard.ShardId, {
        id: shard.ShardId,
        parentId: shard.ParentShardId,
        start,
        // LATEST in a shard that is already closed: there is nothing after its end.
        phase: start === 'LATEST' && closed ? { tag: 'finished' } : { tag: 'reading' },
      });
    }
    for (const [id, shard] of shards) {
      if (listedIds.has(id)) continue;
      if (shard.phase.tag !== 'finished') {
        log.warn(`Stream poller: shard ${id} disappeared before it was read to its end`, { shardId: id });
      }
      shards.delete(id);
    }
    if (initial) {
      for (const shard of shards.values()) {
        // Take LATEST positions now, so every record written after this listing is delivered.
        if (shard.start === 'LATEST' && shard.phase.tag === 'reading') {
          shard.phase = { tag: 'reading', iterator: await iteratorFor(shard) };
        }
      }
    }
    listedOnce = true;
  }

  /** A fresh iterator just after the checkpoint, or at the shard's start position; undefined when it cannot be had. */
  async function iteratorFor(shard: ShardState): Promise<string | undefined> {
    try {
      const out = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.id,
          ...(shard.checkpoint
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: shard.checkpoint }
            : { ShardIteratorType: shard.start }),
        }),
      );
      return out.ShardIterator;
    } catch (error) {
      const name = errorName(error);
      if (name === 'TrimmedDataAccessException' || (name === 'ValidationException' && shard.checkpoint)) {
        // The checkpoint is no longer in the stream (trimmed, or the stream was re-created): read what is left.
        log.warn(`Stream poller: checkpoint ${shard.checkpoint} of shard ${shard.id} is gone; reading from the start`, {
          shardId: shard.id,
          error: describe(error),
        });
        shard.checkpoint = undefined;
        shard.start = 'TRIM_HORIZON';
        return undefined;
      }
      if (name === 'ResourceNotFoundException') {
        nextRelistAt = 0;
        return undefined;
      }
      throw error;
    }
  }

  /** One invocation; returns the indices of the records to treat as failed (none when the batch succeeded). */
  async function invoke(records: DynamoDBRecord[], shardId: string): Promise<number[]> {
    stats.batches++;
    const everything = records.map((_, i) => i);
    let response: DynamoDBBatchResponse | undefined;
    try {
      response = (await options.handler({ Records: records })) ?? undefined;
    } catch (error) {
      log.warn(`Stream handler failed on a batch of ${records.length} record(s)`, { shardId, error: describe(error) });
      return everything;
    }
    const failures = response?.batchItemFailures ?? [];
    if (failures.length === 0) return [];
    const indices = failures.map((f) => records.findIndex((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier));
    if (indices.some((i) => i < 0)) {
      // Lambda treats an empty or unknown itemIdentifier as a failure of the whole batch.
      log.warn('Stream handler reported an item identifier that is not in the batch; retrying the whole batch', {
        shardId,
        itemIdentifiers: failures.map((f) => f.itemIdentifier),
      });
      return everything;
    }
    return [...new Set(indices)].sort((a, b) => a - b);
  }

  /** Delivers a batch and moves the shard on: acknowledged records advance the checkpoint, the rest wait for a retry. */
  async function deliver(shard: ShardState, records: DynamoDBRecord[], attempt: number, after: ShardPhase) {
    const failed = await invoke(records, shard.id);
    const firstFailed = failed[0] ?? records.length;
    acknowledge(shard, records.slice(0, firstFailed));
    if (failed.length === 0) {
      shard.phase = after;
      return;
    }
    const rest = records.slice(firstFailed);
    if (attempt > maxRetries) {
      // Retries exhausted: give up on the records that failed this last time (the on-failure destination's job),
      // acknowledge the ones the handler processed.
      const failedSet = new Set(failed);
      const skipped = records.filter((_, i) => failedSet.has(i));
      const sequenceNumbers = skipped.map((r) => r.dynamodb?.SequenceNumber);
      stats.skipped += skipped.length;
      log.warn(
        `Skipped ${skipped.length} stream record(s) after ${attempt} attempts: ${sequenceNumbers.join(', ')} (shard ${shard.id})`,
        { shardId: shard.id, sequenceNumbers, attempts: attempt },
      );
      acknowledge(
        shard,
        records.filter((_, i) => i >= firstFailed && !failedSet.has(i)),
      );
      shard.checkpoint = records[records.length - 1]?.dynamodb?.SequenceNumber ?? shard.checkpoint;
      shard.phase = after;
      return;
    }
    shard.phase = { tag: 'retrying', records: rest, attempt: attempt + 1, retryAt: Date.now() + intervalMs, after };
  }

  function acknowledge(shard: ShardState, records: DynamoDBRecord[]): void {
    stats.records += records.length;
    const last = records[records.length - 1]?.dynamodb?.SequenceNumber;
    if (last) shard.checkpoint = last;
  }

  async function step(shard: ShardState): Promise<StepResult> {
    const phase = shard.phase;
    switch (phase.tag) {
      case 'finished':
        return 'idle';
      case 'retrying':
        if (Date.now() < phase.retryAt) return 'waiting';
        stats.retries++;
        await deliver(shard, phase.records, phase.attempt, phase.after);
        return 'busy';
      case 'reading': {
        const iterator = phase.iterator ?? (await iteratorFor(shard));
        if (!iterator || stopped) return 'waiting';
        let out: Awaited<ReturnType<typeof getRecords>>;
        try {
          out = await getRecords(iterator);
        } catch (error) {
          return readFailed(shard, error);
        }
        const next = out.NextShardIterator;
        const after: ShardPhase = next ? { tag: 'reading', iterator: next } : { tag: 'finished' };
        const records = (out.Records ?? []).map((r) => toLambdaRecord(r, streamArn));
        if (!next) nextRelistAt = 0; // a closed shard is done: its children should be listed by now
        if (records.length === 0) {
          shard.phase = after;
          return next ? 'idle' : 'busy';
        }
        if (stopped) return 'waiting';
        await deliver(shard, records, 1, after);
        return 'busy';
      }
    }
  }

  function getRecords(iterator: string) {
    return streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }));
  }

  function readFailed(shard: ShardState, error: unknown): StepResult {
    shard.phase = { tag: 'reading' };
    switch (errorName(error)) {
      case 'ExpiredIteratorException':
        return 'busy';
      case 'ValidationException': // "Invalid ShardIterator": a new one from the checkpoint, after a pause
        return 'waiting';
      case 'TrimmedDataAccessException':
        log.warn(`Stream poller: records of shard ${shard.id} were trimmed before they were read`, {
          shardId: shard.id,
          checkpoint: shard.checkpoint,
        });
        shard.checkpoint = undefined;
        shard.start = 'TRIM_HORIZON';
        return 'busy';
      case 'ResourceNotFoundException':
        nextRelistAt = 0;
        return 'waiting';
      default:
        throw error;
    }
  }

  /** One pass over every shard; `quiet` when each is caught up or finished and nothing waits for a retry. */
  async function pass(): Promise<{ progressed: boolean; quiet: boolean }> {
    if (waiters.length > 0 || Date.now() >= nextRelistAt) await relist();
    let quiet = !switchPending;
    let progressed = false;
    for (const shard of shards.values()) {
      if (stopped) return { progressed, quiet: false };
      const parent = shard.parentId ? shards.get(shard.parentId) : undefined;
      if (parent && parent.phase.tag !== 'finished') {
        // A child shard is read only once its parent is done, so each key's records stay in order.
        if (shard.phase.tag !== 'finished') quiet = false;
        continue;
      }
      const result = await step(shard);
      if (result !== 'idle') quiet = false;
      if (result === 'busy') progressed = true;
    }
    return { progressed, quiet };
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      const passNo = ++passesStarted;
      let outcome = { progressed: false, quiet: false };
      try {
        outcome = await pass();
        if (consecutiveFailures > 0) log.info(`Stream poller recovered after ${consecutiveFailures} failed poll(s)`);
        consecutiveFailures = 0;
      } catch (error) {
        consecutiveFailures++;
        if (consecutiveFailures === 1 || consecutiveFailures % LOG_EVERY_NTH_FAILURE === 0) {
          log.error(`Stream poller: polling failed (${consecutiveFailures} in a row), retrying`, {
            error: describe(error),
          });
        }
      }
      if (outcome.quiet) settleWaiters(passNo);
      // A drain() that arrived during a quiet pass needs one more pass, not an idle wait.
      const drainWaiting = outcome.quiet && waiters.length > 0;
      if (!outcome.progressed && !drainWaiting && !stopped) await sleep(intervalMs);
    }
  }

  function settleWaiters(passNo: number): void {
    for (const waiter of [...waiters]) {
      if (waiter.after >= passNo) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });
  }

  try {
    await relist();
  } catch (error) {
    if (error instanceof StreamPollerError && error.reason === 'no_stream') {
      dynamo.destroy();
      streams.destroy();
      throw error;
    }
    // DynamoDB may be down or the table not created yet: the gateway still runs, and the loop keeps trying.
    log.warn(`Stream poller: cannot read the stream of table ${options.tableName} yet; will keep trying`, {
      error: describe(error),
    });
    consecutiveFailures = 1;
  }
  const running = loop().catch((error) => log.error('Stream poller stopped unexpectedly', { error: describe(error) }));

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        stopped = true;
        wake?.();
        await running;
        for (const waiter of waiters.splice(0)) {
          clearTimeout(waiter.timer);
          waiter.reject(new StreamPollerError('The stream poller was stopped before the drain completed', 'stopped'));
        }
        dynamo.destroy();
        streams.destroy();
      })();
      return stopping;
    },
    drain(timeoutMs = 10_000) {
      if (stopped) return Promise.reject(new StreamPollerError('The stream poller is stopped', 'stopped'));
      return new Promise<void>((resolve, reject) => {
        const waiter: DrainWaiter = {
          after: passesStarted,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.splice(waiters.indexOf(waiter), 1);
            reject(
              new StreamPollerError(`The stream was not drained within ${timeoutMs} ms`, 'drain_timeout', {
                timeoutMs,
                stats: { ...stats },
              }),
            );
          }, timeoutMs),
        };
        waiters.push(waiter);
        wake?.();
      });
    },
    get stats() {
      return { ...stats };
    },
  };
}

/**
 * A DynamoDB Streams record as Lambda delivers it: the SDK's Date becomes epoch seconds, binary values become base64
 * strings (JSON), and the event source is the stream.
 */
export function toLambdaRecord(record: SdkRecord, streamArn: string): DynamoDBRecord {
  const data = record.dynamodb ?? {};
  const created = data.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(created ? { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) } : {}),
      ...(data.Keys ? { Keys: toLambdaMap(data.Keys) } : {}),
      ...(data.NewImage ? { NewImage: toLambdaMap(data.NewImage) } : {}),
      ...(data.OldImage ? { OldImage: toLambdaMap(data.OldImage) } : {}),
      SequenceNumber: data.SequenceNumber,
      SizeBytes: data.SizeBytes,
      StreamViewType: data.StreamViewType,
    },
    ...(record.userIdentity ? { userIdentity: record.userIdentity } : {}),
  };
}

function toLambdaMap(map: Record<string, SdkAttributeValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, toLambdaValue(value)]));
}

function toLambdaValue(value: SdkAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  if (value.M !== undefined) return { M: toLambdaMap(value.M) };
  // S, N, SS, NS, BOOL and NULL already have their JSON shape.
  return value as AttributeValue;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function checkOption(name: string, value: number, valid: boolean): void {
  if (!valid)
    throw new StreamPollerError(`Invalid stream poller option ${name}: ${value}`, 'invalid_option', { name, value });
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
