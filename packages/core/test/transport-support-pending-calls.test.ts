import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createClient } from '../src/client/create-client.js';
import { ConnectionLostError, TimeoutError } from '../src/errors/kinds.js';
import type { RpcError } from '../src/errors/rpc-error.js';
import type { JsonRpcResponse } from '../src/protocol/types.js';
import { ManualClock } from '../src/testing/manual-clock.js';
import type { ClientTransport } from '../src/transport.js';
import { type AbortSource, PendingCalls } from '../src/transport-support/pending-calls.js';
import {
  type AbandonHook,
  type AbandonListener,
  UNWATCH_ABANDON,
  WATCH_ABANDON,
} from '../src/util/abandon-hook.js';
import { systemClock } from '../src/util/clock.js';

type Outcome = { value?: string; error?: RpcError };

function table(clock = new ManualClock()) {
  const calls = new PendingCalls<number, string, string>(clock, {
    timeout: (call) => new TimeoutError(`${call.context}: no response within ${call.timeoutMs} ms`),
    aborted: (call) => new TimeoutError(`${call.context}: aborted`),
  });
  const outcomes = new Map<number, Outcome>();
  const add = (id: number, timeoutMs: number, signal?: AbortSignal) => {
    calls.add(
      id,
      `call ${id}`,
      timeoutMs,
      signal,
      (value) => outcomes.set(id, { value }),
      (error) => outcomes.set(id, { error }),
    );
  };
  return { clock, calls, outcomes, add };
}

/** A table that reads a lazily made signal only after 10 ms, and the outcomes of its calls. */
function watchingTable(clock = new ManualClock()) {
  const calls = new PendingCalls<number, string, string>(
    clock,
    {
      timeout: (call) => new TimeoutError(`${call.context}: timed out`),
      aborted: (call) => new TimeoutError(`${call.context}: aborted`),
    },
    { watchSignalAfterMs: 10 },
  );
  const outcomes = new Map<number, Outcome>();
  const add = (id: number, abort: AbortSource) =>
    calls.add(
      id,
      `call ${id}`,
      1_000,
      abort,
      (value) => outcomes.set(id, { value }),
      (error) => outcomes.set(id, { error }),
    );
  return { clock, calls, outcomes, add };
}

