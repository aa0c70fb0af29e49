import { conformanceCases } from '@resilient-rpc/core/testing';
import { describe, it } from 'vitest';
import { httpListener, httpTransport } from '../src/index.js';

describe('HTTP transport conformance', () => {
  const cases = conformanceCases({
    async serve(server) {
      const listener = await server.listen(httpListener({ port: 0 }));
      return listener.urls[0]!;
    },
    clientTransport: () => httpTransport(),
  });
  for (const c of cases) it(c.name, () => c.run());
});
