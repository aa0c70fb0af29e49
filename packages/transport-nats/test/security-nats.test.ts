/**
 * Security on the NATS transport (issue 11): broker authentication (user/password, token), the
 * server's `authenticate` hook on NATS headers with per-method authorization, NATS TLS with a
 * self-signed certificate generated here, limits, and error answers without internal details.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  type NatsServerHandle,
  type SelfSigned,
  securityMethods,
  selfSigned,
  startNatsServer,
} from '@resilient-rpc/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type NatsListenerOptions,
  type NatsTransportOptions,
  natsListener,
  natsTransport,
} from '../src/index.js';

const authenticate = bearerAuthenticate;

let subjects = 0;
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

/** A server on a fresh subject of `broker`; `executed` counts handler runs per method. */
async function start(
  servers: string,
  options: ServerOptions = {},
  listenerOptions: Partial<NatsListenerOptions> = {},
): Promise<{ server: RpcServer; url: string; executed: Record<string, number> }> {
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
  const subject = `security.${process.pid}.${++subjects}`;
  const listener = await server.listen(
    natsListener({ servers, subject, service: false, ...listenerOptions }),
  );
  return { server, url: listener.urls[0]!, executed };
}

function client(
  url: string,
  headers?: Record<string, string>,
  transportOptions: NatsTransportOptions = {},
): RpcClient {
  const created = createClient({
    transports: [natsTransport(transportOptions)],
    endpoints: [headers ? { url, headers } : url],
    retry: false,
    heartbeat: false,
    deadlineMs: 5_000,
  });
  cleanup.push(() => created.close());
  return created;
}

describe('authentication through the authenticate hook (NATS headers)', () => {
  let broker: NatsServerHandle;
  beforeAll(async () => {
    broker = await startNatsServer();
  });
  afterAll(async () => broker?.kill());

  it('refuses a call without credentials (-32004) and never runs it', async () => {
    const { url, executed } = await start(broker.url, { authenticate });
    await expect(client(url).call('whoami')).rejects.toMatchObject({
      kind: 'remote',
      code: -32004,
      message: expect.stringContaining('missing bearer token'),
    });
    expect(executed.whoami ?? 0).toBe(0);
  });

  it('refuses a wrong token (-32004) and a forbidden method (-32005), never running them', async () => {
    const { url, executed } = await start(broker.url, { authenticate });
    await expect(client(url, { authorization: 'Bearer nope' }).call('whoami')).rejects.toMatchObject({
      kind: 'remote',
      code: -32004,
      message: expect.stringContaining('invalid token'),
    });
    await expect(
      client(url, { authorization: 'Bearer bob-token' }).call('admin.reset'),
    ).rejects.toMatchObject({
      kind: 'remote',
      code: -32005,
      message: expect.stringContaining('admins only'),
    });
    expect(executed.whoami ?? 0).toBe(0);
    expect(executed['admin.reset'] ?? 0).toBe(0);
  });

  it('serves an authenticated call; per-method authorization through context.auth', async () => {
    const { url, executed } = await start(broker.url, { authenticate });
    const alice = client(url, { authorization: 'Bearer alice-token' });
    await expect(alice.call('whoami')).resolves.toEqual({ user: 'alice', role: 'admin' });
    await expect(alice.call('admin.reset')).resolves.toBe('reset');
    await expect(alice.call('report')).resolves.toBe('the report');
    await expect(client(url, { authorization: 'Bearer bob-token' }).call('report')).rejects.toMatchObject({
      kind: 'remote',
      code: -32005,
    });
    expect(executed).toMatchObject({ whoami: 1, 'admin.reset': 1, report: 1 });
  });
});

describe('broker authentication (user/password, token)', () => {
  it('user/password: a wrong password fails to connect with a clear error; the right one works', async () => {
    const broker = await startNatsServer({ args: ['--user', 'svc', '--pass', 's3cret'] });
    cleanup.push(() => broker.kill());
    const { url, executed } = await start(broker.url, {}, { user: 'svc', pass: 's3cret' });
    const wrong = client(url, undefined, { user: 'svc', pass: 'wrong' });
    const error = await wrong.call('echo', ['x']).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'not-sent' });
    expect(String((error as Error).message)).toMatch(/authorization violation/i);
    await expect(
      client(url, undefined, { user: 'svc', pass: 's3cret' }).call('echo', ['ok']),
    ).resolves.toEqual(['ok']);
    expect(executed.echo).toBe(1);
    // The listener itself cannot start with a wrong password either.
    await expect(start(broker.url, {}, { user: 'svc', pass: 'wrong' })).rejects.toThrow(/authorization/i);
  });

  it('token: a wrong token fails to connect with a clear error; the right one works', async () => {
    const broker = await startNatsServer({ args: ['--auth', 'broker-token'] });
    cleanup.push(() => broker.kill());
    const { url } = await start(broker.url, {}, { token: 'broker-token' });
    const error = await client(url, undefined, { token: 'not-it' })
      .call('echo', ['x'])
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'not-sent' });
    expect(String((error as Error).message)).toMatch(/authorization violation/i);
    await expect(client(url, undefined, { token: 'broker-token' }).call('echo', ['ok'])).resolves.toEqual([
      'ok',
    ]);
  });
});

