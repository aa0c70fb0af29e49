import { createServer as createNodeServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, ErrorCodes, RpcError, TimeoutError } from '@resilient-rpc/core';
import { freePort } from '@resilient-rpc/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpHandler, mapHttpError, parseRetryAfter } from '../src/index.js';
import { connect, echoMethods, failure, request, type Started, sendOptions, startServer } from './helpers.js';

/** A bare node:http server whose behaviour a test chooses. */
async function rawServer(
  handler: Parameters<typeof createNodeServer>[1],
): Promise<{ server: Server; url: string }> {
  const server = createNodeServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc` };
}

const closeRaw = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

describe('failure mapping', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  it('maps a refused connection to not-sent at once, without waiting for the timeout', async () => {
    const port = await freePort();
    const { connection, transport } = connect(`http://127.0.0.1:${port}/rpc`);
    cleanups.push(async () => transport.close?.());
    const started = Date.now();
    const error = await failure(connection.send(request('echo', []), sendOptions(30_000)));
    expect(RpcError.isInstance(error)).toBe(true);
    expect(error.kind).toBe('not-sent');
    expect(error.retryable).toBe(true);
    expect(error.endpoint).toBe(`http://127.0.0.1:${port}/rpc`);
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    // At once: a refused connect takes a few ms; bound 1 s (margin for a loaded machine), not the 30 s timeout.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(connection.status).toBe('reconnecting');
  });

  it('a status listener that throws neither changes the failure nor stops the other listeners', async () => {
    const port = await freePort();
    const { connection, transport } = connect(`http://127.0.0.1:${port}/rpc`);
    cleanups.push(async () => transport.close?.());
    const seen: string[] = [];
    connection.onEvent(() => {
      throw new Error('a listener bug');
    });
    connection.onEvent((event) => seen.push(event.type === 'status' ? event.status : event.type));
    const error = await failure(connection.send(request('echo', []), sendOptions(30_000)));
    expect(error.kind).toBe('not-sent');
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(connection.status).toBe('reconnecting');
    expect(seen).toEqual(['reconnecting']);
  });

  it('a probe that gets an answer resets the probe backoff: after the next refusal it probes in 250 ms again', async () => {
    const port = await freePort();
    const { connection, transport } = connect(`http://127.0.0.1:${port}/rpc`);
    cleanups.push(async () => transport.close?.());
    const health = () =>
      new Promise<Server>((resolve) => {
        // Connection: close, so that the next request opens a socket (and is refused) again.
        const server = createNodeServer((_req, res) => res.writeHead(200, { connection: 'close' }).end('{}'));
        server.listen(port, '127.0.0.1', () => resolve(server));
      });
    const reopened = () =>
      new Promise<void>((resolve) => {
        const off = connection.onEvent((event) => {
          if (event.type === 'status' && event.status === 'open') resolve(off());
        });
      });
    // Refused: probes after 250 and 500 ms fail, the third (1 s later) finds the endpoint back.
    expect((await failure(connection.send(request('echo', []), sendOptions(30_000)))).kind).toBe('not-sent');
    await new Promise((resolve) => setTimeout(resolve, 900));
    const first = await health();
    await reopened();
    await closeRaw(first);
    // Refused again: the first probe comes 250 ms later, not 2 s (the backoff where it stood).
    expect((await failure(connection.send(request('echo', []), sendOptions(30_000)))).kind).toBe('not-sent');
    const started = Date.now();
    const second = await health();
    cleanups.push(() => closeRaw(second));
    await reopened();
    expect(Date.now() - started).toBeLessThan(1_200);
  });

  it('maps an unknown host to not-sent', async () => {
    const { connection, transport } = connect('http://no-such-host.invalid/rpc');
    cleanups.push(async () => transport.close?.());
    const error = await failure(connection.send(request('echo', []), sendOptions(10_000)));
    expect(error.kind).toBe('not-sent');
  });

  it('maps a socket destroyed after the request was read to connection-lost', async () => {
    const raw = await rawServer((req) => {
      req.resume();
      req.on('end', () => req.socket.destroy());
    });
    cleanups.push(() => closeRaw(raw.server));
    const { connection, transport } = connect(raw.url);
    cleanups.push(async () => transport.close?.());
    const error = await failure(connection.send(request('echo', []), sendOptions()));
    expect(error.kind).toBe('connection-lost');
    expect(error.retryable).toBe(false);
    expect(error.cause).toBeDefined();
  });

  it('maps 503 and 429 to rejected with retryAfterMs from Retry-After', async () => {
    const raw = await rawServer((req, res) => {
      req.resume();
      if (req.headers['x-case'] === '429') res.writeHead(429, { 'retry-after': '3' }).end();
      else res.writeHead(503, { 'retry-after': '2', 'content-type': 'text/html' }).end('<h1>down</h1>');
    });
    cleanups.push(() => closeRaw(raw.server));
    const { connection, transport } = connect(raw.url);
    cleanups.push(async () => transport.close?.());
    const error = await failure(connection.send(request('echo', []), sendOptions()));
    expect(error).toMatchObject({ kind: 'rejected', retryable: true, retryAfterMs: 2_000 });
    const tooMany = await failure(
      connection.send(request('echo', []), sendOptions(5_000, { headers: { 'x-case': '429' } })),
    );
    expect(tooMany).toMatchObject({ kind: 'rejected', retryAfterMs: 3_000 });
  });

  it("maps the server's draining answer to rejected with the Draining code", async () => {
    const server = createServer({ methods: echoMethods });
    const raw = await rawServer(createHttpHandler(server));
    cleanups.push(() => closeRaw(raw.server));
    const { connection, transport } = connect(raw.url);
    cleanups.push(async () => transport.close?.());
    await expect(connection.send(request('echo', [1]), sendOptions())).resolves.toMatchObject({
      result: [1],
    });
    await server.drain();
    const error = await failure(connection.send(request('echo', [1]), sendOptions()));
    expect(error).toMatchObject({ kind: 'rejected', code: ErrorCodes.Draining, retryAfterMs: 1_000 });
    const ping = await failure(connection.ping!({ signal: new AbortController().signal, timeoutMs: 2_000 }));
    expect(ping.kind).toBe('rejected');
  });

  it('maps a garbage body, a non-JSON-RPC body and an unexpected status to protocol', async () => {
    const raw = await rawServer((req, res) => {
      req.resume();
      const which = req.headers['x-case'];
      if (which === 'json') res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":1}');
      else if (which === 'status') res.writeHead(502).end('bad gateway');
      else if (which === 'batch') res.writeHead(200).end('[]');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('not json at all');
    });
    cleanups.push(() => closeRaw(raw.server));
    const { connection, transport } = connect(raw.url);
    cleanups.push(async () => transport.close?.());
    for (const which of ['garbage', 'json', 'status', 'batch']) {
      const error = await failure(
        connection.send(request('echo', []), sendOptions(5_000, { headers: { 'x-case': which } })),
      );
      expect(error.kind, which).toBe('protocol');
      expect(error.retryable).toBe(false);
    }
  });

  describe('against a slow server', () => {
    let started: Started;
    beforeAll(async () => {
      started = await startServer();
    });
    afterAll(async () => started.server.close());

    it('maps an attempt timeout after the request was sent to timeout', async () => {
      const { connection, transport } = connect(started.url);
      cleanups.push(async () => transport.close?.());
      const error = await failure(connection.send(request('sleep', [5_000]), sendOptions(200)));
      expect(error.kind).toBe('timeout');
      expect(error.retryable).toBe(false);
    });

    it("rejects with the signal's reason when the caller's deadline aborts the attempt", async () => {
      const { connection, transport } = connect(started.url);
      cleanups.push(async () => transport.close?.());
      const controller = new AbortController();
      const pending = connection.send(
        request('sleep', [5_000]),
        sendOptions(30_000, { signal: controller.signal }),
      );
      setTimeout(() => controller.abort(new TimeoutError('deadline exceeded')), 100);
      const error = await failure(pending);
      expect(error).toBeInstanceOf(TimeoutError);
    });
  });
});