describe('PendingCalls', () => {
  it('settles a call once with its response and forgets it', () => {
    const { calls, outcomes, add, clock } = table();
    add(1, 1_000);
    expect(calls.size).toBe(1);
    expect(calls.resolve(1, 'one')).toBe(true);
    expect(outcomes.get(1)).toEqual({ value: 'one' });
    expect(calls.size).toBe(0);
    // A late response or the timer finds nothing.
    expect(calls.resolve(1, 'again')).toBe(false);
    clock.advance(2_000);
    expect(outcomes.get(1)).toEqual({ value: 'one' });
  });

  it('times calls out at their own deadline on the injected clock, with one timer for all', () => {
    const { calls, outcomes, add, clock } = table();
    add(1, 1_000);
    clock.advance(300);
    add(2, 1_000); // due at 1 300
    add(3, 200); // due at 500: earlier than the armed timer, so it re-arms
    clock.advance(199);
    expect(outcomes.size).toBe(0);
    clock.advance(1);
    expect(outcomes.get(3)?.error?.message).toBe('call 3: no response within 200 ms');
    expect(outcomes.has(1)).toBe(false);
    clock.advance(499); // t = 999
    expect(outcomes.has(1)).toBe(false);
    clock.advance(1); // t = 1 000
    expect(outcomes.get(1)?.error?.kind).toBe('timeout');
    expect(outcomes.has(2)).toBe(false);
    clock.advance(300); // t = 1 300
    expect(outcomes.get(2)?.error?.kind).toBe('timeout');
    expect(calls.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('times a call from the start it is given (SendOptions.startedAt), not from when it was added', () => {
    const { calls, outcomes, clock } = table();
    clock.advance(1_000);
    const onError = (error: RpcError) => outcomes.set(1, { error });
    calls.add(1, 'call 1', 500, undefined, () => {}, onError, 800); // started at 800: due at 1 300
    clock.advance(299);
    expect(outcomes.has(1)).toBe(false);
    clock.advance(1);
    expect(outcomes.get(1)?.error?.message).toBe('call 1: no response within 500 ms');
  });

  it('fails a call when its signal aborts and stops listening to the signal once settled', () => {
    const { calls, outcomes, add } = table();
    const first = new AbortController();
    add(1, 1_000, first.signal);
    first.abort();
    expect(outcomes.get(1)?.error?.message).toBe('call 1: aborted');
    expect(calls.size).toBe(0);

    const second = new AbortController();
    add(2, 1_000, second.signal);
    calls.resolve(2, 'two');
    second.abort(); // after settling: no second outcome
    expect(outcomes.get(2)).toEqual({ value: 'two' });
  });

  it('fails at once a call whose signal already aborted', () => {
    const { calls, outcomes, add } = table();
    add(1, 1_000, AbortSignal.abort());
    expect(outcomes.get(1)?.error?.message).toBe('call 1: aborted');
    expect(calls.size).toBe(0);
  });

  it('rejectAll fails the selected calls and leaves the others waiting', () => {
    const { calls, outcomes, add, clock } = table();
    add(1, 1_000);
    add(2, 1_000);
    add(3, 1_000);
    calls.rejectAll(
      (call) => new ConnectionLostError(`${call.context} lost`),
      (call) => call.id !== 2,
    );
    expect(outcomes.get(1)?.error?.kind).toBe('connection-lost');
    expect(outcomes.get(3)?.error?.message).toBe('call 3 lost');
    expect(calls.get(2)?.context).toBe('call 2');
    calls.rejectAll((call) => new ConnectionLostError(`${call.context} lost`));
    expect(outcomes.get(2)?.error?.kind).toBe('connection-lost');
    expect(clock.pendingTimers).toBe(0);
  });

  it('a call added alone and the calls added beside it are found, settled and failed alike, oldest first', () => {
    const clock = new ManualClock();
    const failed: number[] = [];
    const calls = new PendingCalls<number, string, string>(clock, {
      timeout: () => new TimeoutError('no response'),
      aborted: () => new TimeoutError('aborted'),
    });
    const outcomes = new Map<number, string>();
    const add = (id: number, timeoutMs = 1_000) =>
      calls.add(
        id,
        `call ${id}`,
        timeoutMs,
        undefined,
        (value) => outcomes.set(id, value),
        () => failed.push(id),
      );
    // Alone (the table's fast path), then beside others.
    add(1);
    expect(calls.get(1)?.context).toBe('call 1');
    expect(calls.get(2)).toBeUndefined();
    expect(calls.resolve(2, 'nobody')).toBe(false);
    expect(calls.size).toBe(1);
    add(2);
    add(3);
    expect(calls.size).toBe(3);
    expect(calls.resolve(1, 'one')).toBe(true);
    expect(calls.resolve(1, 'again')).toBe(false);
    expect(calls.get(1)).toBeUndefined();
    add(4);
    expect(calls.size).toBe(3);
    calls.rejectAll(() => new ConnectionLostError('closed'));
    expect(failed).toEqual([2, 3, 4]);
    expect(calls.size).toBe(0);
    // Alone again, then others: the oldest fails first whichever way it was kept.
    add(5, 300);
    add(6, 100);
    add(7, 300);
    calls.rejectAll(
      () => new ConnectionLostError('lost'),
      (call) => call.id !== 6,
    );
    expect(failed).toEqual([2, 3, 4, 5, 7]);
    add(8, 100);
    clock.advance(100);
    expect(failed).toEqual([2, 3, 4, 5, 7, 6, 8]);
    expect(calls.size).toBe(0);
    expect(outcomes).toEqual(new Map([[1, 'one']]));
    expect(clock.pendingTimers).toBe(0);
  });

  it('a call registered while others expire gets its own full timeout', () => {
    const { calls, outcomes, clock } = table();
    calls.add(
      1,
      'first',
      100,
      undefined,
      () => {},
      () => {
        // A retry registered from inside the timeout callback.
        calls.add(
          2,
          'retry',
          100,
          undefined,
          () => {},
          (error) => outcomes.set(2, { error }),
        );
      },
    );
    clock.advance(100);
    expect(calls.size).toBe(1);
    clock.advance(99);
    expect(outcomes.has(2)).toBe(false);
    clock.advance(1);
    expect(outcomes.get(2)?.error?.kind).toBe('timeout');
  });

  it('with watchSignalAfterMs, reads a lazily made signal only for a call still waiting that long', () => {
    const { clock, calls, outcomes, add } = watchingTable();
    const reads: number[] = [];
    const source = (id: number, controller: AbortController) => ({
      get signal() {
        reads.push(id);
        return controller.signal;
      },
    });
    const quick = new AbortController();
    const slow = new AbortController();
    const abandoned = new AbortController();
    add(1, source(1, quick));
    add(2, source(2, slow));
    clock.advance(5);
    add(3, source(3, abandoned));
    calls.resolve(1, 'one'); // answered within 10 ms: its signal is never made
    abandoned.abort(); // not noticed yet: nobody listens
    expect(outcomes.has(3)).toBe(false);
    clock.advance(5); // t = 10: call 2 has waited 10 ms and is watched from now on
    expect(reads).toEqual([2]);
    slow.abort();
    expect(outcomes.get(2)?.error?.message).toBe('call 2: aborted');
    clock.advance(4);
    expect(outcomes.has(3)).toBe(false);
    clock.advance(1); // t = 15: call 3's signal is read, aborted already: it fails now
    expect(reads).toEqual([2, 3]);
    expect(outcomes.get(3)?.error?.message).toBe('call 3: aborted');
    expect(outcomes.get(1)).toEqual({ value: 'one' });
    expect(calls.size).toBe(0);
    clock.advance(1_000); // the deadline timer finds nothing; no watch timer is left
    expect(clock.pendingTimers).toBe(0);
    // An AbortSignal given as such is still watched at once.
    const direct = new AbortController();
    add(4, direct.signal);
    direct.abort();
    expect(outcomes.get(4)?.error?.message).toBe('call 4: aborted');
  });

  it('a settled call holds neither its context nor its callbacks, even while the call is reachable', async () => {
    // V8 links a Map's replaced hash table to its successor, entries and all: a settled call can
    // stay reachable from the table's Map for a while (issue 16: at concurrency 64 every HTTP
    // request, its response and its promise survived each scavenge). What it reaches must not.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const clock = new ManualClock();
    const calls = new PendingCalls<number, string, { payload: number[] }>(clock, {
      timeout: () => new TimeoutError('no response'),
      aborted: () => new TimeoutError('aborted'),
    });
    const kept: unknown[] = [];
    const contexts: WeakRef<object>[] = [];
    const captured: WeakRef<object>[] = [];
    const settle = [
      (id: number) => calls.resolve(id, 'ok'),
      (id: number) => calls.reject(id, new ConnectionLostError('lost')),
      () => clock.advance(1_000),
      (_id: number, controller: AbortController) => controller.abort(),
      () => calls.rejectAll(() => new ConnectionLostError('closed')),
    ];
    settle.forEach((how, id) => {
      const context = { payload: [id] };
      const promise = { settled: false };
      const controller = new AbortController();
      kept.push(
        calls.add(
          id,
          context,
          1_000,
          controller.signal,
          () => {
            promise.settled = true;
          },
          () => {
            promise.settled = true;
          },
        ),
      );
      contexts.push(new WeakRef(context));
      captured.push(new WeakRef(promise));
      how(id, controller);
    });
    expect(calls.size).toBe(0);
    await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets are held until the job ends
    gc();
    expect(kept).toHaveLength(settle.length);
    expect(contexts.map((ref) => ref.deref())).toEqual(settle.map(() => undefined));
    expect(captured.map((ref) => ref.deref())).toEqual(settle.map(() => undefined));
  });
});

/**
 * A source like the core's attempt: it has the abandon hook, and its `signal` getter throws, so a
 * test fails if the table reads it.
 */
class HookedSource implements AbandonHook {
  listener: AbandonListener | undefined;
  abandoned = false;
  watches = 0;
  unwatches = 0;
  get signal(): AbortSignal {
    throw new Error('the table read the signal of a source that has the hook');
  }
  [WATCH_ABANDON](listener: AbandonListener): boolean {
    this.watches++;
    if (this.abandoned) return false;
    this.listener = listener;
    return true;
  }
  [UNWATCH_ABANDON](listener: AbandonListener): void {
    this.unwatches++;
    if (this.listener === listener) this.listener = undefined;
  }
  abandon(): void {
    this.abandoned = true;
    const listener = this.listener;
    this.listener = undefined;
    listener?.handleEvent();
  }
}

describe('PendingCalls with the core-internal abandon hook', () => {
  it('watches a hooked source at once, without reading its signal or arming the watch timer', () => {
    const { clock, calls, outcomes, add } = watchingTable();
    const source = new HookedSource();
    add(1, source);
    expect(source.watches).toBe(1);
    expect(clock.pendingTimers).toBe(1); // the deadline timer only: no watch timer
    source.abandon(); // before watchSignalAfterMs: noticed at once all the same
    expect(outcomes.get(1)?.error?.message).toBe('call 1: aborted');
    expect(calls.size).toBe(0);
  });

  it('a call settled before its source is abandoned is unhooked: no listener call, no rejection', () => {
    const { calls, outcomes, add } = watchingTable();
    const source = new HookedSource();
    add(1, source);
    calls.resolve(1, 'one');
    expect(source.unwatches).toBe(1);
    expect(source.listener).toBeUndefined();
    source.abandon();
    expect(outcomes.get(1)).toEqual({ value: 'one' });
  });

  it('a source abandoned before the call is added fails the call at once', () => {
    const { clock, calls, outcomes, add } = watchingTable();
    const source = new HookedSource();
    source.abandon();
    add(1, source);
    expect(outcomes.get(1)?.error?.message).toBe('call 1: aborted');
    expect(calls.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a source without the hook keeps the delayed signal read', () => {
    const { clock, outcomes, add } = watchingTable();
    let reads = 0;
    const controller = new AbortController();
    add(1, {
      get signal() {
        reads++;
        return controller.signal;
      },
    });
    controller.abort();
    clock.advance(9);
    expect(reads).toBe(0);
    clock.advance(1);
    expect(reads).toBe(1);
    expect(outcomes.get(1)?.error?.message).toBe('call 1: aborted');
  });
});

/**
 * A transport of hanging calls registered in a PendingCalls table (like the WS and HTTP adapters),
 * which reads the attempt's `signal` itself before registering, after, or not at all.
 */
function tableTransport(readSignal: 'never' | 'before' | 'after') {
  const aborted: string[] = [];
  const seen: string[] = [];
  let nextId = 0;
  const table = new PendingCalls<number, JsonRpcResponse, number>(
    systemClock,
    {
      timeout: () => new TimeoutError('timed out'),
      aborted: (call) => {
        aborted.push(`call ${call.context}`);
        return new TimeoutError('aborted');
      },
    },
    { watchSignalAfterMs: 10 },
  );
  const transport: ClientTransport = {
    name: 'table',
    schemes: ['table'],
    connect(url) {
      return {
        url,
        status: 'open',
        capabilities: { batch: false, ping: false, persistentConnection: false },
        send: (_request, options) =>
          new Promise<JsonRpcResponse>((resolve, reject) => {
            const id = ++nextId;
            const own = () => {
              const signal = options.signal;
              signal.addEventListener('abort', () => seen.push(`signal ${id}: ${String(signal.reason)}`));
            };
            if (readSignal === 'before') own();
            table.add(id, id, options.timeoutMs, options, resolve, reject, options.startedAt);
            if (readSignal === 'after') own();
          }),
        onEvent: () => () => {},
        close: async () => {},
      };
    },
  };
  return { transport, table, aborted, seen };
}

describe('the abandon hook between the client and PendingCalls', () => {
  for (const readSignal of ['never', 'before', 'after'] as const) {
    it(`a cancelled call's entry is dropped at once (signal read by the adapter: ${readSignal})`, async () => {
      const { transport, table, aborted, seen } = tableTransport(readSignal);
      const client = createClient({ transports: [transport], endpoints: ['table://x'], heartbeat: false });
      try {
        const controller = new AbortController();
        const outcome = client.call('hang', [], { signal: controller.signal, deadlineMs: 60_000 }).then(
          () => 'resolved',
          (error: RpcError) => error.kind,
        );
        await new Promise((resolve) => setImmediate(resolve));
        expect(table.size).toBe(1);
        controller.abort();
        // Before the watch delay (10 ms) and without awaiting: the table was told synchronously.
        expect(table.size).toBe(0);
        expect(aborted).toEqual(['call 1']);
        // An adapter that read the signal sees it abort too, once, with the call's reason.
        expect(seen).toEqual(
          readSignal === 'never' ? [] : ['signal 1: CancelledError: the call was cancelled'],
        );
        expect(await outcome).toBe('cancelled');
      } finally {
        await client.close();
      }
    });
  }
});
