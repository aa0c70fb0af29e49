import {
  type ClientEvents,
  type ClientOptions,
  ConnectionLostError,
  createClient,
  createServer,
  type RpcClient,
  RpcError,
  type RpcServer,
  seededRandom,
} from '@resilient-rpc/core';
import {
  type FaultPlan,
  faultyTransport,
  ManualClock,
  type MemoryListener,
  MemoryNetwork,
  memoryTransport,
} from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

interface Cluster {
  clock: ManualClock;
  network: MemoryNetwork;
  listeners: MemoryListener[];
  servers: RpcServer[];
  executions: number[];
  urls: string[];
  client: RpcClient;
  events: { [K in keyof ClientEvents]?: ClientEvents[K][] };
  transport: ReturnType<typeof faultyTransport>;
}

const open: Cluster[] = [];
afterEach(async () => {
  for (const cluster of open.splice(0)) {
    await cluster.client.close();
    for (const server of cluster.servers) await server.close();
  }
});

let clusterCount = 0;
async function cluster(
  size: number,
  options: Partial<ClientOptions> = {},
  plans: Array<FaultPlan | undefined> = [],
): Promise<Cluster> {
  const clock = new ManualClock(1_000);
  const network = new MemoryNetwork(clock);
  const executions = Array.from({ length: size }, () => 0);
  const listeners: MemoryListener[] = [];
  const servers: RpcServer[] = [];
  const id = ++clusterCount;
  for (let index = 0; index < size; index++) {
    const server = createServer({
      clock,
      methods: {
        work: (params: unknown) => {
          executions[index]!++;
          return { replica: index, params };
        },
      },
    });
    servers.push(server);
    listeners.push(await server.listen(network.listener(`c${id}-r${index}`)));
  }
  const urls = listeners.map((listener) => listener.urls[0]!);
  const transport = faultyTransport(
    memoryTransport(network),
    (url) => plans[urls.indexOf(url)] ?? {},
    clock,
    seededRandom(7),
  );
  const client = createClient({
    transports: [transport],
    endpoints: urls,
    clock,
    random: seededRandom(42),
    heartbeat: false,
    ...options,
  });
  const events: Cluster['events'] = {};
  for (const name of [
    'attempt',
    'retry',
    'failover',
    'hedge',
    'give-up',
    'budget-exhausted',
    'endpoint-state',
    'attempt-result',
    'call',
  ] as const) {
    client.on(name, (event) => {
      ((events[name] ??= []) as unknown[]).push(event);
    });
  }
  const result = { clock, network, listeners, servers, executions, urls, client, events, transport };
  open.push(result);
  return result;
}

async function settle<T>(
  clock: ManualClock,
  promise: Promise<T>,
  ms = 30_000,
): Promise<PromiseSettledResult<T>> {
  let outcome: PromiseSettledResult<T> | undefined;
  promise.then(
    (value) => (outcome = { status: 'fulfilled', value }),
    (reason) => (outcome = { status: 'rejected', reason }),
  );
  for (let waited = 0; outcome === undefined && waited < ms; waited += 10) await clock.advanceAsync(10, 10);
  if (outcome === undefined) throw new Error(`the call did not settle within ${ms} ms of clock time`);
  return outcome;
}

