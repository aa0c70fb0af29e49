/**
 * The WebSocket client's encoding: params that cannot be serialised fail at once as a `protocol`
 * error with the cause kept (never retried, nothing sent, the connection unharmed), and the
 * `meta` member can be turned off with `wsTransport({ meta: false })`.
 */
import { createClient, type JsonRpcRequest, type RpcClient, type WireMetadata } from '@resilient-rpc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { wsTransport } from '../src/index.js';
import { connect, startServer } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A server that records every frame it receives. */
async function recordingServer() {
  const frames: string[] = [];
  const started = await startServer();
  cleanups.push(() => started.server.close());
  started.listener.httpServer!.prependListener('upgrade', (_request, socket) => {
    socket.on('data', (chunk: Buffer) => frames.push(chunk.toString('latin1')));
  });
  return { ...started, frames };
}

function client(url: string, transportOptions: Parameters<typeof wsTransport>[0] = {}): RpcClient {
  const created = createClient({
    transports: [wsTransport(transportOptions)],
    endpoints: [url],
    retry: { maxAttempts: 3 },
    heartbeat: false,
    deadlineMs: 5_000,
  });
  cleanups.push(() => created.close());
  return created;
}

const circular = (): unknown => {
  const value: Record<string, unknown> = { name: 'loop' };
  value.self = value;
  return value;
};

