import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { defaultRandom, RpcError, systemClock } from '@resilient-rpc/core';
import { waitFor } from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { type WsConnection, wsTransport } from '../src/index.js';
import { call, connect, resultOf, type Started, startServer } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(
  ...args: Parameters<typeof startServer>
): Promise<Started & { connection: WsConnection }> {
  const started = await startServer(...args);
  const connection = connect(started.url);
  cleanups.push(() => started.server.close());
  cleanups.push(() => connection.close());
  return { ...started, connection };
}

describe('WsConnection', () => {
  it('connects lazily, answers calls and restores the caller id', async () => {
    const { connection } = await setup();
    expect(connection.status).toBe('idle');
    const response = await call(connection, 'add', [2, 3], { id: 'mine-1' });
    expect(response).toEqual({ jsonrpc: '2.0', id: 'mine-1', result: 5 });
    expect(connection.status).toBe('open');
    expect(connection.capabilities).toEqual({ batch: true, ping: true, persistentConnection: true });
  });

  it('carries metadata in the meta member and handshake headers as credentials', async () => {
    const started = await startServer();
    cleanups.push(() => started.server.close());
    const connection = connect(started.url, {}, { authorization: 'Bearer t0k' });
    cleanups.push(() => connection.close());
    const meta = resultOf(
      await call(connection, 'meta', undefined, {
        metadata: { deadlineMs: 5000, idempotent: true, attempt: 2, traceId: 'abc' },
      }),
    ) as Record<string, unknown>;
    expect(meta.idempotent).toBe(true);
    expect(meta.attempt).toBe(2);
    expect(meta.traceId).toBe('abc');
    expect(meta.deadlineMs).toBeGreaterThan(0);
    const headers = resultOf(await call(connection, 'headers')) as Record<string, string>;
    expect(headers.authorization).toBe('Bearer t0k');
  });

  it('writes frames of every length class intact both ways, one at a time and many in a tick', async () => {
    const { connection } = await setup();
    // Around the 7-bit/16-bit/64-bit length boundaries (125, 126, 65 535, 65 536 bytes) and the
    // client's own masking limit (1 024 bytes), in ASCII and in 2- and 4-byte UTF-8.
    const texts: string[] = [];
    for (const unit of ['a', 'é', '😀'])
      for (const bytes of [
        0, 1, 3, 90, 100, 124, 125, 126, 127, 1000, 1024, 1025, 2048, 65_535, 65_536, 70_000,
      ])
        texts.push(unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit))));
    for (const text of texts) expect(resultOf(await call(connection, 'echo', [text]))).toEqual([text]);
    const together = await Promise.all(texts.map((text) => call(connection, 'echo', [text])));
    expect(together.map(resultOf)).toEqual(texts.map((text) => [text]));
  });

  it('returns JSON-RPC errors as resolved responses', async () => {
    const { connection } = await setup();
    const response = await call(connection, 'nope');
    expect(response && 'error' in response && response.error.code).toBe(-32601);
  });

  it('sends batches and matches responses by id', async () => {
    const { connection } = await setup();
    const responses = await connection.sendBatch(
      [
        { jsonrpc: '2.0', method: 'add', params: [1, 1], id: 'a' },
        { jsonrpc: '2.0', method: 'echo', params: ['x'] },
        { jsonrpc: '2.0', method: 'add', params: [2, 2], id: 'b' },
      ],
      { signal: AbortSignal.timeout(5000), timeoutMs: 5000, metadata: {} },
    );
    const byId = new Map(responses.map((response) => [response.id, response]));
    expect(responses).toHaveLength(2);
    expect(byId.get('a')).toMatchObject({ result: 2 });
    expect(byId.get('b')).toMatchObject({ result: 4 });
  });

  it('resolves notifications once written', async () => {
    const { connection } = await setup();
    const result = await connection.send(
      { jsonrpc: '2.0', method: 'echo', params: [1] },
      { signal: AbortSignal.timeout(5000), timeoutMs: 5000, metadata: {} },
    );
    expect(result).toBeUndefined();
  });

  it('pings with a ws ping and reports activity', async () => {
    const { connection } = await setup();
    const events: string[] = [];
    connection.onEvent((event) => events.push(event.type === 'status' ? event.status : event.type));
    await call(connection, 'echo', [1]);
    await connection.ping({ signal: AbortSignal.timeout(5000), timeoutMs: 5000 });
    expect(events).toContain('open');
    expect(events).toContain('activity');
  });

  it('rejects promptly with an RpcError when the signal aborts', async () => {
    const { connection } = await setup();
    await call(connection, 'echo', [1]);
    const controller = new AbortController();
    const pending = call(connection, 'slow', [5_000], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await pending.catch((e: unknown) => e);
    expect(RpcError.isInstance(error)).toBe(true);
  });

  it('times out by timeoutMs even without an abort', async () => {
    const { connection } = await setup();
    const error = await call(connection, 'slow', [5_000], {
      timeoutMs: 100,
      signal: new AbortController().signal,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'timeout' });
  });

  it('fails with not-sent when the endpoint refuses connections', async () => {
    const connection = connect('ws://127.0.0.1:1/rpc', { reconnectBaseMs: 50 });
    cleanups.push(() => connection.close());
    const error = await call(connection, 'echo', [1], { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'not-sent' });
    expect(connection.status).toBe('reconnecting');
  });

  it('close() while the socket is still connecting ends its handshake at once (no socket left open)', async () => {
    // A peer that accepts the TCP connection and never answers the upgrade: the handshake waits.
    const accepted: Socket[] = [];
    const peer = createNetServer((socket) => {
      accepted.push(socket);
      socket.resume(); // (read: the client's FIN is seen)
    });
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => peer.close(resolve));
    });
    const { port } = peer.address() as AddressInfo;
    const connection = connect(`ws://127.0.0.1:${port}/rpc`, { handshakeTimeoutMs: 20_000 });
    cleanups.push(() => connection.close()); // (idempotent)
    const pending = call(connection, 'echo', [1], { timeoutMs: 30_000 }).catch((e: unknown) => e);
    await waitFor(() => accepted.length === 1, 'the upgrade request to arrive', 5_000);
    const gone = new Promise<number>((resolve) =>
      accepted[0]!.once('close', () => resolve(performance.now())),
    );
    const closedAt = performance.now();
    await connection.close();
    expect(await pending).toMatchObject({ kind: 'not-sent' });
    // Budget: the socket is ended at close(), not after the 20 s handshake timeout; bound 2 s, a
    // margin for a loaded machine.
    let bound: NodeJS.Timeout | undefined;
    const goneAt = await Promise.race([
      gone,
      new Promise<number>((resolve) => {
        bound = setTimeout(() => resolve(Number.POSITIVE_INFINITY), 2_000);
      }),
    ]);
    clearTimeout(bound);
    expect(goneAt - closedAt).toBeLessThan(2_000);
    expect(connection.status).toBe('closed');
  });

  it('fails fast with not-sent when the wait queue is full', async () => {
    const connection = connect('ws://127.0.0.1:1/rpc', { maxQueued: 1 });
    cleanups.push(() => connection.close());
    const first = call(connection, 'echo', [1]).catch((e: unknown) => e);
    const second = await call(connection, 'echo', [2]).catch((e: unknown) => e);
    expect(second).toMatchObject({ kind: 'not-sent', name: 'OverloadedError' });
    await first;
  });

  it('fails fast with an overloaded error when the socket buffer is over its bound', async () => {
    const started = await startServer();
    cleanups.push(() => started.server.close());
    const connection = connect(started.url, { maxBufferedBytes: 1 });
    cleanups.push(() => connection.close());
    await call(connection, 'echo', [1]);
    const big = 'x'.repeat(512 * 1024);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => call(connection, 'echo', [big])),
    );
    const refused = results.filter(
      (result) => result.status === 'rejected' && (result.reason as RpcError).name === 'OverloadedError',
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((result) => (result as PromiseRejectedResult).reason.kind === 'not-sent')).toBe(
      true,
    );
  });

  it('settles every pending call at once with connection-lost when closed', async () => {
    const { connection } = await setup();
    await call(connection, 'echo', [1]);
    const calls = Array.from({ length: 20 }, () =>
      call(connection, 'slow', [10_000]).catch((e: unknown) => e),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await connection.close();
    const errors = await Promise.all(calls);
    // close() settles the pending calls at once; bound 1 s (margin for a loaded machine), not their 10 s.
    expect(performance.now() - started).toBeLessThan(1_000);
    for (const error of errors) expect(error).toMatchObject({ kind: 'connection-lost' });
    expect(connection.status).toBe('closed');
    await expect(call(connection, 'echo', [1])).rejects.toMatchObject({ kind: 'not-sent' });
  });

  it('terminates a silent peer and reports connection-lost, settling its calls at once', async () => {
    // A server that never answers pings nor requests: a half-open peer.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false });
    await new Promise((resolve) => wss.once('listening', resolve));
    cleanups.push(() => new Promise((resolve) => wss.close(resolve)));
    const serverSockets: Array<{ terminate(): void }> = [];
    wss.on('connection', (socket) => serverSockets.push(socket));
    cleanups.push(async () => {
      for (const socket of serverSockets) socket.terminate();
    });
    const address = wss.address() as { port: number };
    const connection = connect(`ws://127.0.0.1:${address.port}/rpc`, {
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 300,
      reconnectBaseMs: 5_000,
    });
    cleanups.push(() => connection.close());
    const lost: RpcError[] = [];
    connection.onEvent((event) => {
      if (event.type === 'status' && event.status === 'reconnecting' && event.error) lost.push(event.error);
    });
    const pending = call(connection, 'echo', [1], { timeoutMs: 30_000 }).catch((e: unknown) => e);
    const error = await pending;
    expect(error).toMatchObject({ kind: 'connection-lost' });
    expect(lost[0]).toMatchObject({ kind: 'connection-lost' });
    expect(lost[0]?.message).toMatch(/silent/);
  });

  it('fails fast with not-sent once reconnecting gave up', async () => {
    const connection = connect('ws://127.0.0.1:1/rpc', { reconnectMaxAttempts: 2, reconnectBaseMs: 10 });
    cleanups.push(() => connection.close());
    await expect(call(connection, 'echo', [1])).rejects.toMatchObject({ kind: 'not-sent' });
    await new Promise((resolve) => {
      const stop = connection.onEvent((event) => {
        if (event.type === 'status' && event.status === 'closed') {
          stop();
          resolve(undefined);
        }
      });
      if (connection.status === 'closed') resolve(undefined);
    });
    const started = performance.now();
    await expect(call(connection, 'echo', [1], { timeoutMs: 10_000 })).rejects.toMatchObject({
      kind: 'not-sent',
    });
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('wsTransport.close()', () => {
  it('closes a connection that gave up reconnecting and was opened again by a later call', async () => {
    const first = await startServer();
    const url = first.url;
    const port = Number(new URL(url).port);
    await first.server.close();

    const transport = wsTransport({ reconnectMaxAttempts: 1 });
    const connection = transport.connect(url, { clock: systemClock, random: defaultRandom }) as WsConnection;
    cleanups.push(() => connection.close());
    await expect(call(connection, 'add', [1, 1], { timeoutMs: 2_000 })).rejects.toBeInstanceOf(RpcError);
    expect(connection.status).toBe('closed'); // gave up: reported closed, but not closed by its owner

    const second = await startServer({ port });
    cleanups.push(() => second.server.close());
    // After giving up, a call fails fast and starts a new connect run in the background.
    await call(connection, 'add', [1, 1]).catch(() => undefined);
    const opened = new Promise<void>((resolve) =>
      connection.onEvent((event) => {
        if (event.type === 'status' && event.status === 'open') resolve();
      }),
    );
    if (connection.status !== 'open') await opened;
    expect(resultOf(await call(connection, 'add', [2, 3]))).toBe(5);

    await transport.close?.();
    expect(connection.status).toBe('closed');
  });
});