describe('retries and failover', () => {
  it('fails over to another endpoint when the first refuses the connection, even for a non-idempotent call', async () => {
    const { client, listeners, events, urls } = await cluster(2, { balancer: 'round-robin' });
    listeners[0]!.crash();
    const results = await Promise.all([client.call('work', [1]), client.call('work', [2])]);
    expect(results.map((result) => (result as { replica: number }).replica)).toEqual([1, 1]);
    expect(events.failover?.some((event) => event.from === urls[0] && event.to === urls[1])).toBe(true);
  });

  it('does not retry a non-idempotent call after a timeout, and retries an idempotent one elsewhere', async () => {
    const { client, clock, executions } = await cluster(2, { balancer: 'round-robin' }, [
      { script: [{ type: 'hang' }, { type: 'hang' }] },
      { script: [{ type: 'hang' }] },
    ]);
    const first = await settle(clock, client.call('work', [1], { attemptTimeoutMs: 200 }));
    expect(first.status).toBe('rejected');
    const error = (first as PromiseRejectedResult).reason as RpcError;
    expect(error.kind).toBe('timeout');
    expect(executions.reduce((a, b) => a + b)).toBe(1);

    const second = await settle(clock, client.call('work', [2], { attemptTimeoutMs: 200, idempotent: true }));
    expect(second.status).toBe('fulfilled');
  });

  it('never retries on an endpoint the call already failed on while another is available', async () => {
    const plans: FaultPlan[] = [
      { rates: { error: 1 }, errorKind: 'connection-lost' },
      { rates: { error: 1 }, errorKind: 'connection-lost' },
      {},
    ];
    const { client, clock, events } = await cluster(
      3,
      { outlierDetection: false, circuitBreaker: false, retryBudget: false },
      plans,
    );
    for (let index = 0; index < 60; index++) {
      const outcome = await settle(clock, client.call('work', [index], { idempotent: true }));
      expect(outcome.status).toBe('fulfilled');
    }
    const byCall = new Map<number, string[]>();
    for (const attempt of events.attempt ?? [])
      byCall.set(attempt.callId, [...(byCall.get(attempt.callId) ?? []), attempt.endpoint]);
    for (const endpoints of byCall.values()) expect(new Set(endpoints).size).toBe(endpoints.length);
  });

  it('gives up with every attempt error when all attempts fail', async () => {
    const plans: FaultPlan[] = [0, 1, 2].map(() => ({
      rates: { error: 1 },
      errorKind: 'connection-lost' as const,
    }));
    const { client, clock } = await cluster(3, { outlierDetection: false, circuitBreaker: false }, plans);
    const outcome = await settle(clock, client.call('work', [], { idempotent: true }));
    const error = (outcome as PromiseRejectedResult).reason;
    // Issue 15: the error is of the last attempt's kind and class, and carries every attempt.
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as RpcError).attempts).toHaveLength(3);
    expect((error as RpcError).kind).toBe('connection-lost');
    expect((error as RpcError).message).toMatch(/^the call failed after 3 attempts: /);
  });

  it('never retries a cancelled call', async () => {
    const { client, clock, listeners, events } = await cluster(2);
    for (const listener of listeners) listener.hang();
    const controller = new AbortController();
    const pending = settle(clock, client.call('work', [], { idempotent: true, signal: controller.signal }));
    await clock.advanceAsync(50);
    controller.abort();
    const outcome = await pending;
    expect(((outcome as PromiseRejectedResult).reason as RpcError).kind).toBe('cancelled');
    expect(events.attempt).toHaveLength(1);
    expect(events.retry ?? []).toHaveLength(0);
  });

  it('does not send an attempt whose deadline is already spent', async () => {
    // Stall detection off: its corroborating probe (issue 15) would be one more send on this transport.
    const { client, clock, transport, urls } = await cluster(1, { stallDetection: false }, [
      { script: [{ type: 'delay', ms: 5_000 }] },
    ]);
    const outcome = await settle(clock, client.call('work', [], { deadlineMs: 1_000, idempotent: true }));
    expect(((outcome as PromiseRejectedResult).reason as RpcError).kind).toBe('timeout');
    expect(transport.injectors.get(urls[0]!)!.counts.sends).toBe(1);
  });
});

describe('retry budget', () => {
  it('keeps retries within ratio × calls + floor when every endpoint fails', async () => {
    const plans: FaultPlan[] = [0, 1, 2].map(() => ({
      rates: { error: 1 },
      errorKind: 'connection-lost' as const,
    }));
    const { client, clock, transport } = await cluster(
      3,
      {
        retryBudget: { ratio: 0.2, minRetriesPerSecond: 10, windowMs: 10_000 },
        outlierDetection: false,
        circuitBreaker: false,
      },
      plans,
    );
    const calls = 2_000;
    const results = await Promise.allSettled(
      Array.from({ length: calls }, (_, index) => client.call('work', [index], { idempotent: true })),
    );
    await clock.advanceAsync(2_000, 50);
    expect(results.every((result) => result.status === 'rejected')).toBe(true);
    const sends = [...transport.injectors.values()].reduce((sum, injector) => sum + injector.counts.sends, 0);
    const retries = sends - calls;
    // Without a budget, 3 attempts each would mean 4 000 retries.
    expect(retries).toBeLessThanOrEqual(0.2 * calls + 10 * 10 + 1);
    expect(client.stats().budgetExhausted).toBeGreaterThan(0);
  });
});

