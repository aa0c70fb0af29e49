/**
 * Security on the HTTP transport (issue 11): authentication and per-method authorization, https
 * with a self-signed certificate generated here, every limit enforced with a clear error while the
 * server keeps serving others, and error answers without internal details unless asked for.
 */
import { request as httpRequest } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { createClient, createServer, type RpcServer, refuse, type ServerOptions } from '@resilient-rpc/core';
import { bearerAuthenticate, type SelfSigned, securityMethods, selfSigned } from '@resilient-rpc/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HttpListenerOptions, httpListener, httpTransport } from '../src/index.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One POST with node:http (no client library in between). */
function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? JSON.parse(text) : undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const rpc = (method: string, params?: unknown, id: number | string = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined && { params }) });

/** A server with the test's methods; `executed` counts handler runs per method. */
async function start(options: ServerOptions = {}, listenerOptions: HttpListenerOptions = {}) {
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
  const listener = await server.listen(httpListener({ port: 0, ...listenerOptions }));
  return { server, listener, url: listener.urls[0]!, executed };
}

const authenticate = bearerAuthenticate;

const servers: RpcServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
async function track<T extends { server: RpcServer }>(started: Promise<T>): Promise<T> {
  const value = await started;
  servers.push(value.server);
  return value;
}

describe('authentication', () => {
  it('refuses a call without credentials with 401 and -32004, never running it', async () => {
    const { url, executed } = await track(start({ authenticate }));
    const res = await post(url, rpc('whoami'));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body.error).toEqual({ code: -32004, message: 'missing bearer token' });
    expect(executed.whoami ?? 0).toBe(0);
  });

  it('refuses a wrong token with 401 and a forbidden method with 403 -32005, never running them', async () => {
    const { url, executed } = await track(start({ authenticate }));
    const wrong = await post(url, rpc('whoami'), { authorization: 'Bearer not-a-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toEqual({ code: -32004, message: 'invalid token' });
    const forbidden = await post(url, rpc('admin.reset'), { authorization: 'Bearer bob-token' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toEqual({ code: -32005, message: 'admins only' });
    // Through the core client the refusal is a `remote` error with the code: never retried.
    const client = createClient({
      transports: [httpTransport()],
      endpoints: [{ url, headers: { authorization: 'Bearer wrong' } }],
      heartbeat: false,
    });
    try {
      await expect(client.call('whoami')).rejects.toMatchObject({ kind: 'remote', code: -32004 });
    } finally {
      await client.close();
    }
    expect(executed.whoami ?? 0).toBe(0);
    expect(executed['admin.reset'] ?? 0).toBe(0);
  });

  it('serves an authenticated call; handlers see the principal as context.auth', async () => {
    const { url, executed } = await track(start({ authenticate }));
    const client = createClient({
      transports: [httpTransport()],
      endpoints: [{ url, headers: { authorization: 'Bearer alice-token' } }],
      retry: false,
      heartbeat: false,
    });
    try {
      await expect(client.call('whoami')).resolves.toEqual({ user: 'alice', role: 'admin' });
      await expect(client.call('admin.reset')).resolves.toBe('reset');
      await expect(client.call('report')).resolves.toBe('the report');
    } finally {
      await client.close();
    }
    expect(executed).toMatchObject({ whoami: 1, 'admin.reset': 1, report: 1 });
  });

  it('authorizes per method in the handler through context.auth (403 -32005)', async () => {
    const { url, executed } = await track(start({ authenticate }));
    const res = await post(url, rpc('report'), { authorization: 'Bearer bob-token' });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: -32005, message: 'only admins may read the report' });
    expect(executed.report ?? 0).toBe(0);
  });

  it('sends each endpoint its own credentials', async () => {
    const only =
      (token: string): ServerOptions['authenticate'] =>
      (credentials) =>
        credentials?.headers.authorization === token ? { token } : refuse('unauthenticated');
    const a = await track(start({ authenticate: only('Bearer for-a') }));
    const b = await track(start({ authenticate: only('Bearer for-b') }));
    const client = createClient({
      transports: [httpTransport()],
      endpoints: [
        { url: a.url, headers: { authorization: 'Bearer for-a' } },
        { url: b.url, headers: { authorization: 'Bearer for-b' } },
      ],
      balancer: 'round-robin',
      retry: false,
      heartbeat: false,
    });
    try {
      for (let i = 0; i < 6; i++) await client.call('whoami');
    } finally {
      await client.close();
    }
    expect(a.executed.whoami).toBe(3);
    expect(b.executed.whoami).toBe(3);
  });
});

describe('https', () => {
  let pair: SelfSigned;
  beforeAll(() => {
    pair = selfSigned();
  });
  afterAll(() => pair?.remove());

  it('round-trips with a self-signed certificate the client trusts through `ca`', async () => {
    const { url } = await track(start({ authenticate }, { tls: { key: pair.key, cert: pair.cert } }));
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/rpc$/);
    const client = createClient({
      transports: [httpTransport({ tls: { ca: pair.cert } })],
      endpoints: [{ url, headers: { authorization: 'Bearer alice-token' } }],
      retry: false,
      heartbeat: false,
    });
    const untrusting = createClient({
      transports: [httpTransport()],
      endpoints: [url],
      retry: false,
      heartbeat: false,
    });
    try {
      await expect(client.call('echo', ['over tls'])).resolves.toEqual(['over tls']);
      await expect(untrusting.call('echo', ['x'])).rejects.toMatchObject({ kind: 'not-sent' });
    } finally {
      await client.close();
      await untrusting.close();
    }
  });
});

