import type { createServer } from '@resilient-rpc/core';
import { conformanceCases, MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { describe, it } from 'vitest';

describe('conformance: in-memory transport', () => {
  const network = new MemoryNetwork();
  let counter = 0;
  for (const testCase of conformanceCases({
    async serve(server: ReturnType<typeof createServer>) {
      const listener = await server.listen(network.listener(`conformance-${++counter}`));
      return listener.urls[0]!;
    },
    clientTransport: () => memoryTransport(network),
  })) {
    it(testCase.name, testCase.run);
  }
});
