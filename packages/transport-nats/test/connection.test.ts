import { createServer as createTcpServer, type Socket } from 'node:net';
import { connect } from '@nats-io/transport-node';
import {
  type ClientConnection,
  type ConnectionEvent,
  createServer,
  defaultRandom,
  type JsonRpcRequest,
  RpcError,
  type SendOptions,
  systemClock,
} from '@resilient-rpc/core';
import { type NatsServerHandle, startNatsServer, waitFor } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsListener, natsTransport } from '../src/index.js';

const connectOptions = { clock: systemClock, random: defaultRandom };
let nextId = 1;
const request = (method: string, params?: unknown[]): JsonRpcRequest => ({
  jsonrpc: '2.0',
  id: nextId++,
  method,
  ...(params && { params }),
});
const options = (timeoutMs = 5_000, signal = new AbortController().signal): SendOptions => ({
  signal,
  timeoutMs,
  metadata: { deadlineMs: timeoutMs, attempt: 1 },
});
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => {
      expect(RpcError.isInstance(error)).toBe(true);
      return error as RpcError;
    },
  );
const sleepFor = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

describe('NATS client connection', () => {
  let broker: NatsServerHandle;
  beforeAll(async () => {
    broker = await startNatsServer();
  });
  afterAll(async () => {
    await broker?.kill();
  });

  it('reports no responders as `rejected` at once, not after the timeout', async () => {
    const transport = natsTransport();
    const connection = transport.connect(`${broker.url}/nobody.here`, connectOptions);
    // Timed from an open connection: the claim is about the call, not the first connect (a TCP
    // connect and NATS handshake with a broker process, which a loaded machine stretches).
    await waitFor(() => connection.status === 'open', 'the connection to open', 10_000, 5);
    const started = Date.now();
    const error = await failure(connection.send(request('echo'), options(10_000)));
    expect(error.kind).toBe('rejected');
    expect(error.retryable).toBe(true);
    // At once: the broker answers "no responders" in a round trip; bound 1 s (margin for a loaded
    // machine), against the 10 s timeout a call without that answer would wait.
    expect(Date.now() - started).toBeLessThan(1_000);
    await transport.close?.();
  });

  it('replies come back on the inbox prefix of the options (default _INBOX)', async () => {
    const raw = await connect({ servers: broker.url });
    const replies: string[] = [];
    raw.subscribe('conn.inbox', {
      callback: (_error, msg) => {
        replies.push(msg.reply ?? '');
        msg.respond(JSON.stringify({ jsonrpc: '2.0', id: JSON.parse(msg.string()).id, result: 1 }));
      },
    });
    await raw.flush();
    for (const inboxPrefix of [undefined, 'custom.replies']) {
      const transport = natsTransport(inboxPrefix === undefined ? {} : { inboxPrefix });
      const connection = transport.connect(`${broker.url}/conn.inbox`, connectOptions);
      expect(await connection.send(request('x'), options())).toMatchObject({ result: 1 });
      await transport.close?.();
    }
    expect(replies.map((reply) => reply.split('.').slice(0, -2).join('.'))).toEqual([
      '_INBOX',
      'custom.replies',
    ]);
    await raw.close();
  });

  it('times out (`timeout`) when the service does not answer in time, and honours abort', async () => {
    const server = createServer({ methods: { slow: ([ms]: [number], c) => sleepFor(ms, c.signal) } });
    const listener = await server.listen(natsListener({ servers: broker.url, subject: 'conn.slow' }));
    const transport = natsTransport();
    const connection = transport.connect(listener.urls[0] ?? '', connectOptions);
    expect((await failure(connection.send(request('slow', [2_000]), options(200)))).kind).toBe('timeout');

    const controller = new AbortController();
    const pending = connection.send(request('slow', [2_000]), options(10_000, controller.signal));
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    // Aborted after it was sent: it may have been processed.
    const aborted = await failure(pending);
    expect([aborted.kind, aborted.endpoint]).toEqual(['timeout', listener.urls[0]]);
    expect(Date.now() - started).toBeLessThan(1_500);
    await transport.close?.();
    await server.close();
  });

  it('shares one connection between endpoints on the same servers and supports batches and notifications', async () => {
    const server = createServer({ methods: { echo: (p: unknown) => p } });
    const a = await server.listen(natsListener({ servers: broker.url, subject: 'conn.a' }));
    const b = await server.listen(natsListener({ servers: broker.url, subject: 'conn.b' }));
    const transport = natsTransport();
    const ca = transport.connect(a.urls[0] ?? '', connectOptions);
    const cb = transport.connect(b.urls[0] ?? '', connectOptions);
    expect(ca.capabilities).toEqual({ batch: true, ping: true, persistentConnection: true });
    const [ra, rb] = await Promise.all([
      ca.send(request('echo', ['a']), options()),
      cb.send(request('echo', ['b']), options()),
    ]);
    expect(ra).toMatchObject({ result: ['a'] });
    expect(rb).toMatchObject({ result: ['b'] });
    const batch = await ca.sendBatch?.([request('echo', [1]), request('echo', [2])], options());
    expect(batch?.map((r) => ('result' in r ? r.result : undefined)).sort()).toEqual([[1], [2]]);
    await expect(ca.send({ jsonrpc: '2.0', method: 'echo' }, options())).resolves.toBeUndefined();
    await ca.ping?.({ signal: new AbortController().signal, timeoutMs: 2_000 });
    await ca.close();
    // the other endpoint still works on the shared connection
    expect(await cb.send(request('echo', ['still']), options())).toMatchObject({ result: ['still'] });
    await cb.close();
    await transport.close?.();
    await server.close();
  });

  it('fails in-flight calls with `connection-lost` when the broker dies, then reconnects', async () => {
    const own = await startNatsServer();
    const server = createServer({
      methods: { slow: ([ms]: [number], c) => sleepFor(ms, c.signal), echo: (p: unknown) => p },
    });
    await server.listen(natsListener({ servers: own.url, subject: 'conn.lost' }));
    const transport = natsTransport({ reconnectTimeWait: 100 });
    const connection: ClientConnection = transport.connect(`${own.url}/conn.lost`, connectOptions);
    const events: ConnectionEvent[] = [];
    connection.onEvent((event) => events.push(event));
    expect(await connection.send(request('echo', [1]), options())).toMatchObject({ result: [1] });
    expect(connection.status).toBe('open');

    const inFlight = Array.from({ length: 5 }, () =>
      failure(connection.send(request('slow', [5_000]), options(20_000))),
    );
    // In flight: being handled when the broker dies (not a sleep, which a loaded machine outlasts).
    await waitFor(() => server.inFlight === 5, 'the 5 calls in flight', 5_000, 5);
    const started = Date.now();
    await own.kill('SIGKILL');
    const errors = await Promise.all(inFlight);
    expect(errors.map((e) => e.kind)).toEqual(Array(5).fill('connection-lost'));
    // When the broker dies its socket closes at once; bound 1 s (margin for a loaded machine), not the 20 s timeout.
    expect(Date.now() - started).toBeLessThan(1_000);
    await waitFor(() => connection.status === 'reconnecting', 'status reconnecting');

    await own.restart();
    await waitFor(() => connection.status === 'open', 'reconnected', 15_000);
    expect(events.some((e) => e.type === 'status' && e.status === 'reconnecting')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'status', status: 'open' });
    // the listener reconnected too
    await waitFor(
      async () => {
        try {
          await connection.send(request('echo', [2]), options(1_000));
          return true;
        } catch {
          return false;
        }
      },
      'service reachable again',
      15_000,
      100,
    );
    await transport.close?.();
    await server.close();
    await own.kill();
  });

  it('(e) drain loses no in-flight call', async () => {
    // The handlers hold every call until the drain has begun (released 300 ms into it).
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = createServer({
      methods: {
        slow: async ([v]: [number]) => {
          await released;
          return v;
        },
      },
    });
    const listener = await server.listen(natsListener({ servers: broker.url, subject: 'conn.drain' }));
    const transport = natsTransport();
    const connection = transport.connect(listener.urls[0] ?? '', connectOptions);
    const calls = Array.from({ length: 20 }, (_, i) =>
      connection.send(request('slow', [i]), options(10_000)),
    );
    // In flight means being handled: wait until the server holds all 20. (A fixed 100 ms sleep here
    // let a loaded machine begin the drain before the requests reached the dispatcher: all 20 were
    // answered -32003 'server is draining', not processed, as documented; not in flight.)
    await waitFor(() => server.inFlight === 20, 'the 20 calls in flight', 5_000, 5);
    const drained = server.drain();
    setTimeout(release, 300);
    const responses = await Promise.all(calls);
    expect(responses.map((r) => (r && 'result' in r ? r.result : r))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    await drained;
    // after the drain nobody serves the subject: the broker says so at once
    expect((await failure(connection.send(request('slow', [1]), options(5_000)))).kind).toBe('rejected');
    await transport.close?.();
  });

  it('a ping fails `timeout` when the broker stops answering PINGs, and when its signal aborts', async () => {
    // A broker that completes the handshake (INFO, the first PONG) and then answers no PING.
    const sockets = new Set<Socket>();
    const mute = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      let pongs = 0;
      socket.write(
        'INFO {"server_id":"mute","version":"2.10.0","proto":1,"headers":true,"max_payload":1048576}\r\n',
      );
      socket.on('data', (chunk) => {
        if (chunk.toString().includes('PING\r\n') && pongs++ === 0) socket.write('PONG\r\n');
      });
    });
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const { port } = mute.address() as { port: number };
    const transport = natsTransport({ servicePing: false });
    const connection = transport.connect(`nats://127.0.0.1:${port}/mute`, connectOptions);
    try {
      await waitFor(() => connection.status === 'open', 'the handshake', 5_000);
      const timedOut = await failure(
        connection.ping!({ signal: new AbortController().signal, timeoutMs: 200 }),
      );
      expect([timedOut.kind, timedOut.message]).toEqual([
        'timeout',
        'no PONG from the NATS server within 200 ms',
      ]);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const aborted = await failure(connection.ping!({ signal: controller.signal, timeoutMs: 5_000 }));
      expect([aborted.kind, aborted.message]).toEqual(['timeout', 'ping aborted']);
      // closing the connection fails a ping still out
      const out = failure(connection.ping!({ signal: new AbortController().signal, timeoutMs: 5_000 }));
      await connection.close();
      expect((await out).kind).toBe('connection-lost');
    } finally {
      await transport.close?.();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));
    }
  });
});
