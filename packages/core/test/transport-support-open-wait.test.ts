import { NotSentError, type RpcError } from '@resilient-rpc/core';
import { ManualClock } from '@resilient-rpc/core/testing';
import { OpenWait, type OpenWaitErrors, ReplyTokens, SharedPool } from '@resilient-rpc/core/transport';
import { describe, expect, it } from 'vitest';

const errors: OpenWaitErrors = {
  aborted: () => new NotSentError('aborted'),
  notOpenInTime: (waitMs) => new NotSentError(`not open within ${waitMs} ms`),
  failed: (error: RpcError) => new NotSentError(`failed: ${error.message}`),
};

describe('OpenWait', () => {
  it('goes on when woken, with what is left of the call time', async () => {
    const clock = new ManualClock();
    const open = new OpenWait(clock);
    const waiting = open.wait({ signal: new AbortController().signal, timeoutMs: 1_000 }, 2_000, errors);
    clock.advance(300);
    open.wake();
    await expect(waiting).resolves.toMatchObject({ timeoutMs: 700 });
  });

  it('fails after min(timeoutMs, maxWaitMs), at once on abort, and with the reason of a failure', async () => {
    const clock = new ManualClock();
    const open = new OpenWait(clock);
    const signal = new AbortController().signal;
    const timedOut = open.wait({ signal, timeoutMs: 5_000 }, 200, errors);
    clock.advance(200);
    await expect(timedOut).rejects.toThrow('not open within 200 ms');
    const controller = new AbortController();
    const aborted = open.wait({ signal: controller.signal, timeoutMs: 5_000 }, 2_000, errors);
    controller.abort();
    await expect(aborted).rejects.toThrow('aborted');
    const failed = open.wait({ signal, timeoutMs: 5_000 }, 2_000, errors);
    open.wake(new NotSentError('connection refused'));
    await expect(failed).rejects.toThrow('failed: connection refused');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('SharedPool', () => {
  it('opens a key once, closes it at the last release, and closes everything at closeAll', async () => {
    const closed: string[] = [];
    const pool = new SharedPool<{ name: string; close(): Promise<void> }>();
    let opened = 0;
    const open = (name: string) => () => {
      opened++;
      return { name, close: async () => void closed.push(name) };
    };
    const a1 = pool.acquire('a', open('a'));
    const a2 = pool.acquire('a', open('a'));
    expect(a1.value).toBe(a2.value);
    expect(opened).toBe(1);
    await a1.release();
    expect(closed).toEqual([]);
    await a2.release();
    expect(closed).toEqual(['a']);
    const b = pool.acquire('b', open('b'));
    await pool.closeAll();
    expect(closed).toEqual(['a', 'b']);
    await b.release(); // after closeAll: nothing more to close
    expect(closed).toEqual(['a', 'b']);
  });
});

describe('ReplyTokens', () => {
  it('reuses answered tokens last-in first-out, bounded; listener tokens take every message until stopped', () => {
    const tokens = new ReplyTokens<string>(1);
    const a = tokens.fresh();
    const b = tokens.fresh();
    expect(a).not.toBe(b);
    expect(tokens.reuse()).toBeUndefined();
    tokens.release(a);
    tokens.release(b); // over maxFree: not kept
    expect(tokens.reuse()).toBe(a);
    expect(tokens.reuse()).toBeUndefined();
    const seen: string[] = [];
    const listener = tokens.listen((message) => seen.push(message));
    expect(listener.token.startsWith('_')).toBe(true);
    tokens.deliver(listener.token, 'one');
    tokens.deliver(listener.token, 'two');
    tokens.deliver('unknown', 'dropped');
    listener.stop();
    tokens.deliver(listener.token, 'after stop');
    expect(seen).toEqual(['one', 'two']);
  });
});
