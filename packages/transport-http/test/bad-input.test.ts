import { request as httpRequest } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { ErrorCodes } from '@resilient-rpc/core';
import { sleep, waitFor } from '@resilient-rpc/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, request, type Started, sendOptions, startServer } from './helpers.js';

const MAX_BYTES = 4 * 1024;

describe('bad input never hurts the server', () => {
  let started: Started;
  let client: ReturnType<typeof connect>;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    started = await startServer(
      { maxMessageBytes: MAX_BYTES, maxBatchSize: 5 },
      { headersTimeoutMs: 300, requestTimeoutMs: 600, maxConnections: 50 },
    );
    port = Number(new URL(started.url).port);
    client = connect(started.url);
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    // Every bad input is followed by a normal call that succeeds.
    const response = await client.connection.send(request('echo', ['still fine']), sendOptions());
    expect(response).toMatchObject({ result: ['still fine'] });
  });
  afterAll(async () => {
    await client.transport.close?.();
    await started.server.close();
  });

  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(started.url, { method: 'POST', headers, body });

  it('answers a non-POST with 405 and Allow', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const response = await fetch(started.url, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(await response.json()).toMatchObject({
        jsonrpc: '2.0',
        id: null,
        error: { code: ErrorCodes.InvalidRequest },
      });
    }
  });

  it('answers a body that is not UTF-8 with 400 -32700, never run', async () => {
    // The dispatcher decodes the body's bytes strictly: a lossy decode would run a mangled call.
    const text = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: ['é'] });
    const bytes = Buffer.from(text, 'latin1');
    const response = await fetch(started.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bytes,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ id: null, error: { code: ErrorCodes.ParseError } });
  });

  it('answers a wrong or missing content type with 415', async () => {
    expect((await post('{}', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('{}', { 'content-type': 'application/json; charset=latin1' })).status).toBe(415);
    expect((await fetch(started.url, { method: 'POST', body: new Uint8Array([123, 125]) })).status).toBe(415);
    const ok = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: [1] }), {
      'content-type': 'application/json; charset=UTF-8',
    });
    expect(ok.status).toBe(200);
  });

  it('answers invalid JSON with 400 and -32700, invalid requests with -32600', async () => {
    const parse = await post('{"jsonrpc": "2.0", "method": ');
    expect(parse.status).toBe(400);
    expect(await parse.json()).toMatchObject({ id: null, error: { code: ErrorCodes.ParseError } });
    for (const body of ['{"foo":1}', '[]', '42', '{"jsonrpc":"2.0","method":1,"id":3}']) {
      const response = await post(body);
      expect(response.status, body).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: ErrorCodes.InvalidRequest } });
    }
    const deep = await post(`${'['.repeat(1_000)}${']'.repeat(1_000)}`);
    expect([200, 400]).toContain(deep.status);
  });

  it('answers a batch over the limit with 413 and keeps per-entry errors in a batch', async () => {
    const entry = { jsonrpc: '2.0', method: 'echo', params: [] };
    const tooMany = await post(JSON.stringify(Array.from({ length: 6 }, (_, id) => ({ ...entry, id }))));
    expect(tooMany.status).toBe(413);
    expect(await tooMany.json()).toMatchObject({ error: { code: ErrorCodes.BatchTooLarge } });
    const mixed = await post(JSON.stringify([{ ...entry, id: 1 }, { foo: 1 }, 7]));
    expect(mixed.status).toBe(200);
    expect(await mixed.json()).toHaveLength(3);
  });

  it('answers 413 from Content-Length alone, before the body is sent', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          port,
          host: '127.0.0.1',
          path: '/rpc',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': 50_000_000 },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.flushHeaders(); // headers only: the 50 MB never follow
    });
    expect(status).toBe(413);
  });

  it('answers 413 to a streamed (chunked) body as soon as it passes the limit', async () => {
    let written = 0;
    const status = await new Promise<number>((resolve, reject) => {
      let answered = false;
      const req = httpRequest(
        {
          port,
          host: '127.0.0.1',
          path: '/rpc',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          answered = true;
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', (error) => (answered ? undefined : reject(error)));
      const pump = () => {
        if (answered || written > 1_000_000) return;
        written += 1024;
        req.write(' '.repeat(1024), () => setImmediate(pump));
      };
      pump();
    });
    expect(status).toBe(413);
    expect(written).toBeLessThan(1_000_000);
  });

  it('closes a slow-loris connection that never finishes its headers', async () => {
    const socket = netConnect(port, '127.0.0.1');
    sockets.push(socket);
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('POST /rpc HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const trickle = setInterval(() => socket.writable && socket.write('a'), 50);
    await closed;
    clearInterval(trickle);
    expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('closes a connection whose body never completes', async () => {
    const socket = netConnect(port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.write(
      'POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"js',
    );
    await closed;
    // The 408 carries a JSON-RPC error saying why (the request was never dispatched).
    expect(received.startsWith('HTTP/1.1 408'), received).toBe(true);
  });

  it('answers garbage that is not HTTP with 400 and oversized headers with 431', async () => {
    for (const [bytes, expected] of [
      ['HELLO THERE\r\n\r\n', 'HTTP/1.1 400'],
      [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 'HTTP/1.1 431'],
    ] as const) {
      const socket = netConnect(port, '127.0.0.1');
      sockets.push(socket);
      socket.on('error', () => {});
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(bytes);
      await closed;
      expect(received.startsWith(expected), received).toBe(true);
    }
  });

  it('answers an unknown path with 404', async () => {
    const response = await fetch(new URL('/nope', started.url), { method: 'POST' });
    expect(response.status).toBe(404);
  });

  it('survives a client that disconnects mid-body and mid-handler', async () => {
    const a = netConnect(port, '127.0.0.1');
    a.on('error', () => {});
    a.write(
      'POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"js',
    );
    await sleep(30);
    a.destroy();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'sleep', params: [2_000] });
    const b = netConnect(port, '127.0.0.1');
    b.on('error', () => {});
    b.write(
      `POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    await waitFor(() => started.server.inFlight === 1, 'the handler to start');
    b.destroy();
    await waitFor(() => started.server.inFlight === 0, 'the handler to be aborted');
  });

  it('refuses connections over maxConnections and serves again once they close', async () => {
    // A server of its own, whose header timeout is far away: a socket it closes was refused.
    const limited = await startServer(
      {},
      { headersTimeoutMs: 20_000, requestTimeoutMs: 30_000, maxConnections: 5 },
    );
    const limitedPort = Number(new URL(limited.url).port);
    const server = limited.listener.server!;
    let requests = 0;
    server.on('request', () => requests++);
    const open = () => new Promise<number>((resolve) => server.getConnections((_, count) => resolve(count)));
    const own: Socket[] = [];
    try {
      const accepted = await Promise.all(
        Array.from(
          { length: 5 },
          () =>
            new Promise<Socket>((resolve) => {
              const socket = netConnect(limitedPort, '127.0.0.1', () => resolve(socket));
              // A request whose body is still to come: busy, so not given up for a newcomer.
              socket.write(
                'POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
              );
              socket.on('error', () => {});
              own.push(socket);
            }),
        ),
      );
      // Busy once the server has read their headers (bytes it has not read yet look like none).
      await waitFor(() => requests === 5, 'the five requests read');
      const extra = netConnect(limitedPort, '127.0.0.1');
      extra.on('error', () => {});
      own.push(extra);
      await new Promise<void>((resolve) => extra.on('close', () => resolve()));
      expect(accepted.every((socket) => !socket.destroyed)).toBe(true);
      for (const socket of own.splice(0)) socket.destroy();
      await waitFor(async () => (await open()) === 0, 'the server saw them close');
      const after = connect(limited.url);
      const answer = await after.connection.send(request('echo', ['after']), sendOptions());
      expect(answer).toMatchObject({ result: ['after'] });
      await after.transport.close?.();
    } finally {
      for (const socket of own) socket.destroy();
      await limited.server.close();
    }
  });
});
