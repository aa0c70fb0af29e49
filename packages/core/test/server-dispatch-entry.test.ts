import {
  createServer,
  type DispatchStatus,
  ErrorCodes,
  type IncomingContext,
  InFlightLimit,
  refuse,
} from '@resilient-rpc/core';
import { ManualClock } from '@resilient-rpc/core/testing';
import { describe, expect, it } from 'vitest';

const context: IncomingContext = { transport: 'test', metadata: {} };
const bytes = (text: string) => new TextEncoder().encode(text);

function server(options: Parameters<typeof createServer>[0] = {}) {
  const clock = new ManualClock();
  const release: Array<() => void> = [];
  const rpc = createServer({
    clock,
    maxBatchSize: 3,
    maxMessageBytes: 200,
    authenticate: (credentials) => {
      const token = credentials?.headers.authorization;
      if (token === 'none') return refuse('unauthenticated');
      if (token === 'guest') return refuse('forbidden');
      return 'user';
    },
    methods: {
      echo: (params) => params,
      note: () => {},
      hold: () => new Promise((resolve) => release.push(() => resolve('held'))),
      bigint: () => 1n,
    },
    ...options,
  });
  return { rpc, release, clock };
}

async function dispatch(
  rpc: ReturnType<typeof server>['rpc'],
  message: string | Uint8Array,
  incoming = context,
) {
  const result = await rpc.dispatcher.dispatch(message, incoming);
  return { status: result.status, body: result.body === undefined ? undefined : JSON.parse(result.body) };
}

