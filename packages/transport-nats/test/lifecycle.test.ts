/**
 * Issue 16's NATS lifecycle: a broker that cannot be reached fails calls `not-sent` within a
 * bound (not their deadline); closing cancels a pending connect and leaves nothing that keeps the
 * process alive or dials again; timers run on the injected clock.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createClient,
  defaultRandom,
  type JsonRpcRequest,
  type RpcClient,
  RpcError,
  systemClock,
} from '@resilient-rpc/core';
import { ManualClock } from '@resilient-rpc/core/testing';
import { freePort, spawnScript, startNatsServer, waitFor } from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { natsTransport } from '../src/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/close-and-exit.ts', import.meta.url));
const request: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method: 'echo', params: ['x'] };
const sendOptions = (timeoutMs: number) => ({
  signal: new AbortController().signal,
  timeoutMs,
  metadata: { deadlineMs: timeoutMs },
});

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

/**
 * A TCP server on 127.0.0.1 that plays a broken broker: `silent` accepts and never speaks (the
 * NATS handshake never completes), `drop` closes every connection at once. Counts accepted
 * connections.
 */
async function fakeBroker(behaviour: 'silent' | 'drop', port = 0) {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createTcpServer((socket) => {
    accepted++;
    socket.on('error', () => {});
    if (behaviour === 'drop') socket.destroy();
    else {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const handle = {
    url: `nats://127.0.0.1:${bound}`,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  cleanup.push(handle.close);
  return handle;
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => {
      expect(RpcError.isInstance(error)).toBe(true);
      return error as RpcError;
    },
  );

describe('NATS lifecycle (issue 16)', () => {
  it('nothing listens at the broker address: a call fails not-sent with the reason at once', async () => {
    const url = `nats://127.0.0.1:${await freePort()}/nobody`;
    const transport = natsTransport();
    cleanup.push(async () => transport.close?.());
    const connection = transport.connect(url, { clock: systemClock, random: defaultRandom });
    const started = performance.now();
    const error = await failureOf(connection.send(request, sendOptions(10_000)));
    expect(error.kind).toBe('not-sent');
    expect(error.message).toMatch(/cannot connect to NATS/);
    // one connect attempt (refused at once), far below the 10 s the call had
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('a broker that never completes the handshake: the call fails not-sent after connectWaitMs, not its deadline', async () => {
    const broker = await fakeBroker('silent');
    const transport = natsTransport({ connectWaitMs: 300 });
    cleanup.push(async () => transport.close?.());
    const connection = transport.connect(`${broker.url}/silent`, {
      clock: systemClock,
      random: defaultRandom,
    });
    const started = performance.now();
    const error = await failureOf(connection.send(request, sendOptions(10_000)));
    expect(error.kind).toBe('not-sent');
    expect(error.message).toMatch(/not open within 300 ms/);
    // the bound plus a scheduling margin
    expect(performance.now() - started).toBeLessThan(300 + 500);
  });

  it('a call aborted while it waits for the connection fails not-sent at once', async () => {
    const broker = await fakeBroker('silent');
    const transport = natsTransport({ connectWaitMs: 5_000 });
    cleanup.push(async () => transport.close?.());
    const url = `${broker.url}/aborted`;
    const connection = transport.connect(url, { clock: systemClock, random: defaultRandom });
    const controller = new AbortController();
    const pending = failureOf(
      connection.send(request, { ...sendOptions(10_000), signal: controller.signal }),
    );
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const error = await pending;
    expect([error.kind, error.endpoint]).toEqual(['not-sent', url]);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('through the client, with its retries, an unreachable broker fails the call not-sent in about a second, not after 10 s', async () => {
    const broker = await fakeBroker('silent');
    const client: RpcClient = createClient({
      transports: [natsTransport({ connectWaitMs: 300 })],
      endpoints: [`${broker.url}/silent`],
      heartbeat: false,
    });
    cleanup.push(() => client.close());
    const started = performance.now();
    const error = await failureOf(client.call('echo', ['x'], { deadlineMs: 10_000, idempotent: true }));
    expect(error.kind).toBe('not-sent');
    // three attempts of at most 300 ms each plus backoff (≤ 1 s in all) and a margin
    expect(performance.now() - started).toBeLessThan(3 * 300 + 1_000 + 500);
  });

  it('an endpoint refused for its headers holds no connection: no connect attempts after the refusal', async () => {
    const broker = await fakeBroker('drop'); // every attempt fails at once; a held connection retries every ~250 ms
    const transport = natsTransport();
    cleanup.push(async () => transport.close?.());
    const url = `${broker.url}/headers`;
    const options = { clock: systemClock, random: defaultRandom, headers: { 'bad name': 'x' } };
    expect(() => transport.connect(url, options)).toThrow(/invalid NATS header name/);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // none: the headers are checked before the connection is acquired (a leaked one makes about five)
    expect(broker.accepted).toBe(0);
  });

  it('waits on the injected clock: nothing fails before the manual clock passes connectWaitMs', async () => {
    const broker = await fakeBroker('silent');
    const clock = new ManualClock();
    const transport = natsTransport({ connectWaitMs: 1_000 });
    cleanup.push(async () => transport.close?.());
    const connection = transport.connect(`${broker.url}/manual`, { clock, random: () => 0.5 });
    let settled = false;
    const pending = failureOf(connection.send(request, sendOptions(10_000))).finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // real time passes, clock time does not
    expect(settled).toBe(false);
    clock.advance(999);
    await Promise.resolve();
    expect(settled).toBe(false);
    clock.advance(1);
    expect((await pending).kind).toBe('not-sent');
  });

  it('20 clients closed while their broker drops every connection make no connection attempt afterwards', async () => {
    const port = await freePort();
    const real = await startNatsServer({ port });
    cleanup.push(() => real.kill());
    const clients = Array.from({ length: 20 }, () =>
      createClient({ transports: [natsTransport()], endpoints: [`${real.url}/dropping`], heartbeat: false }),
    );
    cleanup.push(() => Promise.all(clients.map((client) => client.close())));
    // connected (a no-responders answer needs a round trip through the broker)
    await Promise.all(clients.map((client) => failureOf(client.call('echo', [], { deadlineMs: 5_000 }))));
    // the broker goes; in its place something accepts and drops every connection: they all reconnect
    await real.kill();
    const dropping = await fakeBroker('drop', port);
    await waitFor(() => dropping.accepted >= 20, 'the clients dialling again', 10_000);
    await Promise.all(clients.map((client) => client.close()));
    // A dial already under way when close() was called may still be accepted (at most one per
    // client, within the connect timeout); after that nothing may dial again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const afterClose = dropping.accepted;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(dropping.accepted - afterClose).toBe(0);
  });

  it('20 clients closed while their first connect is still being retried make no connection attempt afterwards', async () => {
    const dropping = await fakeBroker('drop');
    const clients = Array.from({ length: 20 }, () =>
      createClient({
        transports: [natsTransport({ connectWaitMs: 200 })],
        endpoints: [`${dropping.url}/dropping`],
        heartbeat: false,
      }),
    );
    cleanup.push(() => Promise.all(clients.map((client) => client.close())));
    const errors = await Promise.all(
      clients.map((client) => failureOf(client.call('echo', [], { deadlineMs: 5_000 }))),
    );
    expect(new Set(errors.map((error) => error.kind))).toEqual(new Set(['not-sent']));
    await Promise.all(clients.map((client) => client.close()));
    const atClose = dropping.accepted;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(dropping.accepted - atClose).toBe(0);
  });

  for (const mode of ['unreachable', 'served'] as const) {
    it(`the process exits by itself once the client is closed (${mode} broker)`, async () => {
      let brokerUrl = `nats://127.0.0.1:${await freePort()}`;
      if (mode === 'served') {
        const broker = await startNatsServer();
        cleanup.push(() => broker.kill());
        brokerUrl = broker.url;
      }
      const child = spawnScript(FIXTURE, { args: [mode, brokerUrl] });
      cleanup.push(() => child.kill('SIGKILL'));
      await child.ready;
      await waitFor(() => child.lines.includes('CLOSED'), 'the client closed', 15_000);
      const closedAt = performance.now();
      const code = await Promise.race([
        child.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running'), 3_000)),
      ]);
      expect(child.lines[0]).toBe(mode === 'served' ? 'ok ["x"]' : 'failed not-sent');
      expect(code).toBe(0);
      expect(performance.now() - closedAt).toBeLessThan(3_000);
    });
  }
});
