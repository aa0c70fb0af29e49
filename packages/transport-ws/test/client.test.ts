/** The WebSocket transport under the core client (createClient), in process. */
import { createClient, type RpcClient, refuse } from '@resilient-rpc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { wsTransport } from '../src/index.js';
import { startServer } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {});
});

function client(options: Parameters<typeof createClient>[0]): RpcClient {
  const created = createClient(options);
  cleanups.push(() => created.close());
  return created;
}

describe('wsTransport under the core client', () => {
  it('sends per-endpoint credentials in the handshake; wrong ones are refused and not executed', async () => {
    const executed: string[] = [];
    const started = await startServer(
      {},
      {
        methods: {
          whoami: (_params: unknown, context) => {
            executed.push(String(context.auth));
            return context.auth;
          },
        },
        authenticate: (credentials) =>
          credentials?.headers.authorization === 'Bearer alice' ? 'alice' : refuse('unauthenticated'),
      },
    );
    cleanups.push(() => started.server.close());
    const good = client({
      transports: [wsTransport()],
      endpoints: [{ url: started.url, headers: { authorization: 'Bearer alice' } }],
    });
    expect(await good.call('whoami')).toBe('alice');
    const bad = client({
      transports: [wsTransport()],
      endpoints: [{ url: started.url, headers: { authorization: 'Bearer mallory' } }],
    });
    await expect(bad.call('whoami')).rejects.toMatchObject({ code: -32004 });
    expect(executed).toEqual(['alice']);
  });

  it('routes around an endpoint that went away; every call succeeds on the other', async () => {
    const [a, b] = [await startServer(), await startServer()];
    cleanups.push(
      () => a.server.close(),
      () => b.server.close(),
    );
    const rpc = client({ transports: [wsTransport({ reconnectBaseMs: 50 })], endpoints: [a.url, b.url] });
    await Promise.all(Array.from({ length: 10 }, () => rpc.call('add', [1, 1])));
    await a.server.close();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => rpc.call('add', [i, 1])));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('carries batches', async () => {
    const started = await startServer();
    cleanups.push(() => started.server.close());
    const rpc = client({ transports: [wsTransport()], endpoints: [started.url] });
    const results = await rpc.batch([
      { method: 'add', params: [1, 2] },
      { method: 'echo', params: ['x'], notification: true },
      { method: 'nope' },
      { method: 'add', params: [3, 4] },
    ]);
    expect(results[0]).toEqual({ ok: true, result: 3 });
    expect(results[2]).toMatchObject({ ok: false });
    expect(results[3]).toEqual({ ok: true, result: 7 });
  });
});
