import { createClient, type RpcClient } from '../client/create-client.js';
import type { ClientOptions } from '../client/types.js';
import { RemoteError } from '../errors/kinds.js';
import { type FailureKind, RpcError } from '../errors/rpc-error.js';
import { ErrorCodes } from '../protocol/codes.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../protocol/types.js';
import { createServer, type RpcServer } from '../server/create-server.js';
import type { HandlerContext } from '../server/types.js';
import type { ClientTransport } from '../transport.js';
import { systemClock } from '../util/clock.js';
import { defaultRandom } from '../util/random.js';

/** How an adapter plugs into the conformance suite. */
export interface ConformanceFactory {
  /** Serves `server` on a fresh listener of the transport under test; resolves with the client URL. */
  serve(server: RpcServer): Promise<string>;
  /** A fresh client transport. */
  clientTransport(): ClientTransport;
  /** Whether the transport carries JSON-RPC batches. Default true. */
  batch?: boolean;
  /**
   * What a message over the server's `maxMessageBytes` gets: `'error'` (default), a -32006 answer;
   * `'close'`, the connection closes (WebSocket's 1009), failing its calls `connection-lost`.
   */
  oversize?: 'error' | 'close';
  /** Extra client options (e.g. a shorter reconnect). */
  clientOptions?: Partial<ClientOptions>;
}

/** One named, framework-free test case; `run` throws on failure. */
export interface ConformanceCase {
  readonly name: string;
  run(): Promise<void>;
}

class ConformanceFailure extends Error {
  override name = 'ConformanceFailure';
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

function same(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    check(RpcError.isInstance(error), `expected an RpcError, got ${String(error)}`);
    return error;
  }
  throw new ConformanceFailure('expected the call to fail, it succeeded');
}

