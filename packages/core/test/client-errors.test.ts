import {
  type ConnectionLostError,
  createClient,
  createServer,
  FAILURE_KINDS,
  type FailureKind,
  isRpcError,
  NotSentError,
  RpcError,
  type RpcFailure,
  TimeoutError,
} from '@resilient-rpc/core';
import { ManualClock, MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';

/** The switch the docs show: one case per kind; `never` proves it covers every kind. */
function describeFailure(error: RpcFailure): string {
  switch (error.kind) {
    case 'not-sent':
      return 'not sent';
    case 'rejected':
      return `rejected, retry after ${error.retryAfterMs ?? 0} ms`;
    case 'timeout':
      expectTypeOf(error).toEqualTypeOf<TimeoutError>();
      return 'timed out';
    case 'connection-lost':
      expectTypeOf(error).toEqualTypeOf<ConnectionLostError>();
      return 'connection lost';
    case 'remote':
      return `remote ${error.code}`;
    case 'protocol':
      return 'protocol';
    case 'cancelled':
      return 'cancelled';
    default: {
      const unreachable: never = error;
      return unreachable;
    }
  }
}

describe('errors narrow by kind', () => {
  it('isRpcError(e, kind) narrows to the class of that kind, and rejects other values', () => {
    const error: unknown = new TimeoutError('deadline of 2000 ms exceeded');
    expect(isRpcError(error, 'timeout')).toBe(true);
    expect(isRpcError(error, 'remote')).toBe(false);
    expect(isRpcError(new Error('x'))).toBe(false);
    expect(isRpcError(undefined, 'timeout')).toBe(false);
    if (isRpcError(error, 'timeout')) expectTypeOf(error).toEqualTypeOf<TimeoutError>();
    if (isRpcError(error)) expectTypeOf(error).toEqualTypeOf<RpcFailure>();
  });

  it('switch (e.kind) covers every kind', () => {
    const kinds: FailureKind[] = [...FAILURE_KINDS];
    for (const kind of kinds) {
      const error = new RpcError(kind, 'x') as RpcFailure;
      expect(describeFailure(error)).toBeTypeOf('string');
    }
  });
});

describe('the error of a call that ran out of attempts', () => {
  it('is catchable as a timeout when its attempts timed out, exposes every attempt, and reads as a sentence', async () => {
    const clock = new ManualClock();
    const network = new MemoryNetwork(clock);
    const server = createServer({ clock, methods: { work: () => 'ok' } });
    const listeners = [
      await server.listen(network.listener('timeouts-a')),
      await server.listen(network.listener('timeouts-b')),
    ];
    for (const listener of listeners) listener.hang();
    const client = createClient({
      transports: [memoryTransport(network)],
      endpoints: listeners.map((listener) => listener.urls[0]!),
      clock,
      heartbeat: false,
      stallDetection: false,
      attemptTimeoutMs: 300,
      deadlineMs: 2_000,
    });
    let caught: unknown;
    client.call('work', [], { idempotent: true }).catch((error) => {
      caught = error;
    });
    await clock.advanceAsync(3_000, 10);
    expect(caught).toBeInstanceOf(TimeoutError);
    const error = caught as TimeoutError;
    expect(error.kind).toBe('timeout');
    expect(error.attempts).toHaveLength(3);
    expect(error.attempts.every((attempt) => attempt.kind === 'timeout')).toBe(true);
    expect(error.cause).toBe(error.attempts[2]);
    expect(error.message).toBe('the call failed after 3 attempts: attempt timeout of 300 ms exceeded');
    await client.close();
    await server.close();
  });

  it('says the deadline in whole milliseconds', async () => {
    const clock = new ManualClock();
    const network = new MemoryNetwork(clock);
    const server = createServer({ clock, methods: { work: () => 'ok' } });
    const listener = await server.listen(network.listener('whole-ms'));
    listener.hang();
    const client = createClient({
      transports: [memoryTransport(network)],
      endpoints: [listener.urls[0]!],
      clock,
      heartbeat: false,
    });
    let caught: unknown;
    client.call('work', [], { deadlineMs: 1_999.997 }).catch((error) => {
      caught = error;
    });
    await clock.advanceAsync(2_500, 10);
    expect((caught as Error).message).toBe('deadline of 2000 ms exceeded');
    expect(caught).toBeInstanceOf(TimeoutError);
    await client.close();
    await server.close();
  });

  it('keeps a local admission failure apart from a peer failure by a field, not a class name', () => {
    expect(new NotSentError('refused').local).toBe(false);
    expect(new RpcError('not-sent', 'full', { local: true }).local).toBe(true);
  });
});
