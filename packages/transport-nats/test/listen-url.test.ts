import { createClient, createServer, type RpcServer } from '@resilient-rpc/core';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsTransport } from '../src/index.js';

const methods = { add: ([a, b]: [number, number]) => a + b };

describe('natsTransport().listen(url): the server side from a listen URL', () => {
  let broker: NatsServerHandle;
  let securedBroker: NatsServerHandle;
  beforeAll(async () => {
    [broker, securedBroker] = await Promise.all([
      startNatsServer(),
      startNatsServer({ args: ['--user', 'svc', '--pass', 'secret'] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([broker?.kill(), securedBroker?.kill()]);
  });
  const servers: RpcServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const serve = async (url: string, transport = natsTransport()) => {
    const server = createServer({ methods });
    servers.push(server);
    return server.listen(transport.listen(url));
  };
  const call = async (endpoint: string, transport = natsTransport()) => {
    const client = createClient({ transports: [transport], endpoints: [endpoint], retry: false });
    try {
      return await client.call('add', [2, 3]);
    } finally {
      await client.close();
      await transport.close?.();
    }
  };

  it('subscribes the URL subject on the URL broker; the listen URL is the client endpoint', async () => {
    const url = `${broker.url}/listen.calc`;
    const listener = await serve(url);
    expect(listener.urls).toEqual([url]);
    expect(await call(url)).toBe(5);
  });

  it('createServer({ transports }).listen(url) picks it by scheme: no NATS-specific server code', async () => {
    const url = `${broker.url}/listen.registered`;
    const server = createServer({ methods, transports: [natsTransport()] });
    servers.push(server);
    const listener = await server.listen(url);
    expect(listener.transport).toBe('nats');
    expect(server.urls).toEqual([url]);
    expect(await call(url)).toBe(5);
  });

  it('listeners of one URL share the queue group: each request runs once', async () => {
    const url = `${broker.url}/listen.shared`;
    let runs = 0;
    for (let i = 0; i < 2; i++) {
      const add = ([a, b]: [number, number]) => {
        runs++;
        return a + b;
      };
      const server = createServer({ methods: { add } });
      servers.push(server);
      await server.listen(natsTransport().listen(url));
    }
    const client = createClient({ transports: [natsTransport()], endpoints: [url], retry: false });
    try {
      for (let i = 0; i < 10; i++) expect(await client.call('add', [i, 1])).toBe(i + 1);
    } finally {
      await client.close();
    }
    expect(runs).toBe(10);
  });

  it('applies the server options given to the transport (discovery name, queue)', async () => {
    const listener = await serve(
      `${broker.url}/listen.named`,
      natsTransport({ server: { service: { name: 'calculator' }, queue: 'calculators' } }),
    );
    expect((listener as { serviceName?: string }).serviceName).toBe('calculator');
    expect(await call(`${broker.url}/listen.named`)).toBe(5);
  });

  it("uses the transport's credentials for its listeners too", async () => {
    const url = `${securedBroker.url}/listen.secured`;
    await serve(url, natsTransport({ user: 'svc', pass: 'secret' }));
    expect(await call(url, natsTransport({ user: 'svc', pass: 'secret' }))).toBe(5);
  });

  it('refuses URLs it cannot serve with a TypeError that says why', () => {
    const transport = natsTransport();
    expect(() => transport.listen('http://127.0.0.1:4222/calc')).toThrow(/unsupported NATS URL scheme/);
    expect(() => transport.listen('nats://127.0.0.1:4222/calc.*')).toThrow(/wildcards/);
    expect(() => transport.listen('nats://127.0.0.1:4222/')).toThrow(/subject is empty/);
    expect(() => transport.listen('nats://127.0.0.1:4222')).toThrow(TypeError);
  });
});
