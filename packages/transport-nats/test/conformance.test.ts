import { createClient, createServer, type HandlerContext, RpcError } from '@resilient-rpc/core';
import { conformanceCases } from '@resilient-rpc/core/testing';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServerListener, natsListener, natsTransport } from '../src/index.js';

describe('transport conformance: nats', () => {
  let broker: NatsServerHandle;
  let subjects = 0;
  beforeAll(async () => {
    broker = await startNatsServer();
  });
  afterAll(async () => {
    await broker?.kill();
  });

  // The queue group as one endpoint (discovery off), and one instance through its own subject.
  const variants = [
    { name: 'queue group', url: (listener: NatsServerListener) => listener.urls[0], discovery: false },
    { name: 'instance subject', url: (listener: NatsServerListener) => listener.instanceUrl, discovery: {} },
  ] as const;
  for (const variant of variants) {
    describe(variant.name, () => {
      for (const testCase of conformanceCases({
        async serve(server) {
          const listener = await server.listen(
            natsListener({ servers: broker.url, subject: `conformance.${process.pid}.${++subjects}` }),
          );
          return variant.url(listener) ?? '';
        },
        clientTransport: () => natsTransport({ reconnectTimeWait: 100, discovery: variant.discovery }),
      })) {
        it(testCase.name, testCase.run);
      }
    });
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
