import { conformanceCases } from '@resilient-rpc/core/testing';
import { describe, it } from 'vitest';
import { wsListener, wsTransport } from '../src/index.js';

describe('transport conformance: ws', () => {
  for (const testCase of conformanceCases({
    async serve(server) {
      const listener = await server.listen(wsListener({ port: 0 }));
      return listener.urls[0]!;
    },
    clientTransport: () => wsTransport({ reconnectBaseMs: 20, reconnectCapMs: 200 }),
    oversize: 'close',
  })) {
    it(testCase.name, testCase.run);
  }
});
