/**
 * Security on the WebSocket transport (issue 11): refusal at the upgrade (verifyUpgrade → 401/403)
 * and per message (authenticate → -32004/-32005) on the handshake headers, per-method
 * authorization, wss with a self-signed certificate generated here, every limit enforced with a
 * clear error while the server keeps serving others, and errors without internal details.
 */
import { connect as netConnect } from 'node:net';
import {
  createClient,
  createServer,
  type RemoteError,
  type RpcClient,
  type RpcServer,
  type ServerOptions,
} from '@resilient-rpc/core';
import {
  bearerAuthenticate,
  type SelfSigned,
  securityMethods,
  selfSigned,
  TEST_TOKENS,
} from '@resilient-rpc/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type WsListener, type WsListenerOptions, wsListener, wsTransport } from '../src/index.js';
import type { WsTransportOptions } from '../src/ws-transport.js';

const authenticate = bearerAuthenticate;

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function start(
  options: ServerOptions = {},
  listenerOptions: WsListenerOptions = {},
): Promise<{ server: RpcServer; listener: WsListener; url: string; executed: Record<string, number> }> {
  const { methods, executed, count } = securityMethods();
  const server = createServer({
    methods: {
      ...methods,
      // Thrown here, so that the stack the server logs points into this file.
      leak: () => {
        count('leak');
        throw new Error('at /srv/secret/path.ts:42');
      },
    },
    ...options,
  });
  cleanup.push(() => server.close());
  const listener = await server.listen(wsListener({ port: 0, ...listenerOptions }));
  return { server, listener, url: listener.urls[0]!, executed };
}

function client(
  url: string,
  headers?: Record<string, string>,
  transportOptions: WsTransportOptions = {},
): RpcClient {
  const created = createClient({
    transports: [wsTransport({ reconnectMaxAttempts: 1, ...transportOptions })],
    endpoints: [headers ? { url, headers } : url],
    retry: false,
    heartbeat: false,
    deadlineMs: 5_000,
  });
  cleanup.push(() => created.close());
  return created;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as RemoteError,
  );

describe('authentication at the upgrade (verifyUpgrade)', () => {
  const verifyUpgrade: WsListenerOptions['verifyUpgrade'] = (credentials) => {
    const principal = TEST_TOKENS[credentials.headers.authorization ?? ''];
    if (principal === undefined) return 401;
    return principal.role === 'admin' ? true : 403;
  };

  it('refuses a handshake without or with a wrong token with HTTP 401, and one not allowed with 403', async () => {
    const { url, executed } = await start({ authenticate }, { verifyUpgrade });
    const none = await failure(client(url).call('whoami'));
    expect(none).toMatchObject({ kind: 'not-sent', data: { httpStatus: 401 } });
    expect(none.message).toContain('HTTP 401');
    const wrong = await failure(client(url, { authorization: 'Bearer nope' }).call('whoami'));
    expect(wrong).toMatchObject({ kind: 'not-sent', data: { httpStatus: 401 } });
    const reader = await failure(client(url, { authorization: 'Bearer bob-token' }).call('whoami'));
    expect(reader).toMatchObject({ kind: 'not-sent', data: { httpStatus: 403 } });
    expect(executed.whoami ?? 0).toBe(0);
    await expect(client(url, { authorization: 'Bearer alice-token' }).call('whoami')).resolves.toEqual({
      user: 'alice',
      role: 'admin',
    });
    expect(executed.whoami).toBe(1);
  });
});

describe('authentication per message (authenticate on the handshake headers)', () => {
  it('refuses a call without credentials (-32004) and a wrong token (-32004), never running them', async () => {
    const { url, executed } = await start({ authenticate });
    await expect(client(url).call('whoami')).rejects.toMatchObject({
      kind: 'remote',
      code: -32004,
      message: expect.stringContaining('missing bearer token'),
    });
    await expect(client(url, { authorization: 'Bearer nope' }).call('whoami')).rejects.toMatchObject({
      kind: 'remote',
      code: -32004,
      message: expect.stringContaining('invalid token'),
    });
    expect(executed.whoami ?? 0).toBe(0);
  });

  it('refuses a forbidden method (-32005) in the hook or in the handler through context.auth', async () => {
    const { url, executed } = await start({ authenticate });
    const bob = client(url, { authorization: 'Bearer bob-token' });
    await expect(bob.call('admin.reset')).rejects.toMatchObject({ kind: 'remote', code: -32005 });
    await expect(bob.call('report')).rejects.toMatchObject({
      kind: 'remote',
      code: -32005,
      message: expect.stringContaining('only admins'),
    });
    await expect(bob.call('whoami')).resolves.toEqual({ user: 'bob', role: 'reader' });
    expect(executed['admin.reset'] ?? 0).toBe(0);
    expect(executed.report ?? 0).toBe(0);
    const alice = client(url, { authorization: 'Bearer alice-token' });
    await expect(alice.call('admin.reset')).resolves.toBe('reset');
    await expect(alice.call('report')).resolves.toBe('the report');
  });
});

