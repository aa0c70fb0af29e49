/**
 * The overtaken rule (a request lost on an endpoint that answers everything else), calls waiting
 * on a removed endpoint, and local `protocol` failures (the caller's fault) that must not count
 * against the endpoint. Memory transport and a manual clock throughout.
 */
import {
  type ClientEvents,
  type ClientTransport,
  createClient,
  createServer,
  type JsonRpcParams,
  type JsonRpcRequest,
  ProtocolError,
  type RpcClient,
  type RpcError,
  type RpcServer,
} from '@resilient-rpc/core';
import {
  ManualClock,
  type MemoryListener,
  MemoryNetwork,
  memoryTransport,
} from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/**
 * The memory transport, except that requests `drop` picks are lost on the way: never delivered,
 * never answered (only the attempt's own signal ends them), like a request inside a broker node
 * that died. Everything else goes through.
 */
function droppingTransport(
  network: MemoryNetwork,
  drop: (request: JsonRpcRequest, url: string) => boolean,
): ClientTransport {
  const inner = memoryTransport(network);
  return {
    ...inner,
    connect(url, options) {
      const connection = inner.connect(url, options);
      const send = connection.send.bind(connection);
      connection.send = (request, sendOptions) => {
        if (!drop(request, url)) return send(request, sendOptions);
        return new Promise((_resolve, reject) => {
          const signal = sendOptions.signal;
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      };
      return connection;
    },
  };
}

interface Setup {
  clock: ManualClock;
  client: RpcClient;
  runs: number[];
  listeners: MemoryListener[];
  states: ClientEvents['endpoint-state'][];
  hedges: ClientEvents['hedge'][];
  attempts: ClientEvents['attempt'][];
}

/**
 * Two replicas (round-robin, heartbeats off): `echo` answers its first param after 5 ms, `sleep`
 * after params[0] ms; `runs` counts executions per replica.
 */
async function twoReplicas(
  transport: (network: MemoryNetwork) => ClientTransport = memoryTransport,
  extra: Partial<Parameters<typeof createClient>[0]> = {},
): Promise<Setup> {
  const clock = new ManualClock(1_000);
  const network = new MemoryNetwork(clock);
  const runs = [0, 0];
  const servers: RpcServer[] = [];
  const listeners: MemoryListener[] = [];
  for (const index of [0, 1]) {
    const delayed = (value: unknown, ms: number) =>
      new Promise((resolve) => {
        runs[index]!++;
        clock.setTimeout(() => resolve(value), ms);
      });
    const server = createServer({
      clock,
      methods: {
        echo: (params: unknown) => delayed((params as unknown[])[0], 5),
        sleep: (params: unknown) => delayed('slept', (params as number[])[0]!),
      },
    });
    servers.push(server);
    listeners.push(await server.listen(network.listener(`overtaken-${index}-${Math.random()}`)));
  }
  const client = createClient({
    transports: [transport(network)],
    endpoints: listeners.map((listener) => listener.urls[0]!),
    clock,
    heartbeat: false,
    balancer: 'round-robin',
    ...extra,
  });
  const states: ClientEvents['endpoint-state'][] = [];
  const hedges: ClientEvents['hedge'][] = [];
  const attempts: ClientEvents['attempt'][] = [];
  client.on('endpoint-state', (event) => states.push(event));
  client.on('hedge', (event) => hedges.push(event));
  client.on('attempt', (event) => attempts.push(event));
  cleanups.push(async () => {
    await client.close();
    for (const server of servers) await server.close();
  });
  return { clock, client, runs, listeners, states, hedges, attempts };
}

/** Settles into `outcome` (value or error) and records the client time it settled at. */
function watch(clock: ManualClock, pending: Promise<unknown>) {
  const state: { outcome?: unknown; settledAt?: number } = {};
  pending.then(
    (value) => {
      state.outcome = value;
      state.settledAt = clock.now();
    },
    (error) => {
      state.outcome = error;
      state.settledAt = clock.now();
    },
  );
  return state;
}

/** The error `pending` rejects with (fails the test if it resolves). */
async function failureOf(pending: Promise<unknown>): Promise<RpcError> {
  return pending.then(
    (value) => {
      throw new Error(`expected a failure, got ${JSON.stringify(value)}`);
    },
    (error: RpcError) => error,
  );
}

/** Starts `count` idempotent `method` calls, one every `everyMs`; resolves when all have settled. */
async function steadyCalls(
  setup: Setup,
  method: string,
  params: unknown[],
  count: number,
  everyMs: number,
): Promise<void> {
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    calls.push(setup.client.call(method, params, { idempotent: true }));
    await setup.clock.advanceAsync(everyMs, 1);
  }
  await Promise.all(calls);
}

describe('the overtaken rule: a request lost on an endpoint that answers the calls after it', () => {
  it('rescues the lost idempotent call elsewhere within the floor + one sweep, without marking the endpoint', async () => {
    let dropped = 0;
    const setup = await twoReplicas((network) =>
      droppingTransport(network, (request) => {
        if ((request.params as unknown[] | undefined)?.[0] !== 'lost' || dropped > 0) return false;
        dropped++;
        return true;
      }),
    );
    const { clock, client, states, hedges, attempts } = setup;
    await steadyCalls(setup, 'echo', ['warm'], 10, 10);
    const sentAt = clock.now();
    const lost = watch(clock, client.call('echo', ['lost'], { idempotent: true }));
    const lostOn = attempts.at(-1)!.endpoint;
    // Later echo calls keep being answered by both replicas, the lost one's included.
    await steadyCalls(setup, 'echo', ['later'], 40, 10);
    expect(dropped).toBe(1);
    expect(lost.outcome).toBe('lost');
    // floor 250 ms + one sweep interval 100 ms + the copy's 5 ms answer, + 20 ms of step margin
    expect(lost.settledAt! - sentAt).toBeLessThanOrEqual(250 + 100 + 5 + 20);
    expect(hedges).toHaveLength(1);
    expect(hedges[0]!.endpoint).not.toBe(lostOn);
    expect(states).toEqual([]); // nobody was marked suspect, down or ejected
  });

  it('never copies a lone slow call (nothing overtook it)', async () => {
    const { clock, client, runs, states, hedges } = await twoReplicas();
    const pending = watch(clock, client.call('sleep', [1_200], { idempotent: true }));
    await clock.advanceAsync(1_500, 10);
    expect(pending.outcome).toBe('slept');
    expect(hedges).toEqual([]);
    expect(states).toEqual([]);
    expect(runs[0]! + runs[1]!).toBe(1);
  });

  it('never copies a call of a slow method when only calls of faster methods overtake it', async () => {
    const setup = await twoReplicas();
    const { clock, client, runs, states, hedges } = setup;
    const pending = watch(clock, client.call('sleep', [1_200], { idempotent: true }));
    // 60 echo calls over 1.2 s, half of them on the sleeping call's endpoint, all answered before it.
    await steadyCalls(setup, 'echo', ['fast'], 60, 20);
    await clock.advanceAsync(300, 10);
    expect(pending.outcome).toBe('slept');
    expect(hedges).toEqual([]);
    expect(states).toEqual([]);
    expect(runs[0]! + runs[1]!).toBe(1 + 60);
  });

  it('never copies a call younger than its multiple of the method latency, overtaken or not', async () => {
    // sleep usually takes 200 ms here: 4 × 200 = 800 ms is the bar, well above the 250 ms floor.
    const setup = await twoReplicas();
    const { clock, client, hedges } = setup;
    const warm: Promise<unknown>[] = [];
    for (let i = 0; i < 6; i++) warm.push(client.call('sleep', [200], { idempotent: true }));
    await clock.advanceAsync(250, 10);
    await Promise.all(warm);
    // A 700 ms sleep, then 200 ms ones on both replicas that answer before it: overtaken, but
    // younger than 800 ms when they do, and it answers at 700 ms.
    const slow = watch(clock, client.call('sleep', [700], { idempotent: true }));
    await clock.advanceAsync(10, 10);
    const overtaking: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) overtaking.push(client.call('sleep', [200], { idempotent: true }));
    await clock.advanceAsync(800, 10);
    await Promise.all(overtaking);
    expect(slow.outcome).toBe('slept');
    expect(hedges).toEqual([]);
  });

  // A broker node dies with requests inside it: the instance reconnects and answers everything
  // sent after, but the balancer, seeing the lost calls in flight there, sends it nothing new, so no
  // call of the method overtakes them. A probe sent after them and answered is the evidence then.
  for (const [evidence, extra] of [
    ['the stall probe', {}],
    [
      'a heartbeat (its answers keep the endpoint from ever looking silent)',
      { heartbeat: { intervalMs: 100 } },
    ],
  ] as const) {
    it(`rescues a lost call on an endpoint sent nothing after it, once ${evidence} sent after it is answered`, async () => {
      let dropped = 0;
      const setup = await twoReplicas(
        (network) =>
          droppingTransport(network, (request) => {
            if ((request.params as unknown[] | undefined)?.[0] !== 'lost' || dropped > 0) return false;
            dropped++;
            return true;
          }),
        extra,
      );
      const { clock, client, states, hedges, attempts } = setup;
      await steadyCalls(setup, 'echo', ['warm'], 10, 10);
      const sentAt = clock.now();
      const lost = watch(clock, client.call('echo', ['lost'], { idempotent: true }));
      const lostOn = attempts.at(-1)!.endpoint;
      // nothing else is called: only probes reach the endpoint
      await clock.advanceAsync(1_000, 10);
      expect(dropped).toBe(1);
      expect(lost.outcome).toBe('lost');
      // floor 250 ms + two sweep intervals (the one that probes or sees the heartbeat's answer, and
      // the one after) + the copy's 5 ms answer, + 20 ms of step margin
      expect(lost.settledAt! - sentAt).toBeLessThanOrEqual(250 + 2 * 100 + 5 + 20);
      expect(hedges).toHaveLength(1);
      expect(hedges[0]!.endpoint).not.toBe(lostOn);
      expect(states).toEqual([]);
    });
  }

  it('still never copies a lone slow call of a method with no record here, probes answered or not', async () => {
    const { clock, client, runs, hedges } = await twoReplicas(memoryTransport, {
      heartbeat: { intervalMs: 100 },
    });
    const pending = watch(clock, client.call('sleep', [1_200], { idempotent: true }));
    await clock.advanceAsync(1_500, 10);
    expect(pending.outcome).toBe('slept');
    expect(hedges).toEqual([]);
    expect(runs[0]! + runs[1]!).toBe(1);
  });

  it('does not copy a lost call that is not idempotent (it may yet run)', async () => {
    let dropped = 0;
    const setup = await twoReplicas((network) =>
      droppingTransport(network, (request) => {
        if ((request.params as unknown[] | undefined)?.[0] !== 'lost' || dropped > 0) return false;
        dropped++;
        return true;
      }),
    );
    const { clock, client, hedges } = setup;
    await steadyCalls(setup, 'echo', ['warm'], 10, 10);
    const lost = watch(clock, client.call('echo', ['lost'], { deadlineMs: 1_000 }));
    await steadyCalls(setup, 'echo', ['later'], 40, 10);
    await clock.advanceAsync(700, 50);
    expect(hedges).toEqual([]);
    expect((lost.outcome as { kind?: string }).kind).toBe('timeout');
  });
});