describe('NATS TLS', () => {
  let pair: SelfSigned;
  let broker: NatsServerHandle;
  beforeAll(async () => {
    pair = selfSigned();
    const config = join(pair.dir, 'nats.conf');
    writeFileSync(
      config,
      `tls {\n  cert_file: ${JSON.stringify(pair.certFile)}\n  key_file: ${JSON.stringify(pair.keyFile)}\n}\n`,
    );
    broker = await startNatsServer({ args: ['-c', config] });
  });
  afterAll(async () => {
    await broker?.kill();
    pair?.remove();
  });

  it('round-trips over TLS with a self-signed certificate trusted through `ca`', async () => {
    const servers = `tls://127.0.0.1:${broker.port}`;
    const { url } = await start(servers, {}, { tls: { ca: pair.cert } });
    expect(url).toMatch(/^tls:\/\//);
    await expect(
      client(url, undefined, { tls: { ca: pair.cert } }).call('echo', ['over tls']),
    ).resolves.toEqual(['over tls']);
  });

  it('fails to connect, not-sent, when the certificate is not trusted', async () => {
    const servers = `tls://127.0.0.1:${broker.port}`;
    const { url, executed } = await start(servers, {}, { tls: { ca: pair.cert } });
    // waitOnFirstConnect: false makes the first connect fail with its reason instead of retrying.
    const error = await client(url, undefined, { tls: {}, waitOnFirstConnect: false })
      .call('echo', ['x'])
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'not-sent' });
    expect(String((error as Error).message)).toMatch(/certificate/i);
    expect(executed.echo ?? 0).toBe(0);
  });
});