describe('hedging', () => {
  it('sends a hedge to another endpoint after the delay and aborts the loser', async () => {
    const { client, clock, events, urls } = await cluster(
      2,
      { balancer: 'round-robin', hedging: { delayMs: 50 } },
      [{ script: [{ type: 'delay', ms: 2_000 }] }, {}],
    );
    const outcome = await settle(clock, client.call('work', ['h'], { idempotent: true, hedge: true }));
    expect(outcome.status).toBe('fulfilled');
    expect((outcome as PromiseFulfilledResult<{ replica: number }>).value.replica).toBe(1);
    expect(events.hedge).toHaveLength(1);
    const loser = events['attempt-result']?.find((event) => event.endpoint === urls[0]);
    expect(loser?.outcome).toBe('cancelled');
    expect(client.stats().hedges).toBe(1);
  });

  it('does not hedge a call that is not idempotent', async () => {
    const { client, clock, events } = await cluster(
      2,
      { balancer: 'round-robin', hedging: { delayMs: 50 } },
      [{ script: [{ type: 'delay', ms: 500 }] }],
    );
    await settle(clock, client.call('work', [], { hedge: true }));
    expect(events.hedge ?? []).toHaveLength(0);
  });
});

describe('detection', () => {
  it('suspects a hung endpoint from its stalled calls within 1.5 s and routes new calls elsewhere', async () => {
    const { client, clock, listeners, events, urls } = await cluster(2, { balancer: 'round-robin' });
    for (let index = 0; index < 20; index++) await client.call('work', [index], { idempotent: true });
    const hungAt = clock.now();
    listeners[0]!.hang();
    const pending: Promise<unknown>[] = [];
    for (let step = 0; step < 150; step++) {
      pending.push(client.call('work', [step], { idempotent: true }).catch((error) => error));
      await clock.advanceAsync(10, 10);
    }
    const suspected = events['endpoint-state']?.find(
      (event) => event.endpoint === urls[0] && event.to === 'suspect',
    );
    expect(suspected).toBeDefined();
    expect(suspected!.at - hungAt).toBeLessThanOrEqual(1_500);
    const lateAttempts = (events.attempt ?? []).filter((event) => event.at > suspected!.at + 1);
    expect(lateAttempts.length).toBeGreaterThan(0);
    expect(lateAttempts.every((event) => event.endpoint === urls[1])).toBe(true);
    listeners[0]!.resume();
    await clock.advanceAsync(12_000, 100);
    await Promise.all(pending);
  });

  it('does not suspect a healthy endpoint that is briefly slow', async () => {
    const { client, clock, listeners, events } = await cluster(1);
    listeners[0]!.latencyMs = 100;
    for (let index = 0; index < 20; index++) await settle(clock, client.call('work', [index]));
    listeners[0]!.latencyMs = 350;
    await settle(clock, client.call('work', ['slow']));
    listeners[0]!.latencyMs = 100;
    await settle(clock, client.call('work', ['again']));
    expect((events['endpoint-state'] ?? []).filter((event) => event.to === 'suspect')).toHaveLength(0);
  });

  it('marks an endpoint down when its heartbeats go unanswered, and not when the client itself stalls', async () => {
    const { client, clock, listeners, events, urls } = await cluster(2, {
      heartbeat: { intervalMs: 1_000, timeoutMs: 500, maxMissed: 3 },
    });
    await clock.advanceAsync(5_000, 50);
    clock.jump(8_000); // a long synchronous task on the client
    await clock.advanceAsync(3_000, 50);
    expect((events['endpoint-state'] ?? []).filter((event) => event.to === 'down')).toHaveLength(0);

    listeners[1]!.hang();
    const silentAt = clock.now();
    await clock.advanceAsync(6_000, 50);
    const down = events['endpoint-state']?.find((event) => event.endpoint === urls[1] && event.to === 'down');
    expect(down).toBeDefined();
    expect(down!.at - silentAt).toBeLessThanOrEqual(5_000);
    expect(client.stats().endpoints.find((endpoint) => endpoint.url === urls[0])!.state).toBe('healthy');
  });

  it('ejects an endpoint after consecutive failures and keeps calls succeeding elsewhere', async () => {
    const { client, clock, events, urls } = await cluster(
      3,
      { balancer: 'round-robin', circuitBreaker: false },
      [{ rates: { error: 1 }, errorKind: 'connection-lost' }],
    );
    for (let index = 0; index < 40; index++) {
      const outcome = await settle(clock, client.call('work', [index], { idempotent: true }));
      expect(outcome.status).toBe('fulfilled');
    }
    expect(
      events['endpoint-state']?.some((event) => event.endpoint === urls[0] && event.to === 'ejected'),
    ).toBe(true);
  });

  it('opens the breaker of an endpoint that keeps failing', async () => {
    const { client, clock, urls } = await cluster(
      2,
      { outlierDetection: false, circuitBreaker: { consecutiveFailures: 3 } },
      [{ rates: { error: 1 }, errorKind: 'timeout' }],
    );
    for (let index = 0; index < 10; index++)
      await settle(clock, client.call('work', [index], { idempotent: true }));
    expect(client.stats().endpoints.find((endpoint) => endpoint.url === urls[0])!.breaker).toBe('open');
  });

  it('still attempts a call when every endpoint is down (panic mode)', async () => {
    const { client, clock, listeners, events } = await cluster(2);
    for (const listener of listeners) listener.crash();
    await settle(clock, client.call('work', []));
    listeners[0]!.restart();
    await clock.advanceAsync(10_000, 100);
    const outcome = await settle(clock, client.call('work', []));
    expect(outcome.status).toBe('fulfilled');
    expect((events.attempt ?? []).length).toBeGreaterThanOrEqual(3);
  });
});