describe('params that cannot be serialised', () => {
  for (const [label, params] of [
    ['a BigInt', [10n]],
    ['a circular object', [circular()]],
  ] as const) {
    it(`${label}: a protocol error at once, with the cause, not retried and nothing sent`, async () => {
      const { url, frames } = await recordingServer();
      const rpc = client(url);
      expect(await rpc.call('echo', ['warm'], { idempotent: true })).toEqual(['warm']);
      const before = frames.length;
      const started = Date.now();
      const error = await rpc.call('echo', params as unknown as unknown[], { idempotent: true }).then(
        () => {
          throw new Error('expected a failure');
        },
        (failure: unknown) => failure as Error & { kind: string; retryable: boolean; cause: unknown },
      );
      expect(error).toMatchObject({ kind: 'protocol', retryable: false });
      expect(error.cause).toBeInstanceOf(TypeError);
      expect(Date.now() - started).toBeLessThan(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(frames.length).toBe(before);
      // The connection is unharmed.
      expect(await rpc.call('echo', ['after'])).toEqual(['after']);
    });
  }

  it('fails at once before the socket is open too, and in a batch and a notification', async () => {
    const { url } = await recordingServer();
    const rpc = client(url);
    // First call on a fresh client: the socket is not open yet.
    await expect(rpc.call('echo', [1n])).rejects.toMatchObject({ kind: 'protocol' });
    const batch = await rpc
      .batch([
        { method: 'echo', params: ['ok'] },
        { method: 'echo', params: [2n] },
      ])
      .catch((error: unknown) => error);
    expect(batch).toMatchObject({ kind: 'protocol' });
    await expect(rpc.notify('echo', [circular()])).rejects.toMatchObject({ kind: 'protocol' });
    expect(await rpc.call('echo', ['still fine'])).toEqual(['still fine']);
  });
});

describe('the meta member', () => {
  it('is sent by default (the remaining deadline travels) and left out with meta: false', async () => {
    const { url } = await recordingServer();
    const seen = (await client(url).call('meta')) as Record<string, unknown>;
    expect(seen.deadlineMs).toBeTypeOf('number');
    expect(seen.attempt).toBe(1);

    const without = client(url, { meta: false });
    expect(await without.call('meta')).toEqual({});
    const [entry] = await without.batch([{ method: 'meta' }]);
    expect(entry).toMatchObject({ ok: true, result: {} });
  });

  it('rejects a meta option that is not a boolean', () => {
    expect(() => wsTransport({ meta: 'no' as unknown as boolean })).toThrow(/meta must be a boolean/);
  });
});

/** A raw ws server: records each text frame and answers requests with their own id. */
async function rawRecordingServer(): Promise<{ port: number; frames: string[] }> {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const frames: string[] = [];
  wss.on('connection', (socket) =>
    socket.on('message', (data) => {
      const text = data.toString();
      frames.push(text);
      const parsed = JSON.parse(text) as { id?: number } | Array<{ id?: number }>;
      const answer = (entry: { id?: number }) => ({ jsonrpc: '2.0', id: entry.id, result: 'ok' });
      if (Array.isArray(parsed))
        socket.send(JSON.stringify(parsed.filter((e) => e.id !== undefined).map(answer)));
      else if (parsed.id !== undefined) socket.send(JSON.stringify(answer(parsed)));
    }),
  );
  return { port: (wss.address() as { port: number }).port, frames };
}

describe('the frames on the wire', () => {
  it('carry a connection-unique wire id first, the members as given and the metadata in meta', async () => {
    const { port, frames } = await rawRecordingServer();
    const connection = connect(`ws://127.0.0.1:${port}/rpc`);
    cleanups.push(() => connection.close());
    const options = {
      signal: new AbortController().signal,
      timeoutMs: 5_000,
      metadata: { deadlineMs: 4_000, attempt: 2, idempotent: undefined },
    };
    const response = await connection.send(
      { jsonrpc: '2.0', method: 'echo', params: [1], id: 'caller-id', meta: { traceId: 't' } },
      options,
    );
    expect(response).toEqual({ jsonrpc: '2.0', id: 'caller-id', result: 'ok' });
    await connection.send({ jsonrpc: '2.0', method: 'note' } as never, options);
    const batch = await connection.sendBatch(
      [{ jsonrpc: '2.0', method: 'a', id: 'x' }, { jsonrpc: '2.0', method: 'b', params: { k: 1 } } as never],
      options,
    );
    expect(batch).toEqual([{ jsonrpc: '2.0', id: 'x', result: 'ok' }]);
    const plain = connect(`ws://127.0.0.1:${port}/rpc`, { meta: false });
    cleanups.push(() => plain.close());
    await plain.send({ jsonrpc: '1.0' as '2.0', method: 'old', id: 9 }, options);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(frames).toEqual([
      '{"id":1,"jsonrpc":"2.0","method":"echo","params":[1],"meta":{"traceId":"t","deadlineMs":4000,"attempt":2}}',
      '{"jsonrpc":"2.0","method":"note","meta":{"deadlineMs":4000,"attempt":2}}',
      '[{"id":3,"jsonrpc":"2.0","method":"a","meta":{"deadlineMs":4000,"attempt":2}},{"jsonrpc":"2.0","method":"b","params":{"k":1},"meta":{"deadlineMs":4000,"attempt":2}}]',
      '{"id":1,"jsonrpc":"1.0","method":"old"}',
    ]);
  });

  it('are the text JSON.stringify writes of the request, whatever its metadata', async () => {
    const { port, frames } = await rawRecordingServer();
    const withMeta = connect(`ws://127.0.0.1:${port}/rpc`);
    const withoutMeta = connect(`ws://127.0.0.1:${port}/rpc`, { meta: false });
    cleanups.push(
      () => withMeta.close(),
      () => withoutMeta.close(),
    );
    const cases: Array<[JsonRpcRequest, WireMetadata]> = [
      [
        { jsonrpc: '2.0', method: 'echo', params: { a: 1 }, id: 1 },
        { deadlineMs: 4000, attempt: 1, idempotent: true },
      ],
      [{ jsonrpc: '2.0', method: 'say "hi"\n', params: [1, 'x'], id: 2 }, { idempotent: false }],
      [{ jsonrpc: '2.0', method: 'échø', id: 3 }, {}],
      [
        { jsonrpc: '2.0', method: 'echo', id: 4 },
        { deadlineMs: 0.5, attempt: undefined },
      ],
      [
        { jsonrpc: '2.0', method: 'echo', params: [], id: 5 },
        { attempt: 3, traceId: 'trace' },
      ],
      [{ jsonrpc: '2.0', method: 'echo', id: 6 }, { deadlineMs: Number.POSITIVE_INFINITY }],
      [
        { jsonrpc: '2.0', method: 'echo', id: 7 },
        { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` },
      ],
      [
        { jsonrpc: '2.0', method: 'note', params: { k: [true, null] } },
        { deadlineMs: 10, attempt: 2 },
      ],
    ];
    const expected: string[] = [];
    for (const sendMeta of [true, false]) {
      // Each connection numbers its sends from 1 (a notification takes a number too).
      let wireId = 0;
      for (const [request, metadata] of cases) {
        wireId++;
        const id = Object.hasOwn(request, 'id') ? wireId : undefined;
        // The rule: the metadata goes in `meta` unless none of these four is set.
        const meta =
          !sendMeta ||
          (metadata.deadlineMs === undefined &&
            metadata.idempotent === undefined &&
            metadata.attempt === undefined &&
            metadata.traceId === undefined)
            ? undefined
            : metadata;
        expected.push(
          JSON.stringify({ id, jsonrpc: '2.0', method: request.method, params: request.params, meta }),
        );
        const options = { signal: new AbortController().signal, timeoutMs: 5_000, metadata };
        await (sendMeta ? withMeta : withoutMeta).send(request, options);
      }
      // The last case is a notification, settled once written: its frame arrives before the next connection's.
      while (frames.length < expected.length) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(frames).toEqual(expected);
  });
});