describe('calls waiting on a removed endpoint', () => {
  it('an idempotent call is rescued at once when its endpoint is removed', async () => {
    const { clock, client, listeners, hedges, attempts } = await twoReplicas();
    listeners[0]!.hang();
    listeners[1]!.hang();
    const pending = watch(clock, client.call('echo', ['x'], { idempotent: true }));
    const waitingOn = attempts.at(-1)!.endpoint;
    await clock.advanceAsync(20, 1);
    for (const listener of listeners) listener.resume();
    client.removeEndpoint(waitingOn);
    const removedAt = clock.now();
    await clock.advanceAsync(20, 1);
    expect(pending.outcome).toBe('x');
    expect(pending.settledAt! - removedAt).toBeLessThanOrEqual(5 + 1); // the copy's 5 ms answer
    expect(hedges.map((hedge) => hedge.endpoint)).toEqual(client.endpoints);
  });

  it('a call that is not idempotent, waiting on a removed endpoint that hangs, is still watched: the endpoint is suspected', async () => {
    const setup = await twoReplicas();
    const { clock, client, listeners, states } = setup;
    await steadyCalls(setup, 'echo', ['warm'], 4, 10);
    // A non-idempotent call on a replica that hangs, then the replica is removed: still watched.
    listeners[0]!.hang();
    listeners[1]!.hang();
    const stuck = watch(clock, client.call('echo', ['stuck'], { deadlineMs: 3_000 }));
    const stuckOn = setup.attempts.at(-1)!.endpoint;
    client.removeEndpoint(stuckOn);
    await clock.advanceAsync(1_000, 10);
    const suspected = states.find((event) => event.endpoint === stuckOn && event.to === 'suspect');
    expect(suspected, JSON.stringify(states)).toBeDefined();
    for (const listener of listeners) listener.resume();
    await clock.advanceAsync(2_100, 50);
    expect(stuck.outcome).toBeDefined();
  });
});