describe('limits', () => {
  let broker: NatsServerHandle;
  let pair: SelfSigned;
  beforeAll(async () => {
    pair = selfSigned(); // only for its temp dir
    const config = join(pair.dir, 'limits.conf');
    writeFileSync(config, 'max_payload: 65536\n');
    broker = await startNatsServer({ args: ['-c', config] });
  });
  afterAll(async () => {
    await broker?.kill();
    pair?.remove();
  });

  const stillServes = async (url: string) => {
    await expect(client(url).call('echo', ['still here'])).resolves.toEqual(['still here']);
  };

  it("message size: over the server's maxMessageBytes gets -32006, never run", async () => {
    const { url, executed } = await start(broker.url, { maxMessageBytes: 1024 });
    await expect(client(url).call('echo', ['x'.repeat(4096)])).rejects.toMatchObject({
      kind: 'remote',
      code: -32006,
      data: { maxMessageBytes: 1024 },
    });
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it("message size: over the broker's max_payload fails to publish, not-sent", async () => {
    const { url, executed } = await start(broker.url);
    const error = await client(url)
      .call('echo', ['x'.repeat(100_000)])
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'not-sent' });
    expect(String((error as Error).message)).toMatch(/payload/i);
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it('batch size: a batch over maxBatchSize gets -32007 and none of it runs', async () => {
    const { url, executed } = await start(broker.url, { maxBatchSize: 3 });
    const batching = client(url);
    const result = await batching
      .batch([1, 2, 3, 4].map((n) => ({ method: 'echo', params: [n] })))
      .catch((caught: unknown) => caught);
    expect(result).toHaveLength(4);
    for (const entry of result as Array<{ ok: boolean; error?: { code?: number; kind?: string } }>) {
      expect(entry).toMatchObject({ ok: false, error: { kind: 'remote', code: -32007 } });
    }
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it('in flight per listener (its one connection): past maxInFlight a call gets -32002 at once, never run', async () => {
    const { url, executed } = await start(broker.url, {}, { maxInFlight: 1 });
    const caller = client(url);
    const slow = caller.call('sleep', [400]);
    await until(() => executed.sleep === 1, 'the slow call to start');
    await expect(client(url).call('echo', ['no room'])).rejects.toMatchObject({
      code: -32002,
      message: expect.stringContaining('too many requests in flight'),
    });
    await expect(slow).resolves.toBe(400);
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });

  it("in flight per server: past the server's maxInFlight a call gets -32002, never run", async () => {
    const { url, executed } = await start(broker.url, { maxInFlight: 1 });
    const slow = client(url).call('sleep', [400]);
    await until(() => executed.sleep === 1, 'the slow call to start');
    await expect(client(url).call('echo', ['no room'])).rejects.toMatchObject({ code: -32002 });
    await expect(slow).resolves.toBe(400);
    expect(executed.echo ?? 0).toBe(0);
    await stillServes(url);
  });
});

describe('hostile or broken input (issue 14)', () => {
  let broker: NatsServerHandle;
  beforeAll(async () => {
    broker = await startNatsServer();
  });
  afterAll(async () => broker?.kill());

  it('maxInFlight holds with an async authenticate hook: never more handlers at once than the limit', async () => {
    let running = 0;
    let most = 0;
    const slowAuthenticate: ServerOptions['authenticate'] = async (credentials, context) => {
      // the await between admission and the handler, where a limit checked late would leak
      await new Promise((resolve) => setTimeout(resolve, 50));
      return authenticate(credentials, context);
    };
    const { url } = await start(broker.url, {
      authenticate: slowAuthenticate,
      maxInFlight: 5,
      methods: {
        hold: async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 200));
          running--;
          return 'held';
        },
      },
    });
    const caller = client(url, { authorization: 'Bearer alice-token' });
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, () =>
        caller.call('hold').then(
          () => 'ok',
          (error: RemoteError) => error.code,
        ),
      ),
    );
    expect(most).toBeLessThanOrEqual(5);
    expect(outcomes.filter((outcome) => outcome === 'ok').length).toBeGreaterThanOrEqual(5);
    // the rest were refused as overloaded (-32002), never run
    expect(outcomes.filter((outcome) => outcome !== 'ok').every((code) => code === -32002)).toBe(true);
  });

  it('params that JSON cannot express (BigInt, a cycle) are a protocol error at once, never retried', async () => {
    const { url, executed } = await start(broker.url);
    const retrying = createClient({ transports: [natsTransport()], endpoints: [url], heartbeat: false });
    cleanup.push(() => retrying.close());
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const params of [[10n], circular]) {
      const error = await retrying.call('echo', params as never).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ kind: 'protocol' });
      expect((error as Error).cause).toBeInstanceOf(TypeError);
    }
    expect(retrying.stats()).toMatchObject({ attempts: 2, retries: 0 });
    expect(executed.echo ?? 0).toBe(0);
  });

  it('notify keeps the cause: an unserialisable notification fails protocol with the TypeError', async () => {
    const { url } = await start(broker.url);
    const error = await client(url)
      .notify('echo', [10n] as never)
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'protocol' });
    expect((error as Error).cause).toBeInstanceOf(TypeError);
    expect(String((error as Error).message)).toMatch(/BigInt/i);
  });
});

describe('safe errors', () => {
  let broker: NatsServerHandle;
  beforeAll(async () => {
    broker = await startNatsServer();
  });
  afterAll(async () => broker?.kill());

  it('a handler error is -32603 "Internal error" without message or stack; onError sees it all', async () => {
    const seen: unknown[] = [];
    const { url } = await start(broker.url, { onError: (error) => seen.push(error) });
    const error = (await client(url)
      .call('leak')
      .catch((caught: unknown) => caught)) as RemoteError;
    expect(error).toMatchObject({ kind: 'remote', code: -32603, message: 'Internal error' });
    expect(JSON.stringify({ message: error.message, data: error.data })).not.toContain('/srv/secret');
    expect((seen[0] as Error).message).toBe('at /srv/secret/path.ts:42');
    expect((seen[0] as Error).stack).toContain('security-nats.test.ts');
  });

  it('with exposeErrorDetails: true the answer carries the message and stack', async () => {
    const { url } = await start(broker.url, { exposeErrorDetails: true });
    const error = (await client(url)
      .call('leak')
      .catch((caught: unknown) => caught)) as RemoteError;
    expect(error.code).toBe(-32603);
    expect(error.data).toMatchObject({ message: 'at /srv/secret/path.ts:42' });
    expect((error.data as { stack: string }).stack).toContain('/srv/secret/path.ts:42');
  });
});

async function until(condition: () => boolean, what: string, timeoutMs = 5_000) {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
