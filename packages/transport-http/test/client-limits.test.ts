/**
 * Hostile servers and unusable params (issue 14) on the HTTP client: a response over
 * `maxResponseBytes` fails as a `protocol` error (not retried) once that much arrived, without
 * reading or buffering the rest; params that cannot be serialised fail at once as a `protocol`
 * error, nothing sent, the cause kept.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, ProtocolError } from '@resilient-rpc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClientDefaults, httpTransport } from '../src/index.js';
import { connect, failure, request, sendOptions } from './helpers.js';

const MiB = 1024 * 1024;

interface Hostile {
  url: string;
  /** Requests received. */
  requests: number;
  /** Body bytes the server managed to hand to its socket before the client went away. */
  sent: number;
  /** Resolves when the last response's connection closed. */
  closed: Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** A node:http server answering every request with `totalBytes` of JSON-ish text, streamed with backpressure. */
async function hostileServer(totalBytes: number, declareLength: boolean): Promise<Hostile> {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let markClosed: () => void = () => {};
  const state: Hostile = { url: '', requests: 0, sent: 0, closed: Promise.resolve() };
  const server = createHttpServer((req, res) => {
    state.requests++;
    state.closed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });
    req.resume();
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(declareLength && { 'content-length': totalBytes }),
    });
    let left = totalBytes;
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        state.sent += piece.length;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      if (left === 0) res.end();
    };
    res.on('close', () => markClosed());
    pump();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc`;
  return state;
}

describe('response size limit', () => {
  it('defaults to 64 MiB, like the WebSocket transport', () => {
    expect(HttpClientDefaults.maxResponseBytes).toBe(64 * MiB);
  });

  for (const declareLength of [false, true]) {
    it(`a 100 MB response (${declareLength ? 'with' : 'without'} Content-Length) fails as protocol once 64 MiB arrived`, async () => {
      const hostile = await hostileServer(100 * 1_000_000, declareLength);
      const { connection, transport } = connect(hostile.url);
      try {
        const error = await failure(connection.send(request('echo', []), sendOptions(60_000)));
        expect(error).toBeInstanceOf(ProtocolError);
        expect(error.kind).toBe('protocol');
        expect(error.retryable).toBe(false);
        expect(error.message).toMatch(/larger than maxResponseBytes \(67108864 bytes\)/);
        expect(error.message).toContain(hostile.url);
        expect(error.cause).toBeDefined();
        await hostile.closed;
        // It stopped reading early: the server could hand over at most the limit plus what the
        // two sockets' kernel buffers hold (a few MiB on loopback; 16 MiB is the stated margin).
        expect(hostile.sent).toBeLessThan(64 * MiB + 16 * MiB);
      } finally {
        await transport.close?.();
      }
    });
  }

  it('honours maxResponseBytes; through a client the failure is not retried', async () => {
    const hostile = await hostileServer(4 * MiB, false);
    const client = createClient({
      transports: [httpTransport({ maxResponseBytes: MiB })],
      endpoints: [hostile.url],
      heartbeat: false,
    });
    try {
      const error = await failure(client.call('echo', [], { idempotent: true }));
      expect(error.kind).toBe('protocol');
      expect(error.message).toMatch(/larger than maxResponseBytes \(1048576 bytes\)/);
      expect(hostile.requests).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('a response within the limit is read as usual', async () => {
    const hostile = await hostileServer(1_000, true);
    const { connection, transport } = connect(hostile.url, { maxResponseBytes: 1_000 });
    try {
      // 1 000 spaces are not JSON-RPC: a protocol error about the body, not about its size.
      const error = await failure(connection.send(request('echo', []), sendOptions()));
      expect(error.kind).toBe('protocol');
      expect(error.message).not.toMatch(/maxResponseBytes/);
    } finally {
      await transport.close?.();
    }
  });
});

describe('params that cannot be serialised', () => {
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;
  const cases: Array<[string, unknown]> = [
    ['a BigInt', [10n]],
    ['a circular object', circular],
  ];
  for (const [what, params] of cases) {
    it(`${what}: a protocol error at once, nothing sent, the cause kept`, async () => {
      const hostile = await hostileServer(10, true);
      const { connection, transport } = connect(hostile.url);
      try {
        let sending: Promise<unknown>;
        try {
          sending = connection.send(request('echo', params), sendOptions());
        } catch (thrown) {
          throw new Error(`send() threw instead of rejecting: ${String(thrown)}`);
        }
        const error = await failure(sending);
        expect(error).toBeInstanceOf(ProtocolError);
        expect(error.retryable).toBe(false);
        expect(error.message).toMatch(/cannot be serialised as JSON/);
        expect(error.cause).toBeInstanceOf(TypeError);
        const batch = await failure(connection.sendBatch!([request('echo', params)], sendOptions()));
        expect(batch).toBeInstanceOf(ProtocolError);
        expect(hostile.requests).toBe(0);
      } finally {
        await transport.close?.();
      }
    });

    it(`${what}: through a client, not retried and never sent`, async () => {
      const hostile = await hostileServer(10, true);
      const client = createClient({
        transports: [httpTransport()],
        endpoints: [hostile.url],
        heartbeat: false,
      });
      try {
        const error = await failure(client.call('echo', params as unknown[], { idempotent: true }));
        expect(error.kind).toBe('protocol');
        expect(error.cause).toBeInstanceOf(TypeError);
        expect(hostile.requests).toBe(0);
      } finally {
        await client.close();
      }
    });
  }
});
