import { describe, expect, it } from 'vitest';
import { ConnectionLostError, TimeoutError } from '../src/errors/kinds.js';
import type { RpcError } from '../src/errors/rpc-error.js';
import { ManualClock } from '../src/testing/manual-clock.js';
import { PendingCalls } from '../src/transport-support/pending-calls.js';

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

  it('reads an abort source only for a call still waiting watchAfterMs later, then honours its abort', () => {
    const clock = new ManualClock();
    const calls = new PendingCalls<number, string, string>(
      clock,
      {
        timeout: () => new TimeoutError('timeout'),
        aborted: (call) => new TimeoutError(`${call.context}: aborted`),
      },
      { watchAfterMs: 50 },
    );
    const outcomes = new Map<number, Outcome>();
    // A source counts the reads of its signal (the core's SendOptions creates it on first read).
    const source = () => {
      const controller = new AbortController();
      const counted = {
        reads: 0,
        controller,
        get signal() {
          counted.reads++;
          return controller.signal;
        },
      };
      return counted;
    };
    const add = (id: number, from: ReturnType<typeof source>) =>
      calls.add(
        id,
        `call ${id}`,
        1_000,
        from,
        (value) => outcomes.set(id, { value }),
        (error) => outcomes.set(id, { error }),
      );

    const quick = source();
    add(1, quick);
    clock.advance(10);
    const slow = source();
    add(2, slow); // watched from t = 60
    const late = source();
    add(3, late);
    calls.resolve(1, 'one');
    clock.advance(50); // t = 60: call 1 settled unread; 2 and 3 waited 50 ms
    expect(quick.reads).toBe(0);
    expect(slow.reads).toBe(1);
    expect(outcomes.has(2)).toBe(false);
    slow.controller.abort();
    expect(outcomes.get(2)?.error?.message).toBe('call 2: aborted'); // at once, now it listens

    // Aborted before it was read: noticed when the watch timer reads it.
    const early = source();
    add(4, early);
    early.controller.abort();
    expect(outcomes.has(4)).toBe(false);
    clock.advance(49);
    expect(outcomes.has(4)).toBe(false);
    clock.advance(1);
    expect(outcomes.get(4)?.error?.message).toBe('call 4: aborted');
    expect(calls.size).toBe(1);

    calls.resolve(3, 'three');
    late.controller.abort(); // after settling: nothing listens any more
    expect(outcomes.get(3)).toEqual({ value: 'three' });
    calls.rejectAll(() => new TimeoutError('gone'));
    clock.advance(2_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('forgets thousands of calls settled before their abort source was read, without reading one', () => {
    const clock = new ManualClock();
    const calls = new PendingCalls<number, string, undefined>(clock, {
      timeout: () => new TimeoutError('timeout'),
      aborted: () => new TimeoutError('aborted'),
    });
    let reads = 0;
    const from = {
      get signal() {
        reads++;
        return new AbortController().signal;
      },
    };
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < 50; i++) {
        const id = round * 50 + i;
        calls.add(
          id,
          undefined,
          1_000,
          from,
          () => {},
          () => {},
        );
        calls.resolve(id, 'done');
      }
      clock.advance(1);
    }
    clock.advance(1_000);
    expect(reads).toBe(0);
    expect(calls.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});
