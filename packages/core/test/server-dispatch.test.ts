import { createServer, ErrorCodes, type IncomingContext, RemoteError, refuse } from '@resilient-rpc/core';
import { ManualClock } from '@resilient-rpc/core/testing';
import { describe, expect, it } from 'vitest';

const context: IncomingContext = { transport: 'test', metadata: {} };

function server(clock = new ManualClock()) {
  const calls: string[] = [];
  const rpc = createServer({
    clock,
    maxBatchSize: 3,
    maxMessageBytes: 1_000,
    methods: {
      echo: (params) => params,
      add: { paramNames: ['a', 'b'], handler: ([a, b]: number[]) => a! + b! },
      note: (params) => {
        calls.push(JSON.stringify(params));
      },
      slow: (_params, handler) =>
        new Promise((resolve) =>
          handler.signal.addEventListener('abort', () => resolve('aborted'), { once: true }),
        ),
      wait: () => new Promise((resolve) => clock.setTimeout(() => resolve('done'), 100)),
      boom: () => {
        throw new Error('internal /secret/path');
      },
      bigint: () => 10n,
      retryable: () => {
        throw new RemoteError('try later', { code: 4100, retryable: true });
      },
    },
  });
  return { rpc, calls, clock };
}

const send = async (rpc: ReturnType<typeof server>['rpc'], text: string, incoming = context) => {
  const answer = await rpc.dispatcher.handleText(text, incoming);
  return answer === undefined ? undefined : JSON.parse(answer);
};

