/**
 * The WebSocket client's encoding: params that cannot be serialised fail at once as a `protocol`
 * error with the cause kept (never retried, nothing sent, the connection unharmed), and the
 * `meta` member can be turned off with `wsTransport({ meta: false })`.
 */
import { createClient, type RpcClient } from '@resilient-rpc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { wsTransport } from '../src/index.js';
import { startServer } from './helpers.js';

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
