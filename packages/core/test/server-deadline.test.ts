import { getEventListeners } from 'node:events';
import {
  createServer,
  ErrorCodes,
  type HandlerContext,
  type IncomingContext,
  ServerDefaults,
} from '@resilient-rpc/core';
import { ManualClock } from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const DAY_MS = 24 * 60 * 60 * 1000;
const request = '{"jsonrpc":"2.0","method":"work","id":1}';

/** Ways a handler naturally fails once its signal aborts. */
const failures: Record<string, (signal: AbortSignal) => unknown> = {
  'its own Error': () => new Error('cancelled by the handler'),
  'a string': () => 'stopped',
  'an AbortError': () => new DOMException('This operation was aborted', 'AbortError'),
  'the signal reason': (signal) => signal.reason,
  undefined: () => undefined,
};

function failingOnAbort(make: (signal: AbortSignal) => unknown) {
  return (_params: unknown, context: HandlerContext) =>
    new Promise((_resolve, reject) =>
      context.signal.addEventListener('abort', () => reject(make(context.signal)), { once: true }),
    );
}

const answerOf = async (pending: Promise<string | undefined>) => JSON.parse((await pending)!);

describe('server: a handler that fails once aborted', () => {
  for (const [what, make] of Object.entries(failures)) {
    it(`answers -32001 when it rejects with ${what} after its deadline, without reporting an error`, async () => {
      const clock = new ManualClock();
      const errors: unknown[] = [];
      const server = createServer({
        clock,
        onError: (error) => errors.push(error),
        methods: { work: failingOnAbort(make) },
      });
      const pending = server.dispatcher.handleText(request, { transport: 't', metadata: { deadlineMs: 50 } });
      clock.advance(50);
      expect((await answerOf(pending)).error.code).toBe(ErrorCodes.DeadlineExceeded);
      expect(errors).toEqual([]);
      expect(server.inFlight).toBe(0);
    });

    it(`answers -32008 when it rejects with ${what} after the server aborted it at shutdown`, async () => {
      const server = createServer({ methods: { work: failingOnAbort(make) } });
      const pending = server.dispatcher.handleText(request, {
        transport: 't',
        metadata: { deadlineMs: 60_000 },
      });
      await server.close();
      expect((await answerOf(pending)).error.code).toBe(ErrorCodes.Aborted);
    });
  }

  it('answers -32001 when a handler that ignores its signal throws after the deadline passed', async () => {
    const clock = new ManualClock();
    const server = createServer({
      clock,
      methods: {
        work: () =>
          new Promise((_resolve, reject) => clock.setTimeout(() => reject(new Error('too late')), 80)),
      },
    });
    const pending = server.dispatcher.handleText(request, { transport: 't', metadata: { deadlineMs: 50 } });
    clock.advance(80);
    expect((await answerOf(pending)).error.code).toBe(ErrorCodes.DeadlineExceeded);
  });

  it('still answers -32603 for a handler error before the deadline', async () => {
    const clock = new ManualClock();
    const server = createServer({
      clock,
      methods: {
        work: () =>
          new Promise((_resolve, reject) => clock.setTimeout(() => reject(new Error('broken')), 10)),
      },
    });
    const pending = server.dispatcher.handleText(request, { transport: 't', metadata: { deadlineMs: 50 } });
    clock.advance(10);
    expect((await answerOf(pending)).error.code).toBe(ErrorCodes.InternalError);
  });
});

