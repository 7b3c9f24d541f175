import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient } from '../../shared/store/dynamo-client';

describe('a DynamoDB that accepts connections but never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let endpoint: string;
  beforeAll(async () => {
    server = createServer(() => {
      // never answers
    });
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('fails the call after the configured timeout instead of waiting forever', async () => {
    const client = createDynamoClient({ endpoint, timeoutMs: 200, localCredentials: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const outcome = await Promise.race([
        client.send(new GetCommand({ TableName: 't', Key: { pk: 'x' } })).then(
          () => 'answered',
          () => 'failed',
        ),
        new Promise((r) => {
          timer = setTimeout(() => r('still waiting'), 5_000);
        }),
      ]);
      expect(outcome).toBe('failed');
    } finally {
      clearTimeout(timer);
      client.destroy();
    }
  });
});