describe('dispatcher.dispatch: one entry point, a body and a status', () => {
  it('answers a request with its response and status ok, from text or UTF-8 bytes', async () => {
    const { rpc } = server();
    const text = '{"jsonrpc":"2.0","method":"echo","params":["€"],"id":1}';
    expect(await dispatch(rpc, text)).toEqual({
      status: 'ok',
      body: { jsonrpc: '2.0', id: 1, result: ['€'] },
    });
    expect(await dispatch(rpc, bytes(text))).toEqual({
      status: 'ok',
      body: { jsonrpc: '2.0', id: 1, result: ['€'] },
    });
  });

  it("writes a success's body as JSON.stringify writes its response, whatever the id and result", async () => {
    class Stamped {
      toJSON(key: string) {
        return `stamped under "${key}"`;
      }
    }
    const results: unknown[] = [
      { message: 'hello', n: 42 },
      'text "quoted"\n',
      -0,
      1e21,
      Number.NaN,
      null,
      undefined,
      true,
      [1, undefined, () => 1],
      new Date(0),
      new Stamped(),
      Object.create({ inherited: 1 }),
      () => 'a function',
    ];
    const ids = [1, 0, -5, 1.5, 'id', null];
    const rpc = createServer({ methods: { give: (params) => results[(params as number[])[0]!] } });
    for (let index = 0; index < results.length; index++)
      for (const id of ids) {
        const request = JSON.stringify({ jsonrpc: '2.0', method: 'give', params: [index], id });
        const result = results[index];
        const expected = JSON.stringify({ jsonrpc: '2.0', id, result: result === undefined ? null : result });
        expect((await rpc.dispatcher.dispatch(request, context)).body, request).toBe(expected);
      }
    await rpc.close();
  });

  it('gives each kind of answer the status a listener maps', async () => {
    const { rpc } = server();
    const cases: Array<[string | Uint8Array, DispatchStatus, number | undefined, IncomingContext?]> = [
      ['{"jsonrpc":"2.0","method":"note"}', 'no-content', undefined],
      ['[{"jsonrpc":"2.0","method":"note"}]', 'no-content', undefined],
      ['{"jsonrpc":', 'bad-request', ErrorCodes.ParseError],
      [new Uint8Array([0x7b, 0xff, 0x7d]), 'bad-request', ErrorCodes.ParseError],
      ['{"jsonrpc":"1.0","method":"echo","id":1}', 'bad-request', ErrorCodes.InvalidRequest],
      ['[]', 'bad-request', ErrorCodes.InvalidRequest],
      ['{"jsonrpc":"2.0","method":"nope","id":1}', 'ok', ErrorCodes.MethodNotFound],
      ['{"jsonrpc":"2.0","method":"bigint","id":1}', 'ok', ErrorCodes.InternalError],
      [`["${'x'.repeat(300)}"]`, 'too-large', ErrorCodes.MessageTooLarge],
      [bytes(`["${'x'.repeat(300)}"]`), 'too-large', ErrorCodes.MessageTooLarge],
      [
        JSON.stringify([1, 2, 3, 4].map((id) => ({ jsonrpc: '2.0', method: 'echo', id }))),
        'too-large',
        ErrorCodes.BatchTooLarge,
      ],
      [
        '{"jsonrpc":"2.0","method":"echo","id":1}',
        'unauthenticated',
        ErrorCodes.Unauthenticated,
        { transport: 't', metadata: {}, credentials: { headers: { authorization: 'none' } } },
      ],
      [
        '{"jsonrpc":"2.0","method":"echo","id":1}',
        'forbidden',
        ErrorCodes.Forbidden,
        { transport: 't', metadata: {}, credentials: { headers: { authorization: 'guest' } } },
      ],
    ];
    for (const [message, status, code, incoming] of cases) {
      const answer = await dispatch(rpc, message, incoming);
      expect(answer.status, String(message)).toBe(status);
      if (code === undefined) expect(answer.body).toBeUndefined();
      else expect(answer.body.error.code, String(message)).toBe(code);
    }
  });

  it('answers a batch ok, with every entry inside, and a non-text message bad-request', async () => {
    const { rpc } = server();
    const answer = await dispatch(
      rpc,
      '[{"jsonrpc":"2.0","method":"echo","params":[1],"id":1},{"jsonrpc":"2.0","method":"nope","id":2}]',
    );
    expect(answer.status).toBe('ok');
    expect(answer.body).toHaveLength(2);
    const notText = await rpc.dispatcher.dispatch(42 as unknown as string, context);
    expect(notText.status).toBe('bad-request');
  });

  it('answers overloaded and draining, not processed', async () => {
    const { rpc, release } = server({ maxInFlight: 1 });
    const held = dispatch(rpc, '{"jsonrpc":"2.0","method":"hold","id":1}');
    expect(await dispatch(rpc, '{"jsonrpc":"2.0","method":"echo","id":2}')).toMatchObject({
      status: 'overloaded',
      body: { error: { code: ErrorCodes.Overloaded } },
    });
    const drained = rpc.drain({ timeoutMs: 1_000 });
    expect(await dispatch(rpc, '{"jsonrpc":"2.0","method":"echo","id":3}')).toMatchObject({
      status: 'draining',
      body: { error: { code: ErrorCodes.Draining } },
    });
    await Promise.resolve();
    release.shift()?.();
    expect((await held).body.result).toBe('held');
    await drained;
  });

  it('counts a connection limit per request and batch entry, within one tick, and releases it', async () => {
    const { rpc, release } = server({ authenticate: undefined });
    const limit = new InFlightLimit(2);
    const batch = rpc.dispatcher.dispatch(
      '[{"jsonrpc":"2.0","method":"hold","id":1},{"jsonrpc":"2.0","method":"hold","id":2},{"jsonrpc":"2.0","method":"hold","id":3}]',
      context,
      { limit },
    );
    const single = rpc.dispatcher.dispatch('{"jsonrpc":"2.0","method":"hold","id":4}', context, { limit });
    expect(limit.inFlight).toBe(2);
    expect(rpc.inFlight).toBe(2);
    const refused = await single;
    expect(refused.status).toBe('overloaded');
    expect(JSON.parse(refused.body!).error).toMatchObject({
      code: ErrorCodes.Overloaded,
      data: { maxInFlight: 2 },
    });
    // Another connection's limit is its own; the server's limit is shared.
    expect(
      (
        await rpc.dispatcher.dispatch('{"jsonrpc":"2.0","method":"echo","id":5}', context, {
          limit: new InFlightLimit(1),
        })
      ).status,
    ).toBe('ok');
    const idle = limit.idle();
    while (release.length > 0) release.shift()?.();
    const answers = JSON.parse((await batch).body!) as Array<{
      id: number;
      result?: string;
      error?: { code: number };
    }>;
    expect(answers.map((answer) => answer.result ?? answer.error?.code)).toEqual([
      'held',
      'held',
      ErrorCodes.Overloaded,
    ]);
    await idle;
    expect(limit.inFlight).toBe(0);
    expect(rpc.inFlight).toBe(0);
  });

  it('answers a batch that is too large once per entry by id when the transport multiplexes', async () => {
    const { rpc } = server();
    const batch = JSON.stringify([
      { jsonrpc: '2.0', method: 'echo', id: 'a' },
      { jsonrpc: '2.0', method: 'note' },
      { jsonrpc: '2.0', method: 'echo', id: 7 },
      { jsonrpc: '2.0', method: 'echo', id: 8 },
    ]);
    const result = await rpc.dispatcher.dispatch(batch, context, { answerEachEntry: true });
    expect(result.status).toBe('ok');
    expect(
      JSON.parse(result.body!).map((answer: { id: unknown; error: { code: number } }) => [
        answer.id,
        answer.error.code,
      ]),
    ).toEqual([
      ['a', ErrorCodes.BatchTooLarge],
      [7, ErrorCodes.BatchTooLarge],
      [8, ErrorCodes.BatchTooLarge],
    ]);
  });

  it('keeps handleText and handleMessage working', async () => {
    const { rpc } = server();
    expect(
      JSON.parse(
        (await rpc.dispatcher.handleText('{"jsonrpc":"2.0","method":"echo","params":[2],"id":1}', context))!,
      ).result,
    ).toEqual([2]);
    expect(await rpc.dispatcher.handleText('{"jsonrpc":"2.0","method":"note"}', context)).toBeUndefined();
    expect(
      await rpc.dispatcher.handleMessage({ jsonrpc: '2.0', method: 'echo', params: [3], id: 1 }, context),
    ).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: [3],
    });
  });

  it('dispatchNow returns an answer ready at once as it is, a pending one as a promise, both as dispatch does', async () => {
    const { rpc, release } = server({ authenticate: undefined });
    const dispatchNow = rpc.dispatcher.dispatchNow!;
    const now = dispatchNow.call(
      rpc.dispatcher,
      '{"jsonrpc":"2.0","method":"echo","params":[1],"id":7}',
      context,
    );
    expect(now).not.toBeInstanceOf(Promise);
    expect(now).toEqual(
      await rpc.dispatcher.dispatch('{"jsonrpc":"2.0","method":"echo","params":[1],"id":7}', context),
    );
    expect(now).toEqual({ status: 'ok', body: '{"jsonrpc":"2.0","id":7,"result":[1]}' });
    // Refusals before any handler: at once too.
    expect(dispatchNow.call(rpc.dispatcher, '{"jsonrpc"', context)).toMatchObject({ status: 'bad-request' });
    expect(dispatchNow.call(rpc.dispatcher, 'x'.repeat(201), context)).toMatchObject({ status: 'too-large' });
    expect(dispatchNow.call(rpc.dispatcher, bytes('{"jsonrpc":"2.0","method":"note"}'), context)).toEqual({
      status: 'no-content',
      body: undefined,
    });
    // A handler that returns a promise: a promise.
    const held = dispatchNow.call(rpc.dispatcher, '{"jsonrpc":"2.0","method":"hold","id":8}', context);
    expect(held).toBeInstanceOf(Promise);
    await new Promise((resolve) => setTimeout(resolve, 0));
    release.shift()!();
    expect(await held).toEqual({ status: 'ok', body: '{"jsonrpc":"2.0","id":8,"result":"held"}' });
    // dispatch always resolves in a promise, a synchronous answer included.
    expect(rpc.dispatcher.dispatch('{"jsonrpc":"2.0","method":"echo","id":9}', context)).toBeInstanceOf(
      Promise,
    );
    // With an authenticate hook (awaited), every request's answer is pending.
    const guarded = server().rpc.dispatcher;
    expect(guarded.dispatchNow!('{"jsonrpc":"2.0","method":"echo","id":10}', context)).toBeInstanceOf(
      Promise,
    );
  });

  it('never rejects, even when onError throws while reporting an unserialisable result', async () => {
    const { rpc } = server({
      onError: () => {
        throw new Error('logger down');
      },
    });
    const result = await rpc.dispatcher.dispatch('{"jsonrpc":"2.0","method":"bigint","id":1}', context);
    expect(JSON.parse(result.body!).error.code).toBe(ErrorCodes.InternalError);
  });
});

