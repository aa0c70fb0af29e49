import { describe, expect, it } from 'vitest';
import { RpcError } from '../src/errors/rpc-error.js';
import { Reconnector } from '../src/recovery/reconnect.js';
import { flushMicrotasks, ManualClock } from '../src/testing/manual-clock.js';

/** A connect function that fails `failures` times, then succeeds; it records when it was called. */
function flaky(clock: ManualClock, failures: number) {
  const calls: number[] = [];
  let remaining = failures;
  const connect = async () => {
    calls.push(clock.now());
    if (remaining-- > 0) throw new Error('connection refused');
    return `connection ${calls.length}`;
  };
  return { calls, connect };
}

const noJitter = { baseMs: 100, capMs: 1_000, multiplier: 2, jitter: 'none' as const };

describe('Reconnector', () => {
  it('tries at once, then backs off exponentially between failed attempts', async () => {
    const clock = new ManualClock();
    const { calls, connect } = flaky(clock, 5);
    const reconnector = new Reconnector(connect, noJitter, clock);
    const result = reconnector.reconnect();
    await clock.advanceAsync(5_000, 10);
    await expect(result).resolves.toBe('connection 6');
    expect(calls).toEqual([0, 100, 300, 700, 1_500, 2_500]);
  });

  it('is single-flight: concurrent reconnects share one run', async () => {
    const clock = new ManualClock();
    const { calls, connect } = flaky(clock, 1);
    const reconnector = new Reconnector(connect, noJitter, clock);
    const first = reconnector.reconnect();
    const second = reconnector.reconnect();
    expect(second).toBe(first);
    expect(reconnector.reconnecting).toBe(true);
    await clock.advanceAsync(200, 10);
    await expect(first).resolves.toBe('connection 2');
    expect(calls).toHaveLength(2);
    expect(reconnector.reconnecting).toBe(false);
  });

  it('gives up after maxAttempts with a not-sent error carrying the last cause', async () => {
    const clock = new ManualClock();
    const { calls, connect } = flaky(clock, 100);
    const reconnector = new Reconnector(connect, { ...noJitter, maxAttempts: 3 }, clock);
    const result = reconnector.reconnect();
    const settled = result.catch((error: unknown) => error);
    await clock.advanceAsync(5_000, 10);
    const error = await settled;
    expect(RpcError.isInstance(error) && error.kind).toBe('not-sent');
    expect((error as Error).cause).toEqual(new Error('connection refused'));
    expect(calls).toHaveLength(3);
  });

  it('resets the backoff once a connection stays up for stableAfterMs', async () => {
    const clock = new ManualClock();
    const { connect } = flaky(clock, 2);
    const reconnector = new Reconnector(connect, { ...noJitter, stableAfterMs: 5_000 }, clock);
    const result = reconnector.reconnect();
    await clock.advanceAsync(1_000, 10);
    await result;
    expect(reconnector.attempts).toBe(3); // connected at 300 ms
    clock.advance(4_299);
    expect(reconnector.attempts).toBe(3);
    clock.advance(1);
    expect(reconnector.attempts).toBe(0);
  });

  it('keeps backing off for a connection that flaps before it is stable', async () => {
    const clock = new ManualClock();
    const { calls, connect } = flaky(clock, 0);
    const reconnector = new Reconnector(connect, noJitter, clock);
    const starts: number[] = [];
    for (let round = 0; round < 3; round++) {
      starts.push(clock.now());
      const result = reconnector.reconnect();
      await clock.advanceAsync(1_000, 10);
      await result;
      clock.advance(50);
      reconnector.disconnected();
    }
    // immediate, then 100 ms and 200 ms before the next runs' attempts.
    expect(calls.map((at, index) => at - (starts[index] ?? 0))).toEqual([0, 100, 200]);
  });

  it('stop() rejects the running reconnect, discards a late connection and refuses new ones', async () => {
    const clock = new ManualClock();
    let resolveConnect: ((value: string) => void) | undefined;
    let signal: AbortSignal | undefined;
    const discarded: string[] = [];
    const reconnector = new Reconnector<string>(
      (abort) => {
        signal = abort;
        return new Promise((resolve) => {
          resolveConnect = resolve;
        });
      },
      { discard: (connection) => discarded.push(connection) },
      clock,
    );
    const result = reconnector.reconnect();
    const settled = result.catch((error: unknown) => error);
    reconnector.stop();
    const error = await settled;
    expect(RpcError.isInstance(error) && error.kind).toBe('cancelled');
    expect(signal?.aborted).toBe(true);
    resolveConnect?.('late');
    await flushMicrotasks();
    expect(discarded).toEqual(['late']);
    await expect(reconnector.reconnect()).rejects.toMatchObject({ kind: 'cancelled' });
  });

  it('stop() during a backoff wait ends the run without another attempt', async () => {
    const clock = new ManualClock();
    const { calls, connect } = flaky(clock, 100);
    const reconnector = new Reconnector(connect, noJitter, clock);
    const settled = reconnector.reconnect().catch((error: unknown) => error);
    await clock.advanceAsync(50, 10);
    reconnector.stop();
    await expect(settled).resolves.toMatchObject({ kind: 'cancelled' });
    await clock.advanceAsync(5_000, 100);
    expect(calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });
});
