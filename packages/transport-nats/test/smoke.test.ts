import { createServer, defaultRandom, systemClock } from '@resilient-rpc/core';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsListener, natsTransport } from '../src/index.js';

describe('smoke', () => {
  let broker: NatsServerHandle;
  beforeAll(async () => {
    broker = await startNatsServer();
  });
  afterAll(async () => {
    await broker.kill();
  });
  it('round trip', async () => {
    const server = createServer({ methods: { echo: (p: unknown) => p } });
    const listener = await server.listen(natsListener({ servers: broker.url, subject: 'smoke.rpc' }));
    const transport = natsTransport();
    const conn = transport.connect(listener.urls[0]!, { clock: systemClock, random: defaultRandom });
    const res = await conn.send(
      { jsonrpc: '2.0', id: 1, method: 'echo', params: [1, 2] },
      { signal: new AbortController().signal, timeoutMs: 2000, metadata: { deadlineMs: 2000, attempt: 1 } },
    );
    expect(res).toEqual({ jsonrpc: '2.0', id: 1, result: [1, 2] });
    const bad = conn.send(
      { jsonrpc: '2.0', id: 2, method: 'echo', params: [] },
      { signal: new AbortController().signal, timeoutMs: 2000, metadata: {} },
    );
    await expect(bad).resolves.toBeDefined();
    await conn.close();
    await transport.close?.();
    await server.drain();
  });
});