describe('dispatcher.dispatch: invalid entries without an id', () => {
  const invalid = (id: unknown, reason: string) => ({
    jsonrpc: '2.0',
    id,
    error: { code: ErrorCodes.InvalidRequest, message: 'Invalid Request', data: { reason } },
  });

  it('answers each one, in order and byte for byte as before, among valid and invalid entries with ids', async () => {
    const rpc = createServer({ maxBatchSize: 100, methods: { echo: (params) => params } });
    const entries = [
      1,
      { jsonrpc: '2.0', method: 'echo', params: ['a'], id: 1 },
      { jsonrpc: '1.0', method: 'echo' },
      { jsonrpc: '1.0', method: 'echo', id: 'x' },
      'text',
      { jsonrpc: '2.0', method: 'echo', params: ['b'], id: 2 },
      { jsonrpc: '2.0', method: 'echo', id: {} },
      2,
    ];
    const expected = [
      invalid(null, 'request must be an object'),
      { jsonrpc: '2.0', id: 1, result: ['a'] },
      invalid(null, 'jsonrpc must be exactly "2.0"'),
      invalid('x', 'jsonrpc must be exactly "2.0"'),
      invalid(null, 'request must be an object'),
      { jsonrpc: '2.0', id: 2, result: ['b'] },
      invalid(null, 'id must be a string, a number or null'),
      invalid(null, 'request must be an object'),
    ];
    for (let round = 0; round < 2; round++) {
      const result = await rpc.dispatcher.dispatch(JSON.stringify(entries), context, {
        answerEachEntry: true,
      });
      expect(result).toEqual({ status: 'ok', body: JSON.stringify(expected) });
    }
    const single = await rpc.dispatcher.dispatch('1', context);
    expect(single).toEqual({
      status: 'bad-request',
      body: JSON.stringify(invalid(null, 'request must be an object')),
    });
    await rpc.close();
  });

  it('still answers an entry whose result cannot be serialised -32603 on its own', async () => {
    const rpc = createServer({ methods: { bigint: () => 1n } });
    const result = await rpc.dispatcher.dispatch('[1,{"jsonrpc":"2.0","method":"bigint","id":7},2]', context);
    expect(JSON.parse(result.body!)).toEqual([
      invalid(null, 'request must be an object'),
      {
        jsonrpc: '2.0',
        id: 7,
        error: {
          code: ErrorCodes.InternalError,
          message: 'Internal error',
          data: { reason: 'result is not JSON-serialisable' },
        },
      },
      invalid(null, 'request must be an object'),
    ]);
    await rpc.close();
  });

  it('gives handleMessage callers answers of their own (not shared, not frozen)', async () => {
    const rpc = createServer({ methods: {} });
    // The dispatch path shares one frozen answer per reason; handleMessage's caller may change its answers.
    await rpc.dispatcher.dispatch('[1,2]', context);
    const first = (await rpc.dispatcher.handleMessage([1, 2], context)) as unknown as Array<
      Record<string, unknown>
    >;
    const second = (await rpc.dispatcher.handleMessage([1], context)) as unknown as Array<
      Record<string, unknown>
    >;
    expect(first[0]).not.toBe(first[1]);
    expect(first[0]).not.toBe(second[0]);
    expect(Object.isFrozen(first[0])).toBe(false);
    first[0]!.id = 'mine';
    expect(second[0]!.id).toBeNull();
    await rpc.close();
  });
});
