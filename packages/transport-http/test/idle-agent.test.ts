/**
 * The transport's own agents close a keep-alive socket once it has been free for
 * `idleSocketTimeoutMs` (or the server's Keep-Alive hint less 1 s), with the timer armed only
 * while the socket is free: a socket is reused while it is fresh, and an answer slower than the
 * idle time is not cut. Real node:http servers on 127.0.0.1 port 0; the client's timers and
 * `performance.now()` on a manual clock (only `setTimeout` and `performance` are faked, so the
 * sockets' I/O runs as usual), so that how long a socket is free is what the test advances,
 * whatever the machine's load. A test that read the real time once failed under load: the call
 * resolved late, so the socket looked free for less than it was.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { defaultRandom, systemClock } from '@resilient-rpc/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { httpTransport } from '../src/index.js';

/** The real `setTimeout`, for waiting on the sockets while the client's clock is manual. */
const realSetTimeout = globalThis.setTimeout;

interface Served {
  url: string;
  /** With `hold`: the answers held back, in arrival order; calling one sends it. */
  held: Array<() => void>;
}

const servers: Server[] = [];

/** An echo answering at once or (`hold`) when the test sends the answer; node:http's Keep-Alive hint is `keepAliveTimeoutMs` rounded down to seconds. */
async function serve({ hold = false, keepAliveTimeoutMs = 30_000 } = {}): Promise<Served> {
  const held: Served['held'] = [];
  const server = createHttpServer({ keepAliveTimeout: keepAliveTimeoutMs }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { id, params } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        id: number;
        params: unknown;
      };
      const answer = () => {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ jsonrpc: '2.0', id, result: params }));
      };
      if (hold) held.push(answer);
      else answer();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc`, held };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});

afterEach(async () => {
  vi.useRealTimers();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Waits (real time, up to 3 s) for the server to hold an answer back, and returns it. */
async function heldAnswer(served: Served): Promise<() => void> {
  const stop = Date.now() + 3_000;
  while (served.held.length === 0 && Date.now() < stop)
    await new Promise((resolve) => realSetTimeout(resolve, 5));
  expect(served.held).toHaveLength(1);
  return served.held.shift()!;
}

/**
 * The transport's connection alone (no core policies: no health probes, no hedges), and the
 * sockets it opened, seen through node:http's `net.client.socket` channel.
 */
function clientOf(url: string, idleSocketTimeoutMs: number) {
  const sockets: Socket[] = [];
  const onSocket = (message: unknown) => sockets.push((message as { socket: Socket }).socket);
  subscribe('net.client.socket', onSocket);
  const transport = httpTransport({ idleSocketTimeoutMs });
  const connection = transport.connect(url, { clock: systemClock, random: defaultRandom });
  let id = 0;
  return {
    sockets,
    call: async (params: unknown) => {
      const answer = await connection.send(
        { jsonrpc: '2.0', method: 'echo', params: params as unknown[], id: ++id },
        { signal: new AbortController().signal, timeoutMs: 60_000, metadata: {} },
      );
      return answer !== undefined && 'result' in answer ? answer.result : answer;
    },
    close: async () => {
      unsubscribe('net.client.socket', onSocket);
      await connection.close();
      await transport.close?.();
    },
  };
}

/** A call the server answers once the client's clock has moved `heldMs` (the socket in use meanwhile). */
async function slowCall(
  client: ReturnType<typeof clientOf>,
  served: Served,
  params: unknown[],
  heldMs: number,
) {
  const call = client.call(params);
  const answer = await heldAnswer(served);
  await vi.advanceTimersByTimeAsync(heldMs);
  answer();
  return call;
}

/** The client's one socket is open after `ms - 1` more ms of its clock, and closed after `ms`. */
async function expectClosedAfter(client: ReturnType<typeof clientOf>, ms: number) {
  expect(client.sockets).toHaveLength(1);
  const [socket] = client.sockets;
  await vi.advanceTimersByTimeAsync(ms - 1);
  expect(socket!.destroyed).toBe(false);
  await vi.advanceTimersByTimeAsync(1);
  expect(socket!.destroyed).toBe(true);
}

describe('the transport closes idle keep-alive sockets (idleSocketTimeoutMs)', () => {
  it('reuses a socket freed moments ago, and closes it once it has been free for idleSocketTimeoutMs', async () => {
    const served = await serve();
    const client = clientOf(served.url, 300);
    try {
      expect(await client.call([1])).toEqual([1]);
      await vi.advanceTimersByTimeAsync(200);
      expect(await client.call([2])).toEqual([2]);
      // Free for 300 ms since the second call's release (the timer armed at the first fires at 300).
      await expectClosedAfter(client, 300);
    } finally {
      await client.close();
    }
  });

  it('does not cut an answer slower than idleSocketTimeoutMs, and keeps its socket for the next call', async () => {
    const served = await serve({ hold: true });
    const client = clientOf(served.url, 200);
    try {
      expect(await slowCall(client, served, ['slow'], 600)).toEqual(['slow']);
      expect(client.sockets[0]!.destroyed).toBe(false);
      expect(await slowCall(client, served, ['again'], 600)).toEqual(['again']);
      expect(client.sockets).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('keeps a socket whose idle timer fired while it was in use, and closes it once free for idleSocketTimeoutMs again', async () => {
    // The first call's release arms the socket's timer (150 ms); the second call holds the socket
    // 500 ms, so the timer fires while it is in use: the socket stays, and its release re-arms it.
    const served = await serve({ hold: true });
    const client = clientOf(served.url, 150);
    try {
      expect(await slowCall(client, served, ['a'], 500)).toEqual(['a']);
      expect(await slowCall(client, served, ['b'], 500)).toEqual(['b']);
      await expectClosedAfter(client, 150);
    } finally {
      await client.close();
    }
  });

  it('keeps a socket reused now and then past its first idle time, and closes it once free for idleSocketTimeoutMs after its last release', async () => {
    // Releases every 60 ms for 660 ms: the timer armed at the first release (300 ms) fires while
    // the socket is free but was freed again since, so it waits out the rest instead of closing it.
    const served = await serve();
    const client = clientOf(served.url, 300);
    try {
      for (let i = 0; i < 12; i++) {
        if (i > 0) await vi.advanceTimersByTimeAsync(60);
        expect(await client.call([i])).toEqual([i]);
      }
      await expectClosedAfter(client, 300);
    } finally {
      await client.close();
    }
  });

  it("closes it sooner when the server's Keep-Alive hint (less 1 s) is shorter", async () => {
    // keepAliveTimeout 10.5 s (real time, so the server never closes first): node:http sends
    // `Keep-Alive: timeout=10`, so the client closes after 9 s.
    const served = await serve({ keepAliveTimeoutMs: 10_500 });
    const client = clientOf(served.url, 30_000);
    try {
      expect(await client.call([1])).toEqual([1]);
      await expectClosedAfter(client, 9_000);
    } finally {
      await client.close();
    }
  });
});
