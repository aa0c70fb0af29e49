import { createClient, createServer, type RpcServer } from '@resilient-rpc/core';
import { selfSigned } from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { httpTransport } from '../src/index.js';

const methods = { add: ([a, b]: [number, number]) => a + b };

describe('httpTransport().listen(url): the server side from a listen URL', () => {
  const servers: RpcServer[] = [];
  const transports: Array<ReturnType<typeof httpTransport>> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await Promise.all(transports.splice(0).map((transport) => transport.close?.()));
  });
  const serve = async (url: string, transport = httpTransport()) => {
    transports.push(transport);
    const server = createServer({ methods });
    servers.push(server);
    return server.listen(transport.listen(url));
  };
  const call = async (endpoint: string, transport = httpTransport()) => {
    transports.push(transport);
    const client = createClient({ transports: [transport], endpoints: [endpoint], retry: false });
    try {
      return await client.call('add', [2, 3]);
    } finally {
      await client.close();
    }
  };

  it('listens on port 0 and reports the real port; the reported URL is the client endpoint', async () => {
    const listener = await serve('http://127.0.0.1:0/rpc');
    const url = listener.urls[0]!;
    const port = Number(new URL(url).port);
    expect(url).toBe(`http://127.0.0.1:${port}/rpc`);
    expect(port).toBeGreaterThan(0);
    expect(await call(url)).toBe(5);
  });

  it('createServer({ transports }).listen(url) picks it by scheme: no HTTP-specific server code', async () => {
    const transport = httpTransport();
    transports.push(transport);
    const server = createServer({ methods, transports: [transport] });
    servers.push(server);
    const listener = await server.listen('http://127.0.0.1:0/rpc');
    expect(listener.transport).toBe('http');
    expect(server.urls).toEqual(listener.urls);
    expect(listener.urls[0]).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/rpc$/);
    expect(await call(listener.urls[0]!)).toBe(5);
  });

  it('serves the URL path (and only it) as the JSON-RPC path', async () => {
    const listener = await serve('http://127.0.0.1:0/api/v2/calc');
    const url = listener.urls[0]!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v2\/calc$/);
    expect(await call(url)).toBe(5);
    const elsewhere = await fetch(new URL('/rpc', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'add', params: [1, 1] }),
    });
    expect(elsewhere.status).toBe(404);
  });

  it('binds every interface for 0.0.0.0 and reports a loopback URL', async () => {
    const listener = await serve('http://0.0.0.0:0/rpc');
    expect(listener.urls[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/rpc$/);
    expect(await call(listener.urls[0]!)).toBe(5);
  });

  it('takes an IPv6 host in brackets and reports it in brackets', async () => {
    const listener = await serve('http://[::1]:0/rpc');
    expect(listener.urls[0]).toMatch(/^http:\/\/\[::1\]:[1-9]\d*\/rpc$/);
    expect(await call(listener.urls[0]!)).toBe(5);
  });

  it('applies the server options given to the transport (healthPath, limits)', async () => {
    const listener = await serve(
      'http://127.0.0.1:0/rpc',
      httpTransport({ server: { healthPath: '/alive', maxBodyBytes: 64 } }),
    );
    const url = listener.urls[0]!;
    expect((await fetch(new URL('/alive', url))).status).toBe(200);
    expect((await fetch(new URL('/health', url))).status).toBe(404);
    const big = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'add', params: [1, 1], pad: 'x'.repeat(100) }),
    });
    expect(big.status).toBe(413);
  });

  it('serves https:// URLs with server.tls', async () => {
    const pair = selfSigned();
    pair.remove();
    const listener = await serve(
      'https://127.0.0.1:0/rpc',
      httpTransport({ server: { tls: { key: pair.key, cert: pair.cert } } }),
    );
    const url = listener.urls[0]!;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/rpc$/);
    expect(await call(url, httpTransport({ tls: { ca: pair.cert } }))).toBe(5);
  });

  it('refuses URLs it cannot serve with a TypeError that says why', () => {
    const transport = httpTransport();
    transports.push(transport);
    expect(() => transport.listen('ws://127.0.0.1:0/rpc')).toThrow(/http:\/\/ and https:\/\/ URLs, not ws/);
    expect(() => transport.listen('not a url')).toThrow(TypeError);
    expect(() => transport.listen('https://127.0.0.1:0/rpc')).toThrow(/needs a certificate/);
    expect(() => transport.listen('http://127.0.0.1:0/rpc?x=1')).toThrow(/no credentials, query or fragment/);
    expect(() => transport.listen('http://user:pw@127.0.0.1:0/rpc')).toThrow(TypeError);
    const pair = selfSigned();
    pair.remove();
    const secure = httpTransport({ server: { tls: { key: pair.key, cert: pair.cert } } });
    transports.push(secure);
    expect(() => secure.listen('http://127.0.0.1:0/rpc')).toThrow(/listen on an https:\/\/ URL/);
  });

  it('fails start with the bind error when the port is taken', async () => {
    const first = await serve('http://127.0.0.1:0/rpc');
    const port = new URL(first.urls[0]!).port;
    await expect(serve(`http://127.0.0.1:${port}/rpc`)).rejects.toThrow(/EADDRINUSE/);
  });
});
