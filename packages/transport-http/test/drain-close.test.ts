import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { createServer, ErrorCodes, type RpcServer, type ServerListener } from '@resilient-rpc/core';
import { sleep, waitFor } from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { httpListener } from '../src/index.js';
import { echoMethods, type Started, startServer } from './helpers.js';

/** 8 MiB: more than the socket buffers of both ends hold, so the answer waits for its reader. */
const BIG = 8 * 1024 * 1024;

const servers: RpcServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/**
 * A server that drains (new requests get 503 Draining) with one call in flight (`sleep` 400 ms on
 * a connection of its own): the tests call `listener.close()` themselves (by hand, after
 * stopAccepting(): a graceful close), as the core does once its calls are done (it calls it again
 * later, which is harmless).
 */
async function draining(): Promise<Started & { held: Promise<Outcome> }> {
  const s = await startServer();
  servers.push(s.server);
  const socket = connectTcp({ host: '127.0.0.1', port: s.listener.port! });
  const held = outcome(socket);
  socket.write(rawRequest(s.listener.port!, 'sleep', [400]));
  await waitFor(() => s.server.inFlight === 1, 'the held call in flight');
  void s.server.drain({ timeoutMs: 10_000 });
  return { ...s, held };
}

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

function rawRequest(port: number, method = 'echo', params: unknown[] = ['x']): string {
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

/**
 * A client on its own thread: opens `count` connections to `port` and writes a whole request on
 * each while this thread is blocked, so that they wait in the kernel's accept queue (the server's
 * event loop accepts nothing meanwhile); then reports what came back on each.
 */
const QUEUED_CLIENT = `
const { connect } = require('node:net');
const { workerData, parentPort } = require('node:worker_threads');
const { count, request, flags } = workerData;
const state = new Int32Array(flags);
parentPort.postMessage('ready');
Atomics.wait(state, 0, 0);
const port = state[2];
let written = 0;
const outcomes = [];
for (let i = 0; i < count; i++) {
  const socket = connect({ host: '127.0.0.1', port });
  let response = '';
  let error;
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => { response += chunk; });
  socket.on('error', (e) => { error = e.code; });
  socket.on('close', () => {
    outcomes.push(error === undefined ? { response } : { response, error });
    if (outcomes.length === count) parentPort.postMessage(outcomes);
  });
  socket.write(request, () => {
    if (++written === count) { Atomics.store(state, 1, 1); Atomics.notify(state, 1); }
  });
}
`;

function expectDrainingAnswer({ response, error }: Outcome): void {
  expect(error).toBeUndefined();
  expect(response).toMatch(/^HTTP\/1\.1 503 /);
  expect(response).toMatch(/\r\nconnection: close\r\n/i);
  expect(response).toContain(`"code":${ErrorCodes.Draining}`);
}

describe('HTTP listener: a graceful close loses no request a client sent (answered 503 Draining, never reset)', () => {
  it("requests still in the kernel's accept queue when close() begins are answered 503 Draining", async () => {
    const count = 4;
    const flags = new SharedArrayBuffer(12);
    const state = new Int32Array(flags);
    // The Host header is not checked: any port will do in the request's text.
    const worker = new Worker(QUEUED_CLIENT, {
      eval: true,
      workerData: { count, request: rawRequest(0), flags },
    });
    try {
      await once(worker, 'message'); // ready, before the server drains (its call in flight lasts 400 ms)
      const outcomes = once(worker, 'message') as Promise<[Outcome[]]>;
      const { listener, held } = await draining();
      // This thread blocks until every request is written: none of them is accepted yet.
      Atomics.store(state, 2, listener.port!);
      Atomics.store(state, 0, 1);
      Atomics.notify(state, 0);
      expect(Atomics.wait(state, 1, 0, 10_000)).not.toBe('timed-out');
      const closing = listener.close();
      const [answers] = await outcomes;
      await closing;
      expect((await held).response).toMatch(/^HTTP\/1\.1 200 /);
      expect(answers).toHaveLength(count);
      for (const answer of answers) expectDrainingAnswer(answer);
    } finally {
      await worker.terminate();
    }
  });

  it('a connection that sends its request only after close() began is answered 503 Draining, then closed', async () => {
    const { listener, held } = await draining();
    const socket = connectTcp({ host: '127.0.0.1', port: listener.port! });
    const answered = outcome(socket);
    await once(socket, 'connect');
    // The call in flight is answered: nothing is under way, one connection has no request yet.
    expect((await held).response).toMatch(/^HTTP\/1\.1 200 /);
    const closing = listener.close();
    await sleep(100);
    socket.write(rawRequest(listener.port!));
    expectDrainingAnswer(await answered);
    await closing;
  });

  it('a connection that never sends a request is closed once the 1 s close grace is over', async () => {
    const { listener } = await draining();
    const socket = connectTcp({ host: '127.0.0.1', port: listener.port! });
    const ended = outcome(socket);
    await once(socket, 'connect');
    const began = performance.now();
    await listener.close();
    // Budget: the 1 000 ms grace; margin 1 500 ms for a loaded machine.
    expect(performance.now() - began).toBeLessThan(2_500);
    expect((await ended).response).toBe('');
  });
});

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
    expectDrainingAnswer(await fresh.ended);
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
