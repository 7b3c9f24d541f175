import { DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { freePort } from '../../local/dynamodb-local';
import { ensureTables } from '../../local/ensure-tables';
import {
  type StreamPoller,
  StreamPollerError,
  type StreamPollerOptions,
  startStreamPoller,
} from '../../local/stream-poller';
import { MemoryLog } from '../../shared/observability/log';
import { EVENTS_TABLE, type TableNames } from '../../shared/store/table-definitions';
import { dynamoEndpoint, freshTables, localClient } from '../support/dynamo';

/** The sort keys of a batch, in delivery order. */
const sks = (event: DynamoDBStreamEvent) => event.Records.map((r) => r.dynamodb?.Keys?.sk?.S);
const seqOf = (record: DynamoDBRecord) => record.dynamodb?.SequenceNumber ?? '';

describe('the local DynamoDB Streams poller (DynamoDB Local)', () => {
  let client: DynamoDBDocumentClient;
  let tables: TableNames;
  let log: MemoryLog;
  const pollers: StreamPoller[] = [];

  async function put(...keys: string[]) {
    for (const sk of keys) {
      await client.send(new PutCommand({ TableName: tables.events, Item: { pk: 'event', sk, n: Number(sk) || 0 } }));
    }
  }

  /** Starts a poller whose handler records every batch it is given (and answers with `respond`). */
  async function poller(
    respond: (event: DynamoDBStreamEvent, call: number) => Promise<DynamoDBBatchResponse | undefined> = async () =>
      undefined,
    options: Partial<StreamPollerOptions> = {},
  ) {
    const batches: DynamoDBStreamEvent[] = [];
    const started = await startStreamPoller({
      endpoint: dynamoEndpoint(),
      tableName: tables.events,
      intervalMs: 25,
      log,
      handler: async (event) => {
        batches.push(event);
        return respond(event, batches.length);
      },
      ...options,
    });
    pollers.push(started);
    return { poller: started, batches };
  }

  beforeAll(() => {
    client = localClient();
  });
  beforeEach(async () => {
    tables = await freshTables(client);
    log = new MemoryLog();
  });
  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
  });
  afterAll(() => client.destroy());

  it('delivers records in the Lambda event shape, in write order', async () => {
    // Prepare
    const before = Math.floor(Date.now() / 1000);
    await put('0', '1', '2');
    await client.send(
      new PutCommand({ TableName: tables.events, Item: { pk: 'event', sk: '0', n: 9, b: new Uint8Array([1, 2, 3]) } }),
    );
    await client.send(new DeleteCommand({ TableName: tables.events, Key: { pk: 'event', sk: '1' } }));
    const streamArn = (await client.send(new DescribeTableCommand({ TableName: tables.events }))).Table
      ?.LatestStreamArn;

    // Act
    const { poller: p, batches } = await poller();
    await p.drain();

    // Assess
    const records = batches.flatMap((b) => b.Records);
    expect(records.map((r) => [r.eventName, r.dynamodb?.Keys?.sk?.S])).toEqual([
      ['INSERT', '0'],
      ['INSERT', '1'],
      ['INSERT', '2'],
      ['MODIFY', '0'],
      ['REMOVE', '1'],
    ]);
    expect(records[3]).toEqual({
      eventID: expect.any(String),
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: expect.any(String),
      eventSourceARN: streamArn,
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        Keys: { pk: { S: 'event' }, sk: { S: '0' } },
        NewImage: { pk: { S: 'event' }, sk: { S: '0' }, n: { N: '9' }, b: { B: 'AQID' } },
        SequenceNumber: expect.stringMatching(/^\d+$/),
        SizeBytes: expect.any(Number),
        StreamViewType: 'NEW_IMAGE',
      },
    });
    // DynamoDB Local rounds the creation time down to the minute.
    const created = records[0].dynamodb?.ApproximateCreationDateTime ?? 0;
    expect(created).toBeGreaterThanOrEqual(before - 60);
    expect(created).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(records[4].dynamodb?.NewImage).toBeUndefined();
    const sequence = records.map((r) => BigInt(seqOf(r)));
    expect(sequence).toEqual([...sequence].sort((a, b) => (a < b ? -1 : 1)));
    expect(p.stats).toEqual({ batches: 1, records: 5, retries: 0, skipped: 0 });
  });

  it('hands the handler at most batchSize records at a time', async () => {
    // Prepare
    await put('0', '1', '2', '3', '4', '5', '6');

    // Act
    const { poller: p, batches } = await poller(undefined, { batchSize: 3 });
    await p.drain();

    // Assess
    expect(batches.map(sks)).toEqual([['0', '1', '2'], ['3', '4', '5'], ['6']]);
    expect(p.stats).toMatchObject({ batches: 3, records: 7 });
  });

  it('redelivers a reported failure and the records after it, not the ones before it', async () => {
    // Prepare
    await put('0', '1', '2', '3', '4');
    const failSk2Once = async (event: DynamoDBStreamEvent, call: number) => {
      const failed = event.Records.find((r) => r.dynamodb?.Keys?.sk?.S === '2');
      return call === 1 && failed ? { batchItemFailures: [{ itemIdentifier: seqOf(failed) }] } : undefined;
    };

    // Act
    const { poller: p, batches } = await poller(failSk2Once);
    await p.drain();

    // Assess
    expect(batches.map(sks)).toEqual([
      ['0', '1', '2', '3', '4'],
      ['2', '3', '4'],
    ]);
    expect(p.stats).toEqual({ batches: 2, records: 5, retries: 1, skipped: 0 });
  });

  it('redelivers from the lowest failed record whatever order the failures are reported in', async () => {
    // Prepare
    await put('0', '1', '2', '3');
    const failSk3AndSk1Once = async (event: DynamoDBStreamEvent, call: number) =>
      call === 1
        ? {
            batchItemFailures: [seqOf(event.Records[3]), seqOf(event.Records[1])].map((id) => ({ itemIdentifier: id })),
          }
        : undefined;

    // Act
    const { poller: p, batches } = await poller(failSk3AndSk1Once);
    await p.drain();

    // Assess
    expect(batches.map(sks)).toEqual([
      ['0', '1', '2', '3'],
      ['1', '2', '3'],
    ]);
  });

  it('treats a handler that throws as a failure of the whole batch', async () => {
    // Prepare
    await put('0', '1', '2');
    const throwOnce = async (_: DynamoDBStreamEvent, call: number) => {
      if (call === 1) throw new Error('rollup table unavailable');
      return undefined;
    };

    // Act
    const { poller: p, batches } = await poller(throwOnce);
    await p.drain();

    // Assess
    expect(batches.map(sks)).toEqual([
      ['0', '1', '2'],
      ['0', '1', '2'],
    ]);
    expect(log.text()).toContain('rollup table unavailable');
  });

  it('skips a record that fails every time after maxRetries and moves on', async () => {
    // Prepare
    await put('0', '1', '2', '3');
    let poisonSeq = '';
    const alwaysFailSk1 = async (event: DynamoDBStreamEvent) => {
      const poison = event.Records.find((r) => r.dynamodb?.Keys?.sk?.S === '1');
      if (!poison) return undefined;
      poisonSeq = seqOf(poison);
      return { batchItemFailures: [{ itemIdentifier: poisonSeq }] };
    };
    const { poller: p, batches } = await poller(alwaysFailSk1, { maxRetries: 2 });

    // Act
    await p.drain();
    await put('4');
    await p.drain();

    // Assess
    expect(batches.map(sks)).toEqual([['0', '1', '2', '3'], ['1', '2', '3'], ['1', '2', '3'], ['4']]);
    expect(p.stats).toEqual({ batches: 4, records: 4, retries: 2, skipped: 1 });
    const warning = log.lines.find((l) => l.level === 'warn' && l.message.includes('Skipped'));
    expect(warning?.message).toContain(poisonSeq);
  });

  it('drain() resolves only once every record written before it has been delivered', async () => {
    // Prepare
    const { poller: p, batches } = await poller(undefined, { batchSize: 10 });
    const keys = Array.from({ length: 25 }, (_, i) => String(i).padStart(2, '0'));
    await put(...keys);

    // Act
    await p.drain();

    // Assess
    expect(batches.flatMap(sks)).toEqual(keys);
    expect(p.stats.records).toBe(25);
  });

  it('drain() rejects when the records cannot be delivered in time', async () => {
    // Prepare
    await put('0');
    const { poller: p } = await poller(
      async () => {
        throw new Error('always failing');
      },
      { maxRetries: 1000 },
    );

    // Act
    const drained = p.drain(300);

    // Assess
    await expect(drained).rejects.toThrow(StreamPollerError);
  });

  it('stop() ends polling: no handler call afterwards', async () => {
    // Prepare
    await put('0', '1');
    const { poller: first, batches } = await poller();
    await first.drain();

    // Act
    await first.stop();
    await put('2', '3');
    // A second poller draining the same stream proves the new records were there to be read.
    const { poller: second, batches: seen } = await poller();
    await second.drain();

    // Assess
    expect(seen.flatMap(sks)).toEqual(['0', '1', '2', '3']);
    expect(batches.flatMap(sks)).toEqual(['0', '1']);
    await expect(first.drain()).rejects.toThrow(StreamPollerError);
  });

  it('starting at LATEST delivers only what is written after start-up', async () => {
    // Prepare
    await put('0', '1');

    // Act
    const { poller: p, batches } = await poller(undefined, { startAt: 'LATEST' });
    await put('2', '3');
    await p.drain();

    // Assess
    expect(batches.flatMap(sks)).toEqual(['2', '3']);
  });

  it('follows the table to its new stream when the table is re-created', async () => {
    // Prepare
    await put('0');
    const { poller: p, batches } = await poller();
    await p.drain();

    // Act
    await client.send(new DeleteTableCommand({ TableName: tables.events }));
    await ensureTables(client, [{ definition: EVENTS_TABLE, name: tables.events }]);
    await put('1');
    await p.drain();

    // Assess
    const records = batches.flatMap((b) => b.Records);
    expect(records.map((r) => r.dynamodb?.Keys?.sk?.S)).toEqual(['0', '1']);
    expect(records[1].eventSourceARN).not.toBe(records[0].eventSourceARN);
  });

  it('rejects a batch size GetRecords cannot serve', async () => {
    await expect(poller(undefined, { batchSize: 5000 })).rejects.toMatchObject({ reason: 'invalid_option' });
  });

  it('rejects a table without a stream', async () => {
    await expect(poller(undefined, { tableName: tables.state })).rejects.toMatchObject({ reason: 'no_stream' });
  });

  it('starts before its table exists and delivers once it does', async () => {
    // Prepare
    const tableName = `${tables.events}-later`;
    const { poller: p, batches } = await poller(undefined, { tableName });

    // Act
    await ensureTables(client, [{ definition: EVENTS_TABLE, name: tableName }]);
    await client.send(new PutCommand({ TableName: tableName, Item: { pk: 'event', sk: '0' } }));
    await p.drain();

    // Assess
    expect(batches.flatMap(sks)).toEqual(['0']);
    expect(log.lines.some((l) => l.level === 'warn' && l.message.includes('will keep trying'))).toBe(true);
  });

  it('starts while DynamoDB is unreachable, keeps trying, and stops cleanly', async () => {
    // Prepare
    const endpoint = `http://127.0.0.1:${await freePort()}`;

    // Act
    const { poller: p } = await poller(undefined, { endpoint });
    const drained = p.drain(200);

    // Assess
    await expect(drained).rejects.toMatchObject({ reason: 'drain_timeout' });
    await p.stop();
    expect(p.stats.batches).toBe(0);
  });
});