describe('wss', () => {
  let pair: SelfSigned;
  beforeAll(() => {
    pair = selfSigned();
  });
  afterAll(() => pair?.remove());

  it('round-trips with a self-signed certificate the client trusts through `ca`; others are not-sent', async () => {
    const { url } = await start({ authenticate }, { tls: { key: pair.key, cert: pair.cert } });
    expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/rpc$/);
    await expect(
      client(url, { authorization: 'Bearer alice-token' }, { tls: { ca: pair.cert } }).call('echo', ['tls']),
    ).resolves.toEqual(['tls']);
    await expect(
      client(url, { authorization: 'Bearer alice-token' }).call('echo', ['x']),
    ).rejects.toMatchObject({
      kind: 'not-sent',
    });
  });
});

describe('limits', () => {
  const stillServes = async (url: string) => {
    await expect(client(url).call('echo', ['still here'])).resolves.toEqual(['still here']);
  };

  it('message size: a frame over maxMessageBytes closes that connection with 1009, never run', async () => {
    const { url, executed } = await start({ maxMessageBytes: 1024 });
    const error = await failure(client(url).call('echo', ['x'.repeat(4096)]));
    expect(error.kind).toBe('connection-lost');
    expect(error.message).toContain('1009');
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it('batch size: a batch over maxBatchSize gets -32007 and none of it runs', async () => {
    const { url, executed } = await start({ maxBatchSize: 3 });
    const results = await client(url).batch([1, 2, 3, 4].map((n) => ({ method: 'echo', params: [n] })));
    expect(results).toHaveLength(4);
    for (const entry of results) expect(entry).toMatchObject({ ok: false, error: { code: -32007 } });
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it('in flight per connection: past maxInFlightPerConnection a call gets -32002 at once, never run', async () => {
    const { url, executed } = await start({}, { maxInFlightPerConnection: 1 });
    const shared = client(url);
    const slow = shared.call('sleep', [400]);
    await until(() => executed.sleep === 1, 'the slow call to start');
    await expect(shared.call('echo', ['no room'])).rejects.toMatchObject({
      code: -32002,
      message: expect.stringContaining('too many requests in flight on this connection'),
    });
    await expect(slow).resolves.toBe(400);
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it("in flight per server: past the server's maxInFlight a call gets -32002, never run", async () => {
    const { url, executed } = await start({ maxInFlight: 1 });
    const slow = client(url).call('sleep', [400]);
    await until(() => executed.sleep === 1, 'the slow call to start');
    await expect(client(url).call('echo', ['no room'])).rejects.toMatchObject({ code: -32002 });
    await expect(slow).resolves.toBe(400);
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it('connections per server: an upgrade past maxConnections gets HTTP 503, not-sent', async () => {
    const { url, listener } = await start({}, { maxConnections: 1 });
    const first = new WebSocket(url);
    await new Promise((resolve, reject) => {
      first.once('open', resolve);
      first.once('error', reject);
    });
    try {
      const error = await failure(client(url).call('echo', ['one too many']));
      expect(error).toMatchObject({ kind: 'not-sent', data: { httpStatus: 503 } });
    } finally {
      first.close();
    }
    await until(() => listener.connections === 0, 'the first connection to be gone');
    await stillServes(url);
  });

  it('handshake header timeout: an upgrade request trickling past headersTimeoutMs gets 408 and is closed', async () => {
    const { url } = await start({}, { headersTimeoutMs: 300 });
    const { port } = new URL(url);
    const socket = netConnect(Number(port), '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', () => {});
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET /rpc HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\n'); // and never the rest
    await closed;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    await stillServes(url);
  });
});

describe('safe errors', () => {
  it('a handler error is -32603 "Internal error" without message or stack; onError sees it all', async () => {
    const seen: unknown[] = [];
    const { url } = await start({ onError: (error) => seen.push(error) });
    const error = await failure(client(url).call('leak'));
    expect(error).toMatchObject({ kind: 'remote', code: -32603, message: 'Internal error' });
    expect(JSON.stringify({ message: error.message, data: error.data })).not.toContain('/srv/secret');
    expect((seen[0] as Error).message).toBe('at /srv/secret/path.ts:42');
    expect((seen[0] as Error).stack).toContain('security-ws.test.ts');
  });

  it('with exposeErrorDetails: true the answer carries the message and stack', async () => {
    const { url } = await start({ exposeErrorDetails: true });
    const error = await failure(client(url).call('leak'));
    expect(error.code).toBe(-32603);
    expect(error.data).toMatchObject({ message: 'at /srv/secret/path.ts:42' });
    expect((error.data as { stack: string }).stack).toContain('/srv/secret/path.ts:42');
  });
});

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000) {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
