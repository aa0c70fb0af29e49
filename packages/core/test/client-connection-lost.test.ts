/**
 * A persistent connection that reports it is reconnecting or closed cannot bring back the replies
 * of the calls pending on it: they settle as `connection-lost` at once, even when the transport
 * itself forgets to fail them (the core enforces the transport contract).
 */
import {
  type ClientConnection,
  type ClientTransport,
  type ConnectionEvent,
  ConnectionLostError,
  createClient,
  type JsonRpcResponse,
  type RpcError,
} from '@resilient-rpc/core';
import { ManualClock } from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/**
 * A persistent-connection transport: `a` never answers (and never fails its pending calls when
 * it reports a status change — the bug the core covers); `b` answers every call with "b".
 */
function persistentTransport() {
  const connections = new Map<string, { emit: (event: ConnectionEvent) => void }>();
  const transport: ClientTransport = {
    name: 'persistent',
    schemes: ['persistent'],
    connect(url) {
      const listeners = new Set<(event: ConnectionEvent) => void>();
      const connection: ClientConnection = {
        url,
        status: 'open',
        capabilities: { batch: false, ping: false, persistentConnection: true },
        send: (request, options) =>
          url.endsWith('/a')
            ? new Promise<JsonRpcResponse>((_resolve, reject) =>
                options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }),
              )
            : Promise.resolve({ jsonrpc: '2.0', id: request.id as number, result: 'b' }),
        onEvent(listener) {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        close: async () => {},
      };
      connections.set(url, {
        emit: (event) => {
          for (const listener of listeners) listener(event);
        },
      });
      return connection;
    },
  };
  return { transport, connections };
}

async function setup() {
  const clock = new ManualClock(1_000);
  const { transport, connections } = persistentTransport();
  const client = createClient({
    transports: [transport],
    endpoints: ['persistent://x/a', 'persistent://x/b'],
    clock,
    heartbeat: false,
    balancer: 'round-robin',
  });
  cleanups.push(() => client.close());
  return { clock, client, connections };
}

/** Settles into `outcome` and records the client time it settled at. */
function watch(clock: ManualClock, pending: Promise<unknown>) {
  const state: { outcome?: unknown; settledAt?: number } = {};
  const done = (value: unknown) => {
    state.outcome = value;
    state.settledAt = clock.now();
  };
  pending.then(done, done);
  return state;
}

describe('calls pending on a persistent connection that reports its loss', () => {
  it('a call that is not idempotent fails connection-lost at once, with the reason the transport gave', async () => {
    const { clock, client, connections } = await setup();
    // round-robin: the first call goes to a, the one that never answers
    const call = watch(clock, client.call('m', [], { maxAttempts: 1 }));
    await clock.advanceAsync(50, 10);
    expect(call.outcome).toBeUndefined();
    const lostAt = clock.now();
    connections.get('persistent://x/a')!.emit({
      type: 'status',
      status: 'reconnecting',
      error: new ConnectionLostError('the socket closed'),
    });
    await clock.advanceAsync(1, 1);
    expect((call.outcome as RpcError).kind).toBe('connection-lost');
    expect((call.outcome as RpcError).message).toBe('the socket closed');
    expect(call.settledAt! - lostAt).toBeLessThanOrEqual(1);
  });

  it('an idempotent call gets its answer from the other endpoint at once', async () => {
    const { clock, client, connections } = await setup();
    const call = watch(clock, client.call('m', [], { idempotent: true }));
    await clock.advanceAsync(50, 10);
    connections.get('persistent://x/a')!.emit({ type: 'status', status: 'closed' });
    await clock.advanceAsync(1, 1);
    expect(call.outcome).toBe('b');
  });
});