describe('server dispatch', () => {
  it('answers invalid JSON with -32700 and id null', async () => {
    const { rpc } = server();
    expect(await send(rpc, '{"jsonrpc":')).toMatchObject({
      id: null,
      error: { code: ErrorCodes.ParseError },
    });
  });

  it('answers every malformed request with -32600', async () => {
    const { rpc } = server();
    for (const bad of [
      '1',
      '"x"',
      'null',
      '{}',
      '{"jsonrpc":"2.0"}',
      '{"jsonrpc":"2.0","method":""}',
      '{"jsonrpc":"2.0","method":"echo","id":{}}',
      '{"jsonrpc":"2.0","method":"echo","params":3,"id":1}',
    ]) {
      expect((await send(rpc, bad)).error.code, bad).toBe(ErrorCodes.InvalidRequest);
    }
  });

  it('never reaches Object.prototype for __proto__, constructor or toString', async () => {
    const { rpc } = server();
    for (const method of ['__proto__', 'constructor', 'toString', 'valueOf']) {
      expect((await send(rpc, JSON.stringify({ jsonrpc: '2.0', method, id: 1 }))).error.code).toBe(
        ErrorCodes.MethodNotFound,
      );
    }
    const polluted = await send(
      rpc,
      '{"jsonrpc":"2.0","method":"echo","params":{"__proto__":{"polluted":true}},"id":2}',
    );
    // `__proto__` arrives and leaves as an ordinary own key: nothing was assigned to a prototype.
    expect(JSON.stringify(polluted.result)).toBe('{"__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(
      (await send(rpc, '{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":2,"__proto__":3},"id":3}')).error
        .code,
    ).toBe(ErrorCodes.InvalidParams);
  });

  it('maps named params through paramNames and rejects missing or unknown names with -32602', async () => {
    const { rpc } = server();
    expect((await send(rpc, '{"jsonrpc":"2.0","method":"add","params":{"b":2,"a":1},"id":1}')).result).toBe(
      3,
    );
    expect((await send(rpc, '{"jsonrpc":"2.0","method":"add","params":{"a":1},"id":1}')).error.code).toBe(
      ErrorCodes.InvalidParams,
    );
    expect(
      (await send(rpc, '{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":2,"c":3},"id":1}')).error.code,
    ).toBe(ErrorCodes.InvalidParams);
  });

  it('sends nothing back for notifications, also in an all-notification batch', async () => {
    const { rpc, calls } = server();
    expect(await send(rpc, '{"jsonrpc":"2.0","method":"note","params":[1]}')).toBeUndefined();
    expect(
      await send(rpc, '[{"jsonrpc":"2.0","method":"note","params":[2]},{"jsonrpc":"2.0","method":"nope"}]'),
    ).toBeUndefined();
    expect(calls).toEqual(['[1]', '[2]']);
  });

  it('answers a batch per entry, skipping notifications and keeping errors in place', async () => {
    const { rpc } = server();
    const answer = await send(
      rpc,
      '[{"jsonrpc":"2.0","method":"echo","params":[1],"id":"a"},1,{"jsonrpc":"2.0","method":"note"}]',
    );
    expect(answer).toEqual([
      { jsonrpc: '2.0', id: 'a', result: [1] },
      {
        jsonrpc: '2.0',
        id: null,
        error: {
          code: ErrorCodes.InvalidRequest,
          message: 'Invalid Request',
          data: { reason: 'request must be an object' },
        },
      },
    ]);
    expect((await send(rpc, '[]')).error.code).toBe(ErrorCodes.InvalidRequest);
    const tooMany = JSON.stringify(
      Array.from({ length: 4 }, (_, id) => ({ jsonrpc: '2.0', method: 'echo', id })),
    );
    expect((await send(rpc, tooMany)).error.code).toBe(ErrorCodes.BatchTooLarge);
  });

  it('refuses a message over maxMessageBytes with -32006', async () => {
    const { rpc } = server();
    const big = JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: ['x'.repeat(2_000)], id: 1 });
    expect((await send(rpc, big)).error.code).toBe(ErrorCodes.MessageTooLarge);
  });

  it('hides handler error details unless asked, and reports them to onError', async () => {
    const seen: unknown[] = [];
    const rpc = createServer({
      methods: { boom: () => Promise.reject(new Error('internal /secret/path')) },
      onError: (error) => seen.push(error),
    });
    const answer = await send(rpc, '{"jsonrpc":"2.0","method":"boom","id":1}');
    expect(answer.error).toEqual({ code: ErrorCodes.InternalError, message: 'Internal error' });
    expect(seen).toHaveLength(1);
    const debug = createServer({
      methods: { boom: () => Promise.reject(new Error('internal /secret/path')) },
      exposeErrorDetails: true,
    });
    expect(JSON.stringify(await send(debug, '{"jsonrpc":"2.0","method":"boom","id":1}'))).toContain(
      '/secret/path',
    );
  });

  it('answers an unserialisable result with -32603 instead of crashing', async () => {
    const { rpc } = server();
    expect((await send(rpc, '{"jsonrpc":"2.0","method":"bigint","id":1}')).error.code).toBe(
      ErrorCodes.InternalError,
    );
  });

  it('marks a retryable remote error in its data', async () => {
    const { rpc } = server();
    expect((await send(rpc, '{"jsonrpc":"2.0","method":"retryable","id":1}')).error).toEqual({
      code: 4100,
      message: 'try later',
      data: { retryable: true },
    });
  });

  it("fires the handler's signal at the caller's deadline and answers -32001", async () => {
    const { rpc, clock } = server();
    const pending = send(rpc, '{"jsonrpc":"2.0","method":"slow","id":1}', {
      transport: 'test',
      metadata: { deadlineMs: 500 },
    });
    clock.advance(499);
    expect(rpc.inFlight).toBe(1);
    clock.advance(1);
    expect((await pending).error.code).toBe(ErrorCodes.DeadlineExceeded);
    expect(rpc.inFlight).toBe(0);
  });

  it('does not start a request whose deadline is already spent', async () => {
    const { rpc, calls } = server();
    const answer = await send(rpc, '{"jsonrpc":"2.0","method":"note","params":[1],"id":1}', {
      transport: 'test',
      metadata: { deadlineMs: 0 },
    });
    expect(answer.error.code).toBe(ErrorCodes.DeadlineExceeded);
    expect(calls).toHaveLength(0);
  });

  it('aborts a handler when the caller disconnects', async () => {
    const { rpc } = server();
    const gone = new AbortController();
    const pending = send(rpc, '{"jsonrpc":"2.0","method":"slow","id":1}', {
      transport: 'test',
      metadata: {},
      signal: gone.signal,
    });
    gone.abort();
    expect(await pending).toBeDefined();
    expect(rpc.inFlight).toBe(0);
  });

  it('drains: rejects new requests as not processed, finishes in-flight ones, then closes listeners', async () => {
    const { rpc, clock } = server();
    let closed = false;
    let stopped = false;
    await rpc.listen({
      transport: 'test',
      urls: ['test://x'],
      start: async () => {},
      stopAccepting: async () => {
        stopped = true;
      },
      close: async () => {
        closed = true;
      },
    });
    const inFlight = send(rpc, '{"jsonrpc":"2.0","method":"wait","id":1}');
    const drained = rpc.drain({ timeoutMs: 5_000 });
    expect(rpc.dispatcher.accepting).toBe(false);
    expect((await send(rpc, '{"jsonrpc":"2.0","method":"echo","id":2}')).error.code).toBe(
      ErrorCodes.Draining,
    );
    await Promise.resolve();
    expect(stopped).toBe(true);
    expect(closed).toBe(false);
    clock.advance(100);
    expect((await inFlight).result).toBe('done');
    await drained;
    expect(closed).toBe(true);
  });

  it('tells its listeners whether a close is forced: only one that aborted running handlers at once', async () => {
    /** How each listener's close() was called, for a server drained by `end` with `busy` in flight. */
    const closeOf = async (end: (rpc: ReturnType<typeof server>['rpc']) => Promise<void>, busy: boolean) => {
      const { rpc, clock } = server();
      const seen: unknown[] = [];
      const listener = {
        transport: 'test',
        urls: [],
        start: async () => {},
        stopAccepting: async () => {},
        close: async (options?: { readonly forced?: boolean }) => {
          seen.push(options);
        },
      };
      await rpc.listen(listener);
      const inFlight = busy ? send(rpc, '{"jsonrpc":"2.0","method":"slow","id":1}') : undefined;
      const closed = end(rpc);
      await new Promise<void>((resolve) => setImmediate(resolve)); // the drain's timer is set
      clock.advance(10_000);
      await closed;
      if (inFlight !== undefined) expect((await inFlight).error.code).toBe(ErrorCodes.Aborted);
      return seen;
    };
    expect(await closeOf((rpc) => rpc.close(), true)).toEqual([{ forced: true }]);
    expect(await closeOf((rpc) => rpc.drain({ timeoutMs: 0 }), true)).toEqual([{ forced: true }]);
    // Nothing aborted: an idle close, or a drain that waited (even one that gave up on its handlers).
    expect(await closeOf((rpc) => rpc.close(), false)).toEqual([{ forced: false }]);
    expect(await closeOf((rpc) => rpc.drain({ timeoutMs: 5_000 }), true)).toEqual([{ forced: false }]);
  });

  it('answers -32002 beyond maxInFlight without running the handler', async () => {
    const clock = new ManualClock();
    const rpc = createServer({
      clock,
      maxInFlight: 1,
      methods: { wait: () => new Promise((r) => clock.setTimeout(() => r(1), 10)) },
    });
    const first = send(rpc, '{"jsonrpc":"2.0","method":"wait","id":1}');
    expect((await send(rpc, '{"jsonrpc":"2.0","method":"wait","id":2}')).error.code).toBe(
      ErrorCodes.Overloaded,
    );
    clock.advance(10);
    expect((await first).result).toBe(1);
  });

  it('holds maxInFlight when an async authenticate hook runs before the handler', async () => {
    let running = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    const rpc = createServer({
      maxInFlight: 5,
      authenticate: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return 'user';
      },
      methods: {
        hold: () => {
          running++;
          peak = Math.max(peak, running);
          return new Promise<string>((resolve) => release.push(() => resolve('done')));
        },
      },
    });
    const requests = Array.from({ length: 20 }, (_, id) =>
      send(rpc, JSON.stringify({ jsonrpc: '2.0', id, method: 'hold' })),
    );
    const batch = send(
      rpc,
      JSON.stringify(
        Array.from({ length: 3 }, (_, index) => ({ jsonrpc: '2.0', id: 100 + index, method: 'hold' })),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rpc.inFlight).toBe(5);
    expect(peak).toBe(5);
    while (release.length > 0) release.shift()?.();
    const answers = [...(await Promise.all(requests)), ...((await batch) as unknown[])];
    const overloaded = answers.filter((answer) => answer.error?.code === ErrorCodes.Overloaded);
    expect(answers.filter((answer) => answer.result === 'done')).toHaveLength(5);
    expect(overloaded).toHaveLength(18);
    expect(rpc.inFlight).toBe(0);
  });

  it('refuses a request the authenticate hook refuses, without dispatching it', async () => {
    let ran = 0;
    const rpc = createServer({
      authenticate: (credentials) => {
        const token = credentials?.headers.authorization;
        if (token === undefined) return refuse('unauthenticated');
        if (token !== 'Bearer admin') return refuse('forbidden', 'admins only');
        return { user: 'admin' };
      },
      methods: {
        secret: (_params, handler) => {
          ran++;
          return handler.auth;
        },
      },
    });
    const request = '{"jsonrpc":"2.0","method":"secret","id":1}';
    expect((await send(rpc, request)).error.code).toBe(ErrorCodes.Unauthenticated);
    const forbidden = await send(rpc, request, {
      transport: 't',
      metadata: {},
      credentials: { headers: { authorization: 'Bearer x' } },
    });
    expect(forbidden.error).toEqual({ code: ErrorCodes.Forbidden, message: 'admins only' });
    expect(ran).toBe(0);
    const allowed = await send(rpc, request, {
      transport: 't',
      metadata: {},
      credentials: { headers: { authorization: 'Bearer admin' } },
    });
    expect(allowed.result).toEqual({ user: 'admin' });
  });

  it('refuses to register reserved or duplicate names', () => {
    expect(() => createServer({ methods: { 'rpc.ping': () => 1 } })).toThrow(/reserved/);
    const rpc = createServer({ methods: { a: () => 1 } });
    expect(() => rpc.addMethod('a', () => 2)).toThrow(/already/);
  });

  it('answers rpc.ping', async () => {
    const { rpc } = server();
    expect((await send(rpc, '{"jsonrpc":"2.0","method":"rpc.ping","id":1}')).result).toBe('pong');
  });

  it('answers a request it aborts at shutdown with -32008, even when the handler returns normally', async () => {
    const rpc = createServer({
      methods: {
        slow: (_params, handler) =>
          new Promise((resolve) =>
            handler.signal.addEventListener('abort', () => resolve('done anyway'), { once: true }),
          ),
      },
    });
    const pending = send(rpc, '{"jsonrpc":"2.0","method":"slow","id":1}');
    await rpc.close();
    expect((await pending).error.code).toBe(ErrorCodes.Aborted);
  });

  it('checks credentials before revealing whether a method exists', async () => {
    const rpc = createServer({ authenticate: () => refuse('unauthenticated'), methods: { known: () => 1 } });
    expect((await send(rpc, '{"jsonrpc":"2.0","method":"unknown","id":1}')).error.code).toBe(
      ErrorCodes.Unauthenticated,
    );
    expect((await send(rpc, '{"jsonrpc":"2.0","method":"known","params":{"x":1},"id":2}')).error.code).toBe(
      ErrorCodes.Unauthenticated,
    );
  });

  it('measures maxMessageBytes in UTF-8 bytes, not characters', async () => {
    const rpc = createServer({ maxMessageBytes: 100, methods: { echo: (params) => params } });
    const frame = (text: string) => JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: [text], id: 1 });
    const ascii = frame('a'.repeat(40));
    const wide = frame('€'.repeat(40)); // 40 characters, 120 bytes
    expect(ascii.length).toBeLessThan(100);
    expect(wide.length).toBeLessThan(100);
    expect((await send(rpc, ascii)).result).toEqual(['a'.repeat(40)]);
    expect((await send(rpc, wide)).error.code).toBe(ErrorCodes.MessageTooLarge);
  });
});
