import { createClient, createServer, type HandlerContext, RpcError } from '@resilient-rpc/core';
import { conformanceCases } from '@resilient-rpc/core/testing';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsListener, natsTransport } from '../src/index.js';

describe('transport conformance: nats', () => {
  let broker: NatsServerHandle;
  let subjects = 0;
  beforeAll(async () => {
    broker = await startNatsServer();
  });
  afterAll(async () => {
    await broker?.kill();
  });

  for (const testCase of conformanceCases({
    async serve(server) {
      const listener = await server.listen(
        natsListener({ servers: broker.url, subject: `conformance.${process.pid}.${++subjects}` }),
      );
      return listener.urls[0] ?? '';
    },
    clientTransport: () => natsTransport({ reconnectTimeWait: 100 }),
  })) {
    it(testCase.name, testCase.run);
  }

  it('(nats) a server that closes mid-call settles the call long before its deadline', async () => {
    const server = createServer({
      methods: {
        never: (_params: unknown, context: HandlerContext) =>
          new Promise((_resolve, reject) =>
            context.signal.addEventListener('abort', () => reject(context.signal.reason)),
          ),
      },
    });
    const listener = await server.listen(
      natsListener({ servers: broker.url, subject: `conformance.${process.pid}.close` }),
    );
    const client = createClient({
      transports: [natsTransport()],
      endpoints: [...listener.urls],
      heartbeat: false,
    });
    try {
      const started = Date.now();
      const pending = client.call('never', [], { deadlineMs: 30_000 }).then(
        () => undefined,
        (error: unknown) => error as RpcError,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      await server.close();
      const error = await pending;
      expect(RpcError.isInstance(error)).toBe(true);
      expect(error?.kind).not.toBe('cancelled');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await client.close();
    }
  });
});