describe('admission and endpoints', () => {
  it('fails fast with an overloaded error beyond the client bulkhead', async () => {
    const { client, clock, listeners } = await cluster(1, { bulkhead: { maxInFlight: 2 } });
    listeners[0]!.hang();
    const held = [
      client.call('work', [], { deadlineMs: 1_000 }),
      client.call('work', [], { deadlineMs: 1_000 }),
    ];
    const third = await settle(clock, client.call('work', []), 10);
    expect(((third as PromiseRejectedResult).reason as RpcError).kind).toBe('not-sent');
    expect(((third as PromiseRejectedResult).reason as Error).name).toBe('OverloadedError');
    await clock.advanceAsync(1_100, 50);
    await Promise.allSettled(held);
  });

  it('lets a removed endpoint finish its in-flight calls and sends it nothing new', async () => {
    const { client, clock, urls, events } = await cluster(2, { balancer: 'round-robin' }, [
      { script: [{ type: 'delay', ms: 300 }] },
    ]);
    const inFlight = client.call('work', ['first']);
    client.removeEndpoint(urls[0]!);
    const outcome = await settle(clock, inFlight);
    expect(outcome.status).toBe('fulfilled');
    for (let index = 0; index < 5; index++) await client.call('work', [index]);
    expect((events.attempt ?? []).slice(1).every((event) => event.endpoint === urls[1])).toBe(true);
    expect(client.endpoints).toEqual([urls[1]]);
  });

  it('follows a resolver as it adds and removes endpoints', async () => {
    const { urls } = await cluster(2);
    let update: (endpoints: string[]) => void = () => {};
    const other = createClient({
      transports: [memoryTransport(new MemoryNetwork())],
      resolver: {
        start(callback) {
          update = callback;
          return () => {};
        },
      },
      heartbeat: false,
    });
    update([urls[0]!]);
    expect(other.endpoints).toEqual([urls[0]]);
    update([urls[1]!]);
    expect(other.endpoints).toEqual([urls[1]]);
    await other.close();
  });

  it('rejects an endpoint whose scheme no transport serves, naming the schemes it has', async () => {
    const { client } = await cluster(1);
    expect(() => client.addEndpoint('gopher://example/rpc')).toThrow(/memory/);
  });
});

