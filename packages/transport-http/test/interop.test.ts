/**
 * Interop: a client written from docs/protocol.md's HTTP section alone, with plain `fetch` and no
 * library code, against the HTTP listener.
 */
import { createServer, type RpcServer, refuse } from '@resilient-rpc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpListener } from '../src/index.js';

describe('interop with plain fetch, per docs/protocol.md', () => {
  let server: RpcServer;
  let url: string;
  const logged: unknown[] = [];
  let executed = 0;

  beforeAll(async () => {
    server = createServer({
      methods: {
        add: ([a, b]: [number, number]) => a + b,
        log: (params: unknown) => {
          logged.push(params);
        },
        meta: (_params: unknown, context) => context.metadata,
        whoami: (_params: unknown, context) => {
          executed++;
          return context.auth;
        },
        slow: () => new Promise((resolve) => setTimeout(() => resolve('done'), 300)),
      },
      authenticate: (credentials, request) => {
        if (request.method !== 'whoami') return 'anonymous';
        const header = credentials?.headers.authorization;
        return header === 'Bearer s3cret' ? 'alice' : refuse('unauthenticated');
      },
    });
    url = (await server.listen(httpListener({ port: 0 }))).urls[0]!;
  });
  afterAll(async () => server.close());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('a call: 200 with the JSON-RPC response', async () => {
    const response = await post({ jsonrpc: '2.0', id: 1, method: 'add', params: [2, 3] });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 1, result: 5 });
  });

  it('metadata headers reach the handler', async () => {
    const response = await post(
      { jsonrpc: '2.0', id: 'm', method: 'meta' },
      { 'rpc-deadline-ms': '5000', 'rpc-idempotent': '1', 'rpc-attempt': '2', 'rpc-trace-id': 'abc' },
    );
    expect(await response.json()).toEqual({
      jsonrpc: '2.0',
      id: 'm',
      result: { deadlineMs: 5000, idempotent: true, attempt: 2, traceId: 'abc' },
    });
  });

  it('a batch with a notification: 200 with the answers; only notifications: 204', async () => {
    const response = await post([
      { jsonrpc: '2.0', id: 1, method: 'add', params: [1, 1] },
      { jsonrpc: '2.0', method: 'log', params: ['x'] },
    ]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([{ jsonrpc: '2.0', id: 1, result: 2 }]);
    const notification = await post({ jsonrpc: '2.0', method: 'log', params: ['y'] });
    expect(notification.status).toBe(204);
    expect(await notification.text()).toBe('');
    expect(logged).toEqual([['x'], ['y']]);
  });

  it('credentials in Authorization: 401 with WWW-Authenticate when refused, never executed', async () => {
    const refused = await post(
      { jsonrpc: '2.0', id: 7, method: 'whoami' },
      { authorization: 'Bearer wrong' },
    );
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(await refused.json()).toMatchObject({ id: 7, error: { code: -32004 } });
    const missing = await post({ jsonrpc: '2.0', id: 8, method: 'whoami' });
    expect(missing.status).toBe(401);
    expect(executed).toBe(0);
    const accepted = await post(
      { jsonrpc: '2.0', id: 9, method: 'whoami' },
      { authorization: 'Bearer s3cret' },
    );
    expect(await accepted.json()).toEqual({ jsonrpc: '2.0', id: 9, result: 'alice' });
  });

  it('errors: 400 for invalid JSON, 405 with Allow, 415 for a wrong content type', async () => {
    const parse = await post('{"jsonrpc":');
    expect(parse.status).toBe(400);
    expect(await parse.json()).toMatchObject({ id: null, error: { code: -32700 } });
    const get = await fetch(url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const text = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(text.status).toBe(415);
    const unknown = await post({ jsonrpc: '2.0', id: 3, method: 'nope' });
    expect(unknown.status).toBe(200);
    expect(await unknown.json()).toMatchObject({ id: 3, error: { code: -32601 } });
  });

  it('health: 200 serving, then 503 draining with Retry-After while in-flight calls finish', async () => {
    const healthUrl = new URL('/health', url);
    const serving = await fetch(healthUrl);
    expect(serving.status).toBe(200);
    expect(await serving.json()).toMatchObject({ status: 'serving' });
    // Keep a call in flight so that the drain lasts; ask on the same keep-alive connection pool.
    const inFlight = post({ jsonrpc: '2.0', id: 'slow', method: 'slow' });
    while (server.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const draining = server.drain({ timeoutMs: 5_000 });
    // The port stays open while draining: a new request is answered, not reset.
    const during = await fetch(healthUrl);
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('1');
    expect(await during.json()).toMatchObject({ status: 'draining' });
    const finished = await inFlight;
    expect(await finished.json()).toEqual({ jsonrpc: '2.0', id: 'slow', result: 'done' });
    await draining;
  });
});
