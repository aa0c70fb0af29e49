/**
 * The transport's own agents close a keep-alive socket once it has been free for
 * `idleSocketTimeoutMs` (or the server's Keep-Alive hint less 1 s), with the timer armed only
 * while the socket is free: a socket is reused while it is fresh, and an answer slower than the
 * idle time is not cut. Real node:http servers on 127.0.0.1 port 0.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { defaultRandom, systemClock } from '@resilient-rpc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { httpTransport } from '../src/index.js';

interface Served {
  url: string;
  /** Every connection the server accepted, with when it opened and (once it did) closed. */
  connections: Array<{ opened: number; closed?: number }>;
}

const servers: Server[] = [];

/** An echo answering after `delayMs`; node:http's Keep-Alive hint is `keepAliveTimeoutMs` rounded down to seconds. */
async function serve(delayMs = 0, keepAliveTimeoutMs = 30_000): Promise<Served> {
  const connections: Served['connections'] = [];
  const server = createHttpServer({ keepAliveTimeout: keepAliveTimeoutMs }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { id, params } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        id: number;
        params: unknown;
      };
      setTimeout(() => {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ jsonrpc: '2.0', id, result: params }));
      }, delayMs);
    });
  });
  server.on('connection', (socket: Socket) => {
    const entry: Served['connections'][number] = { opened: performance.now() };
    connections.push(entry);
    socket.once('close', () => {
      entry.closed = performance.now();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc`, connections };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const until = async (condition: () => boolean, timeoutMs: number) => {
  const stop = performance.now() + timeoutMs;
  while (!condition() && performance.now() < stop) await new Promise((resolve) => setTimeout(resolve, 10));
};

/** When the server saw the first connection close (waits up to 3 s for it; fails if it did not). */
async function closedAt(served: Served): Promise<number> {
  await until(() => served.connections[0]!.closed !== undefined, 3_000);
  const closed = served.connections[0]!.closed;
  expect(closed).toBeDefined();
  return closed!;
}

/**
 * The transport's connection alone (no core policies: no health probes, no hedges), and when one
 * of its sockets was last freed. That time is read by a 'free' listener that node:http's
 * `net.client.socket` channel lets this test add to each socket the client opens, before the
 * agent adds its own: it runs just before the agent notes the release the idle time counts from,
 * in the same event. A call resolves later than that, by however long a loaded machine keeps this
 * process from a core, so a time read after the call would make the socket look free for less
 * than it was (the idle-time bounds below failed once so under load).
 */
function clientOf(url: string, idleSocketTimeoutMs: number) {
  let lastFreed = Number.NaN;
  const onFree = () => {
    lastFreed = performance.now();
  };
  const onSocket = (message: unknown) => (message as { socket: Socket }).socket.on('free', onFree);
  subscribe('net.client.socket', onSocket);
  const transport = httpTransport({ idleSocketTimeoutMs });
  const connection = transport.connect(url, { clock: systemClock, random: defaultRandom });
  let id = 0;
  return {
    /** When a socket of this client was last freed (`performance.now()`). */
    lastFreed: () => {
      expect(lastFreed).not.toBeNaN();
      return lastFreed;
    },
    call: async (params: unknown) => {
      const answer = await connection.send(
        { jsonrpc: '2.0', method: 'echo', params: params as unknown[], id: ++id },
        { signal: new AbortController().signal, timeoutMs: 5_000, metadata: {} },
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

describe('the transport closes idle keep-alive sockets (idleSocketTimeoutMs)', () => {
  it('reuses a socket freed moments ago, and closes it once it has been free for idleSocketTimeoutMs', async () => {
    const served = await serve();
    const client = clientOf(served.url, 300);
    try {
      expect(await client.call([1])).toEqual([1]);
      expect(await client.call([2])).toEqual([2]);
      const freed = client.lastFreed();
      expect(served.connections).toHaveLength(1);
      const closed = await closedAt(served);
      // Not before it was free for 300 ms: `freed` is no later than the release the client counts
      // from, and the server sees the close no sooner than the client makes it (no margin needed).
      expect(closed - freed).toBeGreaterThanOrEqual(300);
    } finally {
      await client.close();
    }
  });

  it('does not cut an answer slower than idleSocketTimeoutMs, and keeps its socket for the next call', async () => {
    const served = await serve(600);
    const client = clientOf(served.url, 200);
    try {
      expect(await client.call(['slow'])).toEqual(['slow']);
      expect(served.connections[0]!.closed).toBeUndefined();
      expect(await client.call(['again'])).toEqual(['again']);
      expect(served.connections).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('keeps a socket whose idle timer fired while it was in use, and closes it once free for idleSocketTimeoutMs again', async () => {
    // The first call's release arms the socket's timer (150 ms); the second call holds the socket
    // 500 ms, so the timer fires while it is in use: the socket stays, and its release re-arms it.
    const served = await serve(500);
    const client = clientOf(served.url, 150);
    try {
      expect(await client.call(['a'])).toEqual(['a']);
      expect(await client.call(['b'])).toEqual(['b']);
      const freed = client.lastFreed();
      expect(served.connections).toHaveLength(1);
      expect(served.connections[0]!.closed).toBeUndefined();
      const closed = await closedAt(served);
      expect(closed - freed).toBeGreaterThanOrEqual(150);
    } finally {
      await client.close();
    }
  });

  it('keeps a socket reused now and then past its first idle time, and closes it once free for idleSocketTimeoutMs after its last release', async () => {
    // Releases every ~60 ms for ~700 ms: the timer armed at the first release (300 ms) fires while
    // the socket is free but was freed again since, so it waits out the rest instead of closing it.
    const served = await serve();
    const client = clientOf(served.url, 300);
    try {
      const start = performance.now();
      for (let i = 0; performance.now() - start < 700; i++) {
        expect(await client.call([i])).toEqual([i]);
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      const freed = client.lastFreed();
      expect(served.connections).toHaveLength(1);
      expect(served.connections[0]!.closed).toBeUndefined();
      const closed = await closedAt(served);
      expect(closed - freed).toBeGreaterThanOrEqual(300);
    } finally {
      await client.close();
    }
  });

  it("closes it sooner when the server's Keep-Alive hint (less 1 s) is shorter", async () => {
    // keepAliveTimeout 2.5 s: node:http sends `Keep-Alive: timeout=2`, so the client closes after 1 s.
    const served = await serve(0, 2_500);
    const client = clientOf(served.url, 30_000);
    try {
      expect(await client.call([1])).toEqual([1]);
      const freed = client.lastFreed();
      const closed = await closedAt(served);
      expect(closed - freed).toBeGreaterThanOrEqual(1_000);
      // The client's close, not the server's (at 2.5 s).
      expect(closed - freed).toBeLessThan(2_400);
    } finally {
      await client.close();
    }
  });
});