/** The server still answers a fresh client after a limit was hit. */
async function stillServes(url: string): Promise<void> {
  const res = await post(url, rpc('echo', ['still here']));
  expect(res.status).toBe(200);
  expect(res.body.result).toEqual(['still here']);
}

describe('limits', () => {
  it('message size: a body over maxMessageBytes gets 413 -32006 and is never read', async () => {
    const { url, executed } = await track(start({ maxMessageBytes: 1024 }));
    const big = rpc('echo', ['x'.repeat(4096)]);
    const res = await post(url, big);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: -32006, data: { maxMessageBytes: 1024 } });
    // Chunked (no Content-Length): cut off while reading.
    const chunked = await new Promise<Raw>((resolve, reject) => {
      const req = httpRequest(
        url,
        { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
        (response) => {
          let text = '';
          response.on('data', (chunk) => {
            text += chunk;
          });
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(text) }),
          );
        },
      );
      req.on('error', reject);
      req.write(big.slice(0, 2048));
      req.end(big.slice(2048));
    });
    expect(chunked.status).toBe(413);
    expect(chunked.body.error.code).toBe(-32006);
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it('batch size: a batch over maxBatchSize gets 413 -32007 and none of it runs', async () => {
    const { url, executed } = await track(start({ maxBatchSize: 3 }));
    const batch = JSON.stringify(
      [1, 2, 3, 4].map((id) => ({ jsonrpc: '2.0', id, method: 'echo', params: [id] })),
    );
    const res = await post(url, batch);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: -32007, data: { maxBatchSize: 3 } });
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it('in flight per connection: pipelined requests past the bound get 503 -32002, in order, never run', async () => {
    const { url, executed } = await track(start({}, { maxInFlightPerConnection: 2 }));
    const { port } = new URL(url);
    const socket = netConnect(Number(port), '127.0.0.1');
    const body = rpc('sleep', [300]);
    const one = `POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    try {
      socket.write(one.repeat(4));
      await until(() => (text.match(/HTTP\/1\.1 /g) ?? []).length === 4, 'four answers');
    } finally {
      socket.destroy();
    }
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((match) => Number(match[1]));
    expect(statuses).toEqual([200, 200, 503, 503]);
    expect(text).toContain('"code":-32002');
    expect(text).toContain('too many requests in flight on this connection');
    expect(executed.sleep).toBe(2);
    await stillServes(url);
  });

  it('in flight per server: past maxInFlight a call gets 503 -32002 and is not run', async () => {
    const { url, executed } = await track(start({ maxInFlight: 1 }));
    const slow = post(url, rpc('sleep', [300]));
    await until(() => executed.sleep === 1, 'the slow call to start');
    const refused = await post(url, rpc('echo', ['no room']));
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body.error).toMatchObject({ code: -32002, message: 'server is overloaded' });
    expect((await slow).status).toBe(200);
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it('connections per server: past maxConnections, with none idle, a connection gets 503 -32002 and is closed', async () => {
    const { url, executed } = await track(start({}, { maxConnections: 2 }));
    const { port } = new URL(url);
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const socket = netConnect(Number(port), '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        // A request in progress (its body still to come): busy, so it is not given up for a newcomer.
        socket.write(
          'POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
        );
        held.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 50)); // let the server count them
      const refused = await post(url, rpc('echo', ['one too many']));
      expect(refused.status).toBe(503);
      expect(refused.headers.connection).toBe('close');
      expect(refused.body.error).toMatchObject({ code: -32002, message: 'too many connections' });
      expect(executed.echo ?? 0).toBe(0);
      // Through the core client the refusal is `rejected`: safe to retry elsewhere.
      const client = createClient({
        transports: [httpTransport()],
        endpoints: [url],
        retry: false,
        heartbeat: false,
      });
      try {
        await expect(client.call('echo', ['x'])).rejects.toMatchObject({ code: -32002 });
      } finally {
        await client.close();
      }
    } finally {
      for (const socket of held) socket.destroy();
    }
    await until(async () => (await post(url, rpc('echo', ['again']))).status === 200, 'a free slot');
    await stillServes(url);
  });

  it('connections per server: past maxConnections, the connection idle longest makes room', async () => {
    const { url, executed } = await track(start({}, { maxConnections: 2 }));
    const { port } = new URL(url);
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const socket = netConnect(Number(port), '127.0.0.1');
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('connect', resolve));
        idle.push(socket);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const closed = new Promise((resolve) => idle[0]!.once('close', resolve));
      const answer = await post(url, rpc('echo', ['served']));
      expect(answer.status).toBe(200);
      expect(executed.echo).toBe(1);
      await closed; // the oldest idle connection was closed for it
      expect(idle[1]!.destroyed).toBe(false);
    } finally {
      for (const socket of idle) socket.destroy();
    }
  });

  it('request header timeout: headers trickling past headersTimeoutMs get 408 and the socket closes', async () => {
    const { url, executed } = await track(start({}, { headersTimeoutMs: 300 }));
    const { port } = new URL(url);
    const socket = netConnect(Number(port), '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('POST /rpc HTTP/1.1\r\nhost: x\r\n'); // and never the rest
    await closed;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(executed).toEqual({});
    await stillServes(url);
  });

  it('request body timeout: a body trickling past requestTimeoutMs gets 408 and is never run', async () => {
    const { url, executed } = await track(start({}, { headersTimeoutMs: 200, requestTimeoutMs: 400 }));
    const { port } = new URL(url);
    const socket = netConnect(Number(port), '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const body = rpc('echo', ['slow body']);
    socket.write(
      `POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    await closed;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('"code":-32600,"message":"request timeout"');
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });
});

