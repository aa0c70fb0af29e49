/** The WebSocket transport under the core client (createClient), in process. */
import {
  type ClientConnection,
  createClient,
  type RpcClient,
  type RpcError,
  refuse,
} from '@resilient-rpc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { wsTransport } from '../src/index.js';
import { startServer } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {});
});

/** A wsTransport whose connections the test can see (their pending-call table's size). */
function watchedTransport() {
  const transport = wsTransport();
  const connections: ClientConnection[] = [];
  const watched: typeof transport = Object.create(transport);
  watched.connect = (url, options) => {
    const connection = transport.connect(url, options);
    connections.push(connection);
    return connection;
  };
  const pending = () => (connections[0] as unknown as { pending: { size: number } }).pending.size;
  return { transport: watched, pending };
}

/** A client on a started server whose socket is open (a call is written at once). */
async function openClient() {
  const started = await startServer();
  cleanups.push(() => started.server.close());
  const { transport, pending } = watchedTransport();
  cleanups.push(async () => transport.close?.());
  const rpc = client({ transports: [transport], endpoints: [started.url], heartbeat: false });
  await rpc.call('echo', ['open']);
  return { rpc, pending };
}

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

  it('a call the caller cancels leaves the connection at once, before the signal-watch delay', async () => {
    const { rpc, pending } = await openClient();
    const controller = new AbortController();
    const outcome = rpc
      .call('slow', [10_000], { signal: controller.signal })
      .catch((error: RpcError) => error.kind);
    await new Promise((resolve) => setImmediate(resolve));
    expect(pending()).toBe(1);
    controller.abort();
    // Synchronously: the core's attempt tells the table through its hook (no 10 ms watch delay).
    expect(pending()).toBe(0);
    expect(await outcome).toBe('cancelled');
  });

  it('a call past its deadline leaves the connection as the deadline passes', async () => {
    const { rpc, pending } = await openClient();
    const startedAt = performance.now();
    const error = await rpc.call('slow', [10_000], { deadlineMs: 50 }).catch((caught: RpcError) => caught);
    expect((error as RpcError).kind).toBe('timeout');
    expect(pending()).toBe(0);
    // Budget 50 ms + 1 s of margin for a loaded machine (the handler would take 10 s).
    expect(performance.now() - startedAt).toBeLessThan(1_050);
  });
});
