/**
 * Interop: a bare `ws` client, written only from docs/protocol.md's WebSocket section, talks to the
 * server. No resilient-rpc client code is used here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer } from './helpers.js';

const sockets: WebSocket[] = [];
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  while (stops.length > 0) await stops.pop()!();
});

/** Opens a socket and returns a function that resolves the next text frame parsed as JSON. */
async function open(url: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(url, { headers });
  sockets.push(socket);
  const frames: string[] = [];
  const waiting: Array<(text: string) => void> = [];
  socket.on('message', (data) => {
    const text = data.toString();
    const waiter = waiting.shift();
    if (waiter) waiter(text);
    else frames.push(text);
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const next = (): Promise<any> =>
    new Promise((resolve) => {
      const frame = frames.shift();
      if (frame !== undefined) resolve(JSON.parse(frame));
      else waiting.push((text) => resolve(JSON.parse(text)));
    });
  return { socket, next };
}

describe('interop with a bare ws client', () => {
  it('speaks the documented protocol', async () => {
    const { server, url } = await startServer();
    stops.push(() => server.close());
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/rpc$/);
    const { socket, next } = await open(url, { authorization: 'Bearer abc' });

    // Requests in flight at once, answered in any order, matched by id; meta is read by the server.
    socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'slow', params: [100], id: 'slow' }));
    socket.send(
      JSON.stringify({
        jsonrpc: '2.0',
        method: 'meta',
        id: 'meta',
        meta: { deadlineMs: 5000, idempotent: true, attempt: 2, traceId: 't-1' },
      }),
    );
    const first = await next();
    const second = await next();
    const byId = new Map([first, second].map((response) => [response.id, response]));
    expect(byId.get('meta').result).toMatchObject({ idempotent: true, attempt: 2, traceId: 't-1' });
    expect(byId.get('slow')).toEqual({ jsonrpc: '2.0', id: 'slow', result: 'done' });

    // Credentials are the handshake headers.
    socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'headers', id: 3 }));
    expect((await next()).result.authorization).toBe('Bearer abc');

    // A batch with a notification: one frame with one response.
    socket.send(
      JSON.stringify([
        { jsonrpc: '2.0', method: 'add', params: [1, 1], id: 4 },
        { jsonrpc: '2.0', method: 'echo', params: ['note'] },
      ]),
    );
    expect(await next()).toEqual([{ jsonrpc: '2.0', id: 4, result: 2 }]);

    // Errors: parse error and binary frames keep the connection open.
    socket.send('not json');
    expect((await next()).error.code).toBe(-32700);
    socket.send(Buffer.from([1, 2, 3]));
    expect(await next()).toMatchObject({ id: null, error: { code: -32600 } });
    socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'missing', id: 5 }));
    expect((await next()).error.code).toBe(-32601);

    // Liveness: rpc.ping and a ping frame.
    socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'rpc.ping', id: 6 }));
    expect((await next()).result).toBe('pong');
    const pong = new Promise((resolve) => socket.once('pong', resolve));
    socket.ping();
    await pong;

    // Graceful shutdown closes with 1001.
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await server.drain({ timeoutMs: 1_000 });
    stops.pop();
    expect(await closed).toBe(1001);
  });

  it('sees 1009 for an oversize frame', async () => {
    const { server, url } = await startServer({ maxPayload: 256 });
    stops.push(() => server.close());
    const { socket } = await open(url);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: ['x'.repeat(1000)], id: 1 }));
    expect(await closed).toBe(1009);
  });
});
