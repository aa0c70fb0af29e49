import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { createServer, ErrorCodes, type RpcServer, type ServerListener } from '@resilient-rpc/core';
import { waitFor } from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { httpListener } from '../src/index.js';
import { echoMethods } from './helpers.js';

/** 8 MiB: more than the socket buffers of both ends hold, so the answer waits for its reader. */
const BIG = 8 * 1024 * 1024;

const servers: RpcServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/**
 * A second listener of the same server, after the HTTP one: its close() is called right after the
 * HTTP listener's (`closing` resolves then, "close began"), and its stopAccepting() takes
 * `stopMs`. The HTTP listener used to guess: a close within 100 ms of stopAccepting() was forced.
 */
function probe(stopMs: number) {
  let began!: (options: unknown) => void;
  const closing = new Promise<unknown>((resolve) => {
    began = resolve;
  });
  const listener: ServerListener = {
    transport: 'probe',
    urls: [],
    start: async () => {},
    stopAccepting: () => new Promise((resolve) => setTimeout(resolve, stopMs)),
    close: async (options) => began(options),
  };
  return { listener, closing };
}

async function start(stopMs: number) {
  const server = createServer({
    methods: {
      ...echoMethods,
      hang: () => new Promise(() => {}), // ignores its signal: never answers
      big: () => 'x'.repeat(BIG),
    },
  });
  servers.push(server);
  const http = await server.listen(httpListener({ port: 0 }));
  const { listener, closing } = probe(stopMs);
  await server.listen(listener);
  return { server, port: http.port!, closing };
}

function rawRequest(port: number, method: string, params: unknown[] = []): string {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  return (
    `POST /rpc HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

interface Outcome {
  readonly response: string;
  readonly error?: string;
}

/** What came back on `socket` until it closed: the bytes, and the error code if it broke. */
function outcome(socket: Socket): Promise<Outcome> {
  return new Promise((resolve) => {
    let response = '';
    let error: string | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      response += chunk;
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code;
    });
    socket.on('close', () => resolve({ response, ...(error !== undefined && { error }) }));
  });
}

async function opened(port: number): Promise<{ socket: Socket; ended: Promise<Outcome> }> {
  const socket = connectTcp({ host: '127.0.0.1', port });
  const ended = outcome(socket);
  await once(socket, 'connect');
  return { socket, ended };
}

/** A new connection's fate: refused (the port is closed) or what it was answered. */
async function newConnection(port: number): Promise<Outcome> {
  const socket = connectTcp({ host: '127.0.0.1', port });
  const ended = outcome(socket);
  socket.write(rawRequest(port, 'echo', ['new']));
  return ended;
}

describe('HTTP listener: the server tells it whether a close is forced', () => {
  it('a forced close (server.close() aborting a handler) cuts every connection at once, however long stopAccepting took', async () => {
    const { server, port, closing } = await start(150); // past the old window: was taken as graceful
    const held = await opened(port);
    held.socket.write(rawRequest(port, 'hang'));
    await waitFor(() => server.inFlight === 1, 'the hanging call in flight');
    const fresh = await opened(port); // connected, no request yet
    const closed = server.close();
    expect(await closing).toEqual({ forced: true });
    // Close began: a request sent now is not answered 503 Draining as in a graceful close, the
    // connection is already cut.
    fresh.socket.write(rawRequest(port, 'echo', ['late']));
    await closed;
    expect((await fresh.ended).response).toBe('');
    // The aborted handler's call gets no answer: its connection is cut.
    expect((await held.ended).response).toBe('');
    // A new connection is refused: the port is closed.
    expect(await newConnection(port)).toEqual({ response: '', error: 'ECONNREFUSED' });
  });

  it('a graceful close (drain, calls done) lets an answer still being written go out in full, and answers new requests 503 Draining until the port closes', async () => {
    const { server, port, closing } = await start(0); // within the old window: was taken as forced
    const reader = await opened(port);
    reader.socket.pause(); // reads nothing: the big answer stays half written
    reader.socket.write(rawRequest(port, 'big'));
    await waitFor(() => server.inFlight === 0 && reader.socket.bytesWritten > 0, 'the big call handled');
    const fresh = await opened(port);
    const drained = server.drain({ timeoutMs: 10_000 });
    expect(await closing).toEqual({ forced: false });
    // Close began with the answer under way: nothing is cut yet.
    fresh.socket.write(rawRequest(port, 'echo', ['late']));
    const late = await fresh.ended;
    expect(late.error).toBeUndefined();
    expect(late.response).toMatch(/^HTTP\/1\.1 503 /);
    expect(late.response).toContain(`"code":${ErrorCodes.Draining}`);
    reader.socket.resume();
    const { response, error } = await reader.ended;
    expect(error).toBeUndefined();
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    const body = response.slice(response.indexOf('\r\n\r\n') + 4);
    expect(JSON.parse(body).result).toHaveLength(BIG);
    await drained;
    expect(await newConnection(port)).toEqual({ response: '', error: 'ECONNREFUSED' });
  });
});