describe('seeded simulation', () => {
  it('keeps idempotent calls ≥ 99.9 % successful with one endpoint dead and one failing 20 %', async () => {
    const { client, clock, listeners } = await cluster(3, {}, [
      undefined,
      { rates: { error: 0.2 }, errorKind: 'connection-lost' },
      {},
    ]);
    listeners[0]!.crash();
    let succeeded = 0;
    const total = 3_000;
    for (let batch = 0; batch < total / 100; batch++) {
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, (_, index) => client.call('work', [batch, index], { idempotent: true })),
      );
      succeeded += results.filter((result) => result.status === 'fulfilled').length;
      await clock.advanceAsync(100, 20);
    }
    expect(succeeded / total).toBeGreaterThanOrEqual(0.999);
  });

  it('adds bounded extra load when all three endpoints are dead', async () => {
    const { client, clock, listeners, transport } = await cluster(3, {
      retryBudget: { ratio: 0.2, minRetriesPerSecond: 10 },
    });
    for (const listener of listeners) listener.crash();
    const total = 1_000;
    for (let batch = 0; batch < 10; batch++) {
      await settle(
        clock,
        Promise.allSettled(
          Array.from({ length: total / 10 }, () => client.call('work', [], { idempotent: true })),
        ),
      );
    }
    const sends = [...transport.injectors.values()].reduce((sum, injector) => sum + injector.counts.sends, 0);
    // At most 20 % of the calls plus the 10/s floor over the 10 s window.
    expect(sends - total).toBeLessThanOrEqual(0.2 * total + 100 + 1);
    expect(client.stats().failed).toBe(total);
  });
});

describe('client-side stalls', () => {
  it('does not suspect healthy endpoints after a long synchronous task on the client', async () => {
    const { client, clock, listeners, events } = await cluster(2);
    for (const listener of listeners) listener.latencyMs = 20;
    const pending = Array.from({ length: 10 }, (_, index) => client.call('work', [index]));
    await clock.advanceAsync(5, 5);
    // The event loop is blocked for 2 s: the sweep timer fires late, before the answers are read.
    clock.jump(2_000);
    await clock.advanceAsync(100, 10);
    await Promise.all(pending);
    expect((events['endpoint-state'] ?? []).filter((event) => event.to === 'suspect')).toHaveLength(0);
  });
});

describe('stall suspicion corner cases', () => {
  it('suspects a hung endpoint even when an older call is still in flight after the last answer', async () => {
    const { client, clock, listeners, events, urls } = await cluster(1, { retry: false });
    const failures: unknown[] = [];
    listeners[0]!.hang();
    const first = client.call('work', ['a'], { deadlineMs: 3_000 }).catch((error) => failures.push(error));
    listeners[0]!.resume();
    await client.call('work', ['ok']);
    listeners[0]!.hang();
    const startedAt = clock.now();
    const third = client.call('work', ['c'], { deadlineMs: 3_000 }).catch((error) => failures.push(error));
    await clock.advanceAsync(600, 10);
    const suspected = events['endpoint-state']?.find(
      (event) => event.endpoint === urls[0] && event.to === 'suspect',
    );
    expect(suspected).toBeDefined();
    // Issue 15: suspicion waits for a corroborating probe. Budget: minimumMs 250 + one sweep
    // interval 100 + probeTimeoutMs 300.
    expect(suspected!.at - startedAt).toBeLessThanOrEqual(650);
    await clock.advanceAsync(3_000, 100);
    await Promise.all([first, third]);
  });

  it('still suspects a hung endpoint whose calls are rescued by hedges', async () => {
    const { client, clock, listeners, events, urls } = await cluster(2, {
      balancer: 'round-robin',
      hedging: { delayMs: 20 },
    });
    for (let index = 0; index < 10; index++)
      await client.call('work', [index], { idempotent: true, hedge: true });
    listeners[0]!.hang();
    for (let step = 0; step < 60; step++) {
      await settle(clock, client.call('work', [step], { idempotent: true, hedge: true }));
      await clock.advanceAsync(10, 10);
    }
    expect(
      events['endpoint-state']?.some((event) => event.endpoint === urls[0] && event.to === 'suspect'),
    ).toBe(true);
  });
});