describe('server: deadlines from headers or meta', () => {
  /** A server whose `work` reports when its signal aborts and what deadline it saw. */
  function deadlineServer(options: { maxDeadlineMs?: number } = {}) {
    const clock = new ManualClock();
    const seen: Array<{ deadlineMs: number | undefined; remainingMs: number }> = [];
    const server = createServer({
      clock,
      ...options,
      methods: {
        work: (_params, context) => {
          seen.push({ deadlineMs: context.metadata.deadlineMs, remainingMs: context.remainingMs() });
          return new Promise((resolve) =>
            context.signal.addEventListener('abort', () => resolve('aborted'), { once: true }),
          );
        },
      },
    });
    return { clock, server, seen };
  }

  it(`documents a ${ServerDefaults.maxDeadlineMs / DAY_MS} day limit`, () => {
    expect(ServerDefaults.maxDeadlineMs).toBe(DAY_MS);
  });

  for (const deadlineMs of [1, 1_000, 2 ** 31 - 1, DAY_MS]) {
    it(`fires a ${deadlineMs} ms deadline exactly then, not before`, async () => {
      const { clock, server } = deadlineServer({ maxDeadlineMs: 30 * DAY_MS });
      const pending = server.dispatcher.handleText(request, { transport: 't', metadata: { deadlineMs } });
      clock.advance(deadlineMs - 1);
      expect(server.inFlight).toBe(1);
      clock.advance(1);
      expect((await answerOf(pending)).error.code).toBe(ErrorCodes.DeadlineExceeded);
    });
  }

  it('clamps a header deadline beyond the limit to the limit, and shows the handler the clamped one', async () => {
    const { clock, server, seen } = deadlineServer();
    const incoming: IncomingContext = { transport: 't', metadata: { deadlineMs: 10 * DAY_MS } };
    const pending = server.dispatcher.handleText(request, incoming);
    await Promise.resolve();
    await Promise.resolve();
    expect(seen).toEqual([{ deadlineMs: DAY_MS, remainingMs: DAY_MS }]);
    clock.advance(DAY_MS - 1);
    expect(server.inFlight).toBe(1);
    clock.advance(1);
    expect((await answerOf(pending)).error.code).toBe(ErrorCodes.DeadlineExceeded);
  });

  it('clamps a meta deadline beyond the limit, and takes a configured limit', async () => {
    const { clock, server, seen } = deadlineServer({ maxDeadlineMs: 5_000 });
    const pending = server.dispatcher.handleText(
      '{"jsonrpc":"2.0","method":"work","id":1,"meta":{"deadlineMs":9e15}}',
      { transport: 't', metadata: {} },
    );
    clock.advance(4_999);
    expect(server.inFlight).toBe(1);
    clock.advance(1);
    expect((await answerOf(pending)).error.code).toBe(ErrorCodes.DeadlineExceeded);
    expect(seen[0]?.deadlineMs).toBe(5_000);
  });

  for (const [what, value] of [
    ['negative', -5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a word', 'soon'],
    ['an object', { ms: 5 }],
    ['a boolean', true],
  ] as const) {
    it(`ignores a ${what} deadline: the handler runs without one`, async () => {
      const { clock, server, seen } = deadlineServer();
      const pending = server.dispatcher.handleText(request, {
        transport: 't',
        metadata: { deadlineMs: value as number },
      });
      await Promise.resolve();
      await Promise.resolve();
      expect(seen).toEqual([{ deadlineMs: undefined, remainingMs: Number.POSITIVE_INFINITY }]);
      clock.advance(30 * DAY_MS);
      expect(server.inFlight).toBe(1);
      await server.close();
      expect((await answerOf(pending)).error.code).toBe(ErrorCodes.Aborted);
    });
  }

  it('refuses a maxDeadlineMs that is not a positive number', () => {
    expect(() => createServer({ maxDeadlineMs: 0 })).toThrow(RangeError);
    expect(() => createServer({ maxDeadlineMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('server: long deadlines on the real clock', () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  afterEach(() => {
    process.off('warning', onWarning);
  });

  for (const deadlineMs of [2 ** 31, 2 ** 40, 9e15]) {
    it(`keeps a ${deadlineMs} ms deadline (clamped or not) pending, with no TimeoutOverflowWarning`, async () => {
      process.on('warning', onWarning);
      for (const maxDeadlineMs of [undefined, 2 ** 50]) {
        const server = createServer({
          ...(maxDeadlineMs !== undefined && { maxDeadlineMs }),
          methods: {
            work: (_params, context) =>
              new Promise((resolve) =>
                context.signal.addEventListener('abort', () => resolve('aborted'), { once: true }),
              ),
          },
        });
        const pending = server.dispatcher.handleText(request, { transport: 't', metadata: { deadlineMs } });
        // A clamped platform timer would fire after 1 ms; 30 ms is well past that.
        await new Promise((resolve) => setTimeout(resolve, 30));
        expect(server.inFlight).toBe(1);
        await server.close();
        expect((await answerOf(pending)).error.code).toBe(ErrorCodes.Aborted);
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.name === 'TimeoutOverflowWarning')).toEqual([]);
    });
  }
});

describe('server: a context kept after the answer', () => {
  it('gives an aborted signal and keeps nothing registered', async () => {
    const clock = new ManualClock();
    let kept: HandlerContext | undefined;
    const server = createServer({
      clock,
      methods: {
        work: (_params, context) => {
          kept = context;
          return 'done';
        },
      },
    });
    const answer = await answerOf(
      server.dispatcher.handleText(request, { transport: 't', metadata: { deadlineMs: 50 } }),
    );
    expect(answer.result).toBe('done');
    expect(kept?.signal.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    await server.close();
  });
});

describe('server: handler signals share one deadline timer and one listener per connection', () => {
  /** A server whose `work` fails with its signal's reason when the signal aborts, and whose `quick` answers at once. */
  function waitingServer(clock: ManualClock) {
    const seen: AbortSignal[] = [];
    const server = createServer({
      clock,
      methods: {
        work: (_params, context) => {
          const signal = context.signal;
          seen.push(signal);
          return new Promise((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
          );
        },
        quick: (_params, context) => {
          seen.push(context.signal);
          return 'done';
        },
      },
    });
    return { server, seen };
  }
  const call = (method: string, id: number) => `{"jsonrpc":"2.0","method":"${method}","id":${id}}`;

  it('aborts each signal at its own deadline from one clock timer, and answers -32001', async () => {
    const clock = new ManualClock();
    const { server, seen } = waitingServer(clock);
    const answers = [300, 100, 200].map((deadlineMs, index) =>
      answerOf(
        server.dispatcher.handleText(call('work', index), { transport: 't', metadata: { deadlineMs } }),
      ),
    );
    expect(seen).toHaveLength(3);
    // One timer for the three deadlines (it was one platform timer per request).
    expect(clock.pendingTimers).toBe(1);
    clock.advance(99);
    expect(seen.map((signal) => signal.aborted)).toEqual([false, false, false]);
    clock.advance(1);
    expect(seen.map((signal) => signal.aborted)).toEqual([false, true, false]);
    clock.advance(100);
    expect(seen.map((signal) => signal.aborted)).toEqual([false, true, true]);
    clock.advance(100);
    expect(seen.map((signal) => signal.aborted)).toEqual([true, true, true]);
    for (const signal of seen)
      expect((signal.reason as { code?: number }).code).toBe(ErrorCodes.DeadlineExceeded);
    for (const answer of await Promise.all(answers))
      expect(answer.error.code).toBe(ErrorCodes.DeadlineExceeded);
    await server.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not abort a signal whose handler answered before its deadline, and closes with no timer left', async () => {
    const clock = new ManualClock();
    const { server, seen } = waitingServer(clock);
    const slow = answerOf(
      server.dispatcher.handleText(call('work', 1), { transport: 't', metadata: { deadlineMs: 100 } }),
    );
    const quick = await answerOf(
      server.dispatcher.handleText(call('quick', 2), { transport: 't', metadata: { deadlineMs: 50 } }),
    );
    expect(quick.result).toBe('done');
    clock.advance(60);
    expect(seen[1]!.aborted).toBe(false);
    clock.advance(40);
    expect(seen[0]!.aborted).toBe(true);
    expect((await slow).error.code).toBe(ErrorCodes.DeadlineExceeded);
    expect(seen[1]!.aborted).toBe(false);
    await server.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('aborts every signal at shutdown, with and without a deadline, and answers -32008', async () => {
    const clock = new ManualClock();
    const { server, seen } = waitingServer(clock);
    const answers = [{ deadlineMs: 1_000 }, {}].map((metadata, index) =>
      answerOf(server.dispatcher.handleText(call('work', index), { transport: 't', metadata })),
    );
    expect(seen).toHaveLength(2);
    await server.close();
    for (const signal of seen) {
      expect(signal.aborted).toBe(true);
      expect((signal.reason as { code?: number }).code).toBe(ErrorCodes.Aborted);
    }
    for (const answer of await Promise.all(answers)) expect(answer.error.code).toBe(ErrorCodes.Aborted);
    expect(clock.pendingTimers).toBe(0);
    // The deadline the handler no longer waits for changes nothing.
    clock.advance(2_000);
  });

  it('listens once on a connection, whatever the number of handlers reading their signal on it', async () => {
    const clock = new ManualClock();
    const { server, seen } = waitingServer(clock);
    const connection = new AbortController();
    const incoming: IncomingContext = { transport: 't', metadata: {}, signal: connection.signal };
    const answered = await answerOf(server.dispatcher.handleText(call('quick', 0), incoming));
    expect(answered.result).toBe('done');
    const answers = Array.from({ length: 20 }, (_, index) =>
      server.dispatcher.handleText(call('work', index + 1), incoming),
    );
    expect(seen).toHaveLength(21);
    expect(getEventListeners(connection.signal, 'abort')).toHaveLength(1);
    connection.abort(new Error('the connection closed'));
    const [kept, ...waiting] = seen;
    // The handler that answered before the connection went is not aborted after the fact.
    expect(kept!.aborted).toBe(false);
    for (const signal of waiting) {
      expect(signal.aborted).toBe(true);
      expect((signal.reason as { kind?: string }).kind).toBe('connection-lost');
    }
    await Promise.all(answers);
    expect(server.inFlight).toBe(0);
    // Another connection gets its own listener; the scopes of the first are not kept.
    const other = new AbortController();
    await answerOf(server.dispatcher.handleText(call('quick', 99), { ...incoming, signal: other.signal }));
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(1);
    await server.close();
  });
});
