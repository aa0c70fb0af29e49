import { createClient, createServer, type RpcServer } from '@resilient-rpc/core';
import { selfSigned } from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type WsTransport, wsTransport } from '../src/index.js';
import { RawClient } from './raw-client.js';

const methods = { add: ([a, b]: [number, number]) => a + b };

describe('wsTransport().listen(url): the server side from a listen URL', () => {
  const servers: RpcServer[] = [];
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const serve = async (url: string, transport: WsTransport = wsTransport()) => {
    const server = createServer({ methods });
    servers.push(server);
    return server.listen(transport.listen(url));
  };
  const call = async (endpoint: string, transport = wsTransport()) => {
    const client = createClient({ transports: [transport], endpoints: [endpoint], retry: false });
    try {
      return await client.call('add', [2, 3]);
    } finally {
      await client.close();
      await transport.close?.();
    }
  };

  it('listens on port 0 and reports the real port; the reported URL is the client endpoint', async () => {
    const listener = await serve('ws://127.0.0.1:0/rpc');
    const url = listener.urls[0]!;
    const port = Number(new URL(url).port);
    expect(url).toBe(`ws://127.0.0.1:${port}/rpc`);
    expect(port).toBeGreaterThan(0);
    expect(await call(url)).toBe(5);
  });

  it('createServer({ transports }).listen(url) picks it by scheme: no WebSocket-specific server code', async () => {
    const server = createServer({ methods, transports: [wsTransport()] });
    servers.push(server);
    const listener = await server.listen('ws://127.0.0.1:0/rpc');
    expect(listener.transport).toBe('ws');
    expect(server.urls).toEqual(listener.urls);
    expect(listener.urls[0]).toMatch(/^ws:\/\/127\.0\.0\.1:[1-9]\d*\/rpc$/);
    expect(await call(listener.urls[0]!)).toBe(5);
  });

  it('accepts upgrades on the URL path only', async () => {
    const listener = await serve('ws://127.0.0.1:0/api/v2/calc');
    const url = listener.urls[0]!;
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/api\/v2\/calc$/);
    expect(await call(url)).toBe(5);
    await expect(RawClient.open(url.replace('/api/v2/calc', '/rpc'))).rejects.toThrow(/404/);
  });

  it('binds every interface for 0.0.0.0 and reports a loopback URL', async () => {
    const listener = await serve('ws://0.0.0.0:0/rpc');
    expect(listener.urls[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/rpc$/);
    expect(await call(listener.urls[0]!)).toBe(5);
  });

  it('takes an IPv6 host in brackets and reports it in brackets', async () => {
    const listener = await serve('ws://[::1]:0/rpc');
    expect(listener.urls[0]).toMatch(/^ws:\/\/\[::1\]:[1-9]\d*\/rpc$/);
    expect(await call(listener.urls[0]!)).toBe(5);
  });

  it('applies the server options given to the transport (maxConnections)', async () => {
    const listener = await serve('ws://127.0.0.1:0/rpc', wsTransport({ server: { maxConnections: 1 } }));
    const url = listener.urls[0]!;
    const first = await RawClient.open(url);
    cleanups.push(() => first.close());
    await expect(RawClient.open(url)).rejects.toThrow(/503/);
    expect(await first.request({ jsonrpc: '2.0', id: 1, method: 'add', params: [20, 22] })).toMatchObject({
      result: 42,
    });
  });

  it('serves wss:// URLs with server.tls', async () => {
    const pair = selfSigned();
    pair.remove();
    const listener = await serve(
      'wss://127.0.0.1:0/rpc',
      wsTransport({ server: { tls: { key: pair.key, cert: pair.cert } } }),
    );
    const url = listener.urls[0]!;
    expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/rpc$/);
    expect(await call(url, wsTransport({ tls: { ca: pair.cert } }))).toBe(5);
  });

  it('refuses URLs it cannot serve with a TypeError that says why', () => {
    const transport = wsTransport();
    expect(() => transport.listen('http://127.0.0.1:0/rpc')).toThrow(/ws:\/\/ and wss:\/\/ URLs, not http/);
    expect(() => transport.listen('not a url')).toThrow(TypeError);
    expect(() => transport.listen('wss://127.0.0.1:0/rpc')).toThrow(/needs a certificate/);
    expect(() => transport.listen('ws://127.0.0.1:0/rpc#x')).toThrow(/no credentials, query or fragment/);
    const pair = selfSigned();
    pair.remove();
    const secure = wsTransport({ server: { tls: { key: pair.key, cert: pair.cert } } });
    expect(() => secure.listen('ws://127.0.0.1:0/rpc')).toThrow(/listen on a wss:\/\/ URL/);
  });

  it('fails start with the bind error when the port is taken', async () => {
    const first = await serve('ws://127.0.0.1:0/rpc');
    const port = new URL(first.urls[0]!).port;
    await expect(serve(`ws://127.0.0.1:${port}/rpc`)).rejects.toThrow(/EADDRINUSE/);
  });
});
