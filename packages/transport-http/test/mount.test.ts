/**
 * createHttpHandler mounted into servers users already run: plain node:http, express and
 * fastify, each called by the resilient-rpc client and with plain fetch.
 */
import { createServer as createNodeServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, createServer, type RpcServer } from '@resilient-rpc/core';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpHandler, httpTransport } from '../src/index.js';

const rpc = (): RpcServer =>
  createServer({ methods: { add: { paramNames: ['a', 'b'], handler: ([a, b]: number[]) => a! + b! } } });

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

async function callBoth(url: string) {
  const client = createClient({ transports: [httpTransport()], endpoints: [url], heartbeat: false });
  closers.push(() => client.close());
  expect(await client.call('add', [2, 3])).toBe(5);
  expect(await client.call('add', { a: 4, b: 5 })).toBe(9);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'add', params: [1, 1], id: 1 }),
  });
  expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 1, result: 2 });
}

describe('createHttpHandler mounted in an existing server', () => {
  it('serves JSON-RPC from a plain node:http server', async () => {
    const server = createNodeServer(createHttpHandler(rpc()));
    const port = await listen(server);
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    await callBoth(`http://127.0.0.1:${port}/rpc`);
  });

  it('serves JSON-RPC under a prefix in express, next to other routes and after express.json()', async () => {
    const app = express();
    app.get('/hello', (_request, response) => {
      response.send('world');
    });
    app.use(express.json());
    app.use('/api', createHttpHandler(rpc(), { path: '/rpc' }));
    const server = createNodeServer(app);
    const port = await listen(server);
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    await callBoth(`http://127.0.0.1:${port}/api/rpc`);
    expect(await (await fetch(`http://127.0.0.1:${port}/hello`)).text()).toBe('world');
  });

  it('serves JSON-RPC from a fastify route that hands over the raw request', async () => {
    const handler = createHttpHandler(rpc());
    const app = Fastify();
    app.addContentTypeParser('application/json', (_request, _payload, done) => done(null));
    app.post('/rpc', (request, reply) => {
      reply.hijack();
      handler(request.raw, reply.raw);
    });
    app.get('/hello', async () => 'world');
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    const port = (app.server.address() as AddressInfo).port;
    await callBoth(`http://127.0.0.1:${port}/rpc`);
    expect(await (await fetch(`http://127.0.0.1:${port}/hello`)).text()).toBe('world');
  });
});