async function eventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new ConformanceFailure(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Fixture {
  server: RpcServer;
  client: RpcClient;
  url: string;
  transport: ClientTransport;
  notes: unknown[];
  aborted: { count: number };
}

function methods(notes: unknown[], aborted: { count: number }) {
  return {
    echo: (params: unknown) => params,
    add: { paramNames: ['a', 'b'], handler: ([a, b]: [number, number]) => a + b },
    note: (params: unknown) => {
      notes.push(params);
    },
    fail: () => {
      throw new RemoteError('insufficient funds', { code: 4001, data: { why: 'test' } });
    },
    crash: () => {
      throw new Error('secret detail at /srv/internal/path.ts:42');
    },
    meta: (_params: unknown, context: HandlerContext) => ({
      deadlineMs: context.metadata.deadlineMs ?? null,
      remainingMs: context.remainingMs(),
      idempotent: context.metadata.idempotent ?? false,
      attempt: context.metadata.attempt ?? null,
    }),
    never: (_params: unknown, context: HandlerContext) =>
      new Promise((resolve) => {
        context.signal.addEventListener(
          'abort',
          () => {
            aborted.count++;
            resolve('aborted');
          },
          { once: true },
        );
      }),
    sleep: {
      paramNames: ['ms'],
      handler: ([ms]: [number]) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
    },
  };
}

/**
 * The transport conformance suite. Every adapter runs it:
 * `for (const c of conformanceCases(factory)) it(c.name, c.run)`.
 */
export function conformanceCases(factory: ConformanceFactory): ConformanceCase[] {
  /** A client of the factory's transport for one endpoint, without heartbeat. */
  const clientFor = (url: string, transport = factory.clientTransport()) =>
    createClient({ transports: [transport], endpoints: [url], heartbeat: false, ...factory.clientOptions });
  const withFixture = (name: string, body: (fixture: Fixture) => Promise<void>): ConformanceCase => ({
    name,
    async run() {
      const notes: unknown[] = [];
      const aborted = { count: 0 };
      const server = createServer({ methods: methods(notes, aborted) });
      const url = await factory.serve(server);
      const transport = factory.clientTransport();
      const client = clientFor(url, transport);
      try {
        await body({ server, client, url, transport, notes, aborted });
      } finally {
        await client.close();
        await server.close();
      }
    },
  });

  const cases: ConformanceCase[] = [
    withFixture('round trip: a call returns its result unchanged', async ({ client }) => {
      const value = { text: 'héllo ✓', list: [1, 2.5, null, true], nested: { deep: ['x'] } };
      same(await client.call('echo', value), value, 'echo result');
    }),
    withFixture('params by position and by name reach the handler', async ({ client }) => {
      same(await client.call('add', [2, 3]), 5, 'positional');
      same(await client.call('add', { a: 2, b: 3 }), 5, 'named');
      same(await client.proxy<{ add(a: number, b: number): number }>().add(4, 5), 9, 'typed proxy');
    }),
    withFixture('a notification reaches the server and gets no answer', async ({ client, notes }) => {
      await client.notify('note', ['hello']);
      await eventually(() => notes.length === 1, 'the notification to arrive');
      same(notes[0], ['hello'], 'notification params');
    }),
    withFixture(
      'a JSON-RPC error from a handler arrives as a remote error with code and data',
      async ({ client }) => {
        const error = await rejection(client.call('fail'));
        same(error.kind, 'remote', 'kind');
        same(error.code, 4001, 'code');
        same(error.data, { why: 'test' }, 'data');
        same(error.message, 'insufficient funds', 'message');
      },
    ),
    withFixture(
      'an unknown method is -32601, also for __proto__, constructor and toString',
      async ({ client }) => {
        for (const method of ['nope', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
          const error = await rejection(client.call(method, [], { idempotent: true }));
          same(error.code, ErrorCodes.MethodNotFound, `code for ${method}`);
        }
        same(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
      },
    ),
    withFixture('invalid params are -32602', async ({ client }) => {
      same((await rejection(client.call('add', { a: 1 }))).code, ErrorCodes.InvalidParams, 'missing name');
      same(
        (await rejection(client.call('add', { a: 1, b: 2, __proto__x: 3 }))).code,
        ErrorCodes.InvalidParams,
        'unknown name',
      );
    }),
    withFixture('a handler crash is -32603 and leaks no internal detail', async ({ client }) => {
      const error = await rejection(client.call('crash'));
      same(error.code, ErrorCodes.InternalError, 'code');
      check(
        !JSON.stringify({ message: error.message, data: error.data }).includes('/srv/internal'),
        'internal path leaked',
      );
    }),
    withFixture(
      'the remaining deadline, idempotency and attempt travel to the server',
      async ({ client }) => {
        const seen = await client.call<{
          deadlineMs: number;
          remainingMs: number;
          idempotent: boolean;
          attempt: number;
        }>('meta', [], {
          deadlineMs: 5_000,
          idempotent: true,
        });
        check(
          seen.deadlineMs > 0 && seen.deadlineMs <= 5_000,
          `deadlineMs ${seen.deadlineMs} not in (0, 5000]`,
        );
        check(
          seen.remainingMs > 0 && seen.remainingMs <= 5_000,
          `remainingMs ${seen.remainingMs} not in (0, 5000]`,
        );
        same(seen.idempotent, true, 'idempotent');
        same(seen.attempt, 1, 'attempt');
      },
    ),
    withFixture(
      "the caller's deadline times the call out and fires the handler's signal",
      async ({ client, aborted }) => {
        const started = Date.now();
        const error = await rejection(client.call('never', [], { deadlineMs: 300 }));
        same(error.kind, 'timeout', 'kind');
        check(Date.now() - started < 5_000, 'the call settled long after its deadline');
        await eventually(() => aborted.count === 1, "the handler's signal to fire");
      },
    ),
    withFixture('cancellation rejects the call with cancelled at once', async ({ client }) => {
      const controller = new AbortController();
      const started = Date.now();
      const pending = client.call('never', [], { signal: controller.signal, deadlineMs: 20_000 });
      setTimeout(() => controller.abort(), 50);
      const error = await rejection(pending);
      same(error.kind, 'cancelled', 'kind');
      check(Date.now() - started < 5_000, 'cancellation took too long');
    }),
    withFixture(
      'a server that stops mid-call settles the call long before its deadline',
      async ({ client, server }) => {
        const started = Date.now();
        const outcome = rejection(client.call('never', [], { deadlineMs: 30_000 })).then(
          (error) => ({ error }),
          (failure: unknown) => ({ failure }),
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        await server.close();
        const settled = await outcome;
        if ('failure' in settled) throw settled.failure;
        const error = settled.error;
        check(Date.now() - started < 10_000, `settled after ${Date.now() - started} ms`);
        check(error.kind !== 'cancelled', 'the caller did not cancel');
      },
    ),
    withFixture(
      'pending calls are never left hanging: 20 unanswered calls all settle by their deadline',
      async ({ client }) => {
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => client.call('never', [], { deadlineMs: 400, idempotent: true })),
        );
        for (const result of results) {
          check(
            result.status === 'rejected' && RpcError.isInstance(result.reason),
            'a call did not fail with an RpcError',
          );
          same((result.reason as RpcError).kind, 'timeout', 'kind');
        }
        same(client.stats().inFlight, 0, 'calls in flight after all settled');
      },
    ),
    withFixture('malformed requests are answered with -32600 and the id', async ({ transport, url }) => {
      const connection = transport.connect(url, { clock: systemClock, random: defaultRandom });
      try {
        const send = (request: unknown) =>
          connection.send(request as JsonRpcRequest, {
            signal: new AbortController().signal,
            timeoutMs: 5_000,
            metadata: {},
          }) as Promise<JsonRpcResponse>;
        const wrongVersion = await send({ jsonrpc: '1.0', method: 'echo', id: 7 });
        same('error' in wrongVersion && wrongVersion.error.code, ErrorCodes.InvalidRequest, 'wrong version');
        same(wrongVersion.id, 7, 'id of the wrong-version request');
        const badMethod = await send({ jsonrpc: '2.0', method: 42, id: 8 });
        same('error' in badMethod && badMethod.error.code, ErrorCodes.InvalidRequest, 'numeric method');
        const badParams = await send({ jsonrpc: '2.0', method: 'echo', params: 'text', id: 9 });
        same('error' in badParams && badParams.error.code, ErrorCodes.InvalidRequest, 'string params');
        const fine = await send({ jsonrpc: '2.0', method: 'echo', params: [1], id: 10 });
        same('result' in fine && fine.result, [1], 'a valid request after the bad ones');
      } finally {
        await connection.close();
      }
    }),
    {
      name: 'a call to an endpoint where nothing listens fails fast as not processed',
      async run() {
        const server = createServer({ methods: { echo: (params: unknown) => params } });
        const url = await factory.serve(server);
        await server.close();
        const client = clientFor(url);
        try {
          const started = Date.now();
          const error = await rejection(client.call('echo', [1], { deadlineMs: 20_000 }));
          const allowed: FailureKind[] = ['not-sent', 'rejected'];
          check(allowed.includes(error.kind), `kind ${error.kind}, expected not-sent or rejected`);
          check(Date.now() - started < 10_000, 'waited for the deadline instead of failing fast');
        } finally {
          await client.close();
        }
      },
    },
  ];
  if (factory.batch !== false) {
    cases.push(
      withFixture(
        'a batch returns every result in call order, errors in place',
        async ({ client, notes }) => {
          const results = await client.batch([
            { method: 'add', params: [1, 2] },
            { method: 'note', params: ['batched'], notification: true },
            { method: 'fail' },
            { method: 'echo', params: ['x'] },
          ]);
          same(results.length, 4, 'result count');
          same(results[0], { ok: true, result: 3 }, 'first result');
          check(results[2]?.ok === false && results[2].error.code === 4001, 'the failing entry');
          same(results[3], { ok: true, result: ['x'] }, 'last result');
          await eventually(() => notes.length === 1, 'the batched notification');
        },
      ),
      {
        name: "a batch the server refuses as a whole (over its maxMessageBytes) fails each entry with the server's error",
        async run() {
          // The server answers such a batch with one error without an id (it could not read the
          // ids): every entry gets that error (-32006, `remote`: not worth retrying as is).
          const server = createServer({
            methods: { echo: (params: unknown) => params },
            maxMessageBytes: 4_096,
          });
          const url = await factory.serve(server);
          const client = clientFor(url);
          try {
            const batch = client.batch([
              { method: 'echo', params: ['x'.repeat(8_192)] },
              { method: 'echo', params: ['y'] },
            ]);
            if (factory.oversize === 'close') {
              same((await rejection(batch)).kind, 'connection-lost', 'kind when the connection closes');
              same(await client.call('echo', ['after']), ['after'], 'a call on a new connection');
              return;
            }
            const results = await batch;
            same(results.length, 2, 'result count');
            for (const [index, result] of results.entries()) {
              const error = result.ok ? undefined : result.error;
              check(
                error?.kind === 'remote' && error.code === ErrorCodes.MessageTooLarge,
                `entry ${index}: expected remote ${ErrorCodes.MessageTooLarge}, got ${error?.kind} ${error?.code} ${error?.message}`,
              );
            }
          } finally {
            await client.close();
            await server.close();
          }
        },
      },
    );
  }
  return cases;
}
