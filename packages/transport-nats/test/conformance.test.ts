import { conformanceCases } from '@resilient-rpc/core/testing';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, it } from 'vitest';
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
    if (testCase.name.startsWith('a server that stops mid-call')) {
      // Over NATS the call DOES settle at once, but with the handler's own result: the core
      // dispatcher answers success for a handler that returned after the server aborted it, and
      // NATS (unlike a TCP socket) has no connection to drop. Reported to core; when the core
      // answers aborted handlers with an error, this flips and `it.fails` must become `it`.
      it.fails(testCase.name, testCase.run);
      continue;
    }
    it(testCase.name, testCase.run);
  }
});