describe('safe errors', () => {
  it('a handler error is -32603 "Internal error" without its message or stack; onError sees it all', async () => {
    const seen: unknown[] = [];
    const { url } = await track(start({ onError: (error) => seen.push(error) }));
    const res = await post(url, rpc('leak'));
    expect(res.status).toBe(200);
    expect(res.body.error).toEqual({ code: -32603, message: 'Internal error' });
    const raw = JSON.stringify(res.body);
    expect(raw).not.toContain('/srv/secret');
    expect(raw).not.toContain('.ts:');
    expect(seen).toHaveLength(1);
    expect((seen[0] as Error).message).toBe('at /srv/secret/path.ts:42');
    expect((seen[0] as Error).stack).toContain('security-http.test.ts');
  });

  it('with exposeErrorDetails: true the answer carries the message and stack', async () => {
    const seen: unknown[] = [];
    const { url } = await track(start({ exposeErrorDetails: true, onError: (error) => seen.push(error) }));
    const res = await post(url, rpc('leak'));
    expect(res.body.error.code).toBe(-32603);
    expect(res.body.error.data.message).toBe('at /srv/secret/path.ts:42');
    expect(res.body.error.data.stack).toContain('/srv/secret/path.ts:42');
    expect(seen).toHaveLength(1);
  });

  it('a refusal by a throwing authenticate hook reveals nothing of the exception', async () => {
    const seen: unknown[] = [];
    const { url, executed } = await track(
      start({
        authenticate: () => {
          throw new Error('token store at /srv/secret/tokens.db unreachable');
        },
        onError: (error) => seen.push(error),
      }),
    );
    const res = await post(url, rpc('whoami'), { authorization: 'Bearer alice-token' });
    expect(res.status).toBe(401);
    expect(res.body.error).toEqual({ code: -32004, message: 'unauthenticated' });
    expect(JSON.stringify(res.body)).not.toContain('/srv/secret');
    expect((seen[0] as Error).message).toContain('/srv/secret/tokens.db');
    expect(executed.whoami ?? 0).toBe(0);
  });
});

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000) {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('https with client certificates (mutual TLS)', () => {
  let serverPair: SelfSigned;
  let clientPair: SelfSigned;
  beforeAll(() => {
    serverPair = selfSigned();
    clientPair = selfSigned('billing-service');
  });
  afterAll(() => {
    serverPair?.remove();
    clientPair?.remove();
  });

  it('passes the verified client certificate subject to authenticate as credentials.user', async () => {
    const { url, executed } = await track(
      start(
        {
          authenticate: (credentials) =>
            credentials?.user === 'billing-service'
              ? { service: credentials.user }
              : refuse('unauthenticated', 'client certificate required'),
        },
        {
          tls: {
            key: serverPair.key,
            cert: serverPair.cert,
            ca: clientPair.cert,
            requestCert: true,
            rejectUnauthorized: false, // let authenticate decide (and answer 401) instead of a TLS alert
          },
        },
      ),
    );
    const withCert = createClient({
      transports: [
        httpTransport({ tls: { ca: serverPair.cert, cert: clientPair.cert, key: clientPair.key } }),
      ],
      endpoints: [url],
      retry: false,
      heartbeat: false,
    });
    const without = createClient({
      transports: [httpTransport({ tls: { ca: serverPair.cert } })],
      endpoints: [url],
      retry: false,
      heartbeat: false,
    });
    try {
      await expect(withCert.call('whoami')).resolves.toEqual({ service: 'billing-service' });
      await expect(without.call('whoami')).rejects.toMatchObject({ kind: 'remote', code: -32004 });
    } finally {
      await withCert.close();
      await without.close();
    }
    expect(executed.whoami).toBe(1);
  });
});