describe('mapHttpError and parseRetryAfter', () => {
  it('treats a timeout before the request was written as a connect timeout (not-sent)', () => {
    const connectTimeout = {
      code: 'ECONNABORTED',
      message: 'timeout of 5ms exceeded',
      request: { writableFinished: false },
    };
    expect(mapHttpError(connectTimeout, 'http://x/rpc').kind).toBe('not-sent');
    const readTimeout = { ...connectTimeout, request: { writableFinished: true } };
    expect(mapHttpError(readTimeout, 'http://x/rpc').kind).toBe('timeout');
  });

  it('treats a reset before the request was written as not-sent, after as connection-lost', () => {
    const reset = { code: 'ECONNRESET', message: 'socket hang up', request: { writableFinished: false } };
    expect(mapHttpError(reset, 'http://x/rpc').kind).toBe('not-sent');
    expect(mapHttpError({ ...reset, request: { writableFinished: true } }, 'http://x/rpc').kind).toBe(
      'connection-lost',
    );
    expect(mapHttpError({ code: 'EHOSTUNREACH', message: 'x' }, 'http://x/rpc').kind).toBe('not-sent');
    expect(
      mapHttpError({ code: 'HPE_INVALID_CONSTANT', message: 'Parse Error', request: {} }, 'u').kind,
    ).toBe('protocol');
  });

  it('parses delta seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2_000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', () => now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 01 Jan 2020 00:00:10 GMT', () => now)).toBe(0);
  });
});