describe('health feedback from answers', () => {
  it('does not count a rejection (no responders, draining) as a sign of life', async () => {
    const { client, clock, events, urls } = await cluster(2, { balancer: 'round-robin' }, [
      { rates: { error: 1 }, errorKind: 'rejected' },
    ]);
    for (let index = 0; index < 4; index++) await settle(clock, client.call('work', [index]));
    expect(events['endpoint-state']?.some((event) => event.endpoint === urls[0] && event.to === 'down')).toBe(
      true,
    );
  });

  it('ejects an endpoint that keeps answering with retryable errors', async () => {
    const clock = new ManualClock();
    const network = new MemoryNetwork(clock);
    const unavailable = createServer({
      methods: {
        work: () => {
          throw new RpcError('remote', 'unavailable', { code: 4503, retryable: true });
        },
      },
    });
    const healthy = createServer({ methods: { work: () => 'ok' } });
    const urls = [
      (await unavailable.listen(network.listener('retryable-bad'))).urls[0]!,
      (await healthy.listen(network.listener('retryable-good'))).urls[0]!,
    ];
    const client = createClient({
      transports: [memoryTransport(network)],
      endpoints: urls,
      clock,
      heartbeat: false,
      balancer: 'round-robin',
      circuitBreaker: false,
    });
    const states: string[] = [];
    client.on('endpoint-state', (event) => states.push(`${event.endpoint}:${event.to}`));
    for (let index = 0; index < 20; index++) {
      expect((await settle(clock, client.call('work'))).status).toBe('fulfilled');
    }
    expect(states).toContain(`${urls[0]}:ejected`);
    await client.close();
  });
});

describe('rescue of calls waiting on a stalled endpoint', () => {
  it('retries an idempotent call elsewhere as soon as its endpoint is suspected, without waiting for the deadline', async () => {
    const { client, clock, listeners, events, urls } = await cluster(2, { balancer: 'round-robin' });
    for (let index = 0; index < 10; index++) await client.call('work', [index], { idempotent: true });
    listeners[0]!.hang();
    const startedAt = clock.now();
    const outcomes = await Promise.all(
      [0, 1, 2, 3].map((index) =>
        settle(clock, client.call('work', [index], { idempotent: true, deadlineMs: 10_000 })),
      ),
    );
    expect(outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    const rescued = (events.call ?? []).filter((event) => event.at >= startedAt);
    expect(Math.max(...rescued.map((event) => event.latencyMs))).toBeLessThan(1_500);
    expect((events.hedge ?? []).some((event) => event.endpoint === urls[1])).toBe(true);
    listeners[0]!.resume();
  });

  it('does not rescue a call that is not idempotent', async () => {
    const { client, clock, listeners, events } = await cluster(2, { balancer: 'round-robin' });
    listeners[0]!.hang();
    const outcome = await settle(clock, client.call('work', [], { deadlineMs: 2_000 }));
    expect(outcome.status).toBe('rejected');
    expect(events.hedge ?? []).toHaveLength(0);
  });

  it('prefers an endpoint whose breaker admits calls over one whose breaker is open, even in panic mode', async () => {
    let rejectNext = false;
    const { client, clock, events, urls } = await cluster(
      2,
      { outlierDetection: false, circuitBreaker: { consecutiveFailures: 2 }, balancer: 'round-robin' },
      [
        { rates: { error: 1 }, errorKind: 'connection-lost' },
        {
          decide: () => {
            if (!rejectNext) return undefined;
            rejectNext = false;
            return { type: 'error', kind: 'rejected' };
          },
        },
      ],
    );
    for (let index = 0; index < 4; index++)
      await settle(clock, client.call('work', [index], { idempotent: true }));
    expect(client.stats().endpoints.find((endpoint) => endpoint.url === urls[0])!.breaker).toBe('open');
    rejectNext = true;
    await settle(clock, client.call('work', ['rejected once'], { idempotent: true }));
    // Now neither endpoint is usable: the second is backing off after its rejection, the first is
    // circuit-open. The call must go to the one that can take it, at the first attempt.
    const outcome = await settle(clock, client.call('work', ['next'], { idempotent: true }));
    expect(outcome.status).toBe('fulfilled');
    expect(events.call!.at(-1)!.attempts).toBe(1);
  });

  it('does not rescue when rescue is turned off', async () => {
    const { client, clock, listeners, events } = await cluster(2, {
      balancer: 'round-robin',
      rescue: false,
      retry: false,
    });
    for (let index = 0; index < 10; index++) await client.call('work', [index], { idempotent: true });
    listeners[0]!.hang();
    await Promise.all(
      [0, 1].map((index) =>
        settle(clock, client.call('work', [index], { idempotent: true, deadlineMs: 2_000 })),
      ),
    );
    expect(events.hedge ?? []).toHaveLength(0);
    listeners[0]!.resume();
  });
});