describe('a local protocol failure (the caller gave params that cannot be sent) does not count against the endpoint', () => {
  it('30 sends rejected with a local protocol error: breaker closed, endpoint healthy, not ejected', async () => {
    const clock = new ManualClock(1_000);
    const rejecting: ClientTransport = {
      name: 'rejecting',
      schemes: ['rejecting'],
      connect: (url) => ({
        url,
        status: 'open',
        capabilities: { batch: false, ping: false, persistentConnection: false },
        send: () =>
          Promise.reject(
            new ProtocolError('the request cannot be serialised as JSON', { endpoint: url, local: true }),
          ),
        onEvent: () => () => {},
        close: async () => {},
      }),
    };
    const client = createClient({
      transports: [rejecting],
      endpoints: ['rejecting://a', 'rejecting://b'],
      clock,
      heartbeat: false,
    });
    cleanups.push(() => client.close());
    const events: string[] = [];
    client.on('endpoint-state', (event) => events.push(`${event.endpoint} ${event.to}`));
    client.on('breaker-state', (event) => events.push(`${event.endpoint} breaker ${event.to}`));
    for (let i = 0; i < 30; i++) {
      const error = await failureOf(client.call('m', [i], { idempotent: true }));
      expect(error.kind).toBe('protocol');
      expect(error.attempts).toEqual([]); // not retried: no endpoint can send it either
    }
    expect(events).toEqual([]);
    for (const endpoint of client.stats().endpoints) {
      expect(endpoint.state).toBe('healthy');
      expect(endpoint.breaker).toBe('closed');
    }
  });

  it('params JSON cannot express (BigInt), rejected by a transport that does not flag them local, count neither', async () => {
    const setup = await twoReplicas();
    const { client, states } = setup;
    const breakers: string[] = [];
    client.on('breaker-state', (event) => breakers.push(`${event.endpoint} ${event.to}`));
    for (let i = 0; i < 30; i++) {
      // A BigInt is not JSON: the type says so too, so the test gets past it on purpose.
      const params = [10n] as unknown as JsonRpcParams;
      const error = await failureOf(client.call('echo', params, { idempotent: true }));
      expect(error.kind).toBe('protocol');
    }
    expect(states).toEqual([]);
    expect(breakers).toEqual([]);
    // and the endpoints still serve
    await steadyCalls(setup, 'echo', ['fine'], 4, 10);
  });

  it('a malformed answer (the peer’s fault) still counts: the breaker opens', async () => {
    const clock = new ManualClock(1_000);
    const garbled: ClientTransport = {
      name: 'garbled',
      schemes: ['garbled'],
      connect: (url) => ({
        url,
        status: 'open',
        capabilities: { batch: false, ping: false, persistentConnection: false },
        send: () => Promise.reject(new ProtocolError('response is not valid JSON', { endpoint: url })),
        onEvent: () => () => {},
        close: async () => {},
      }),
    };
    const client = createClient({
      transports: [garbled],
      endpoints: ['garbled://a'],
      clock,
      heartbeat: false,
      outlierDetection: false,
    });
    cleanups.push(() => client.close());
    for (let i = 0; i < 30; i++) await client.call('m', [i], { maxAttempts: 1 }).catch(() => {});
    expect(client.stats().endpoints[0]!.breaker).toBe('open');
  });
});
