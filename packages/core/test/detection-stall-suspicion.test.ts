import { type ClientEvents, createClient, createServer, type RpcServer } from '@resilient-rpc/core';
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

/** Healthy replicas (two unless told) whose `sleep` method takes `ms` of clock time; heartbeats off. */
async function twoReplicas(count = 2) {
  const clock = new ManualClock(1_000);
  const network = new MemoryNetwork(clock);
  const runs = [0, 0];
  const servers: RpcServer[] = [];
  const listeners: MemoryListener[] = [];
  for (let index = 0; index < count; index++) {
    const server = createServer({
      clock,
      methods: {
        sleep: (params: unknown) =>
          new Promise((resolve) => {
            runs[index]!++;
            clock.setTimeout(() => resolve('slept'), (params as number[])[0]!);
          }),
      },
    });
    servers.push(server);
    listeners.push(await server.listen(network.listener(`stall-${index}-${Math.random()}`)));
  }
  const client = createClient({
    transports: [memoryTransport(network)],
    endpoints: listeners.map((listener) => listener.urls[0]!),
    clock,
    heartbeat: false,
  });
  const states: ClientEvents['endpoint-state'][] = [];
  const hedges: ClientEvents['hedge'][] = [];
  client.on('endpoint-state', (event) => states.push(event));
  client.on('hedge', (event) => hedges.push(event));
  cleanups.push(async () => {
    await client.close();
    for (const server of servers) await server.close();
  });
  return { clock, client, runs, states, hedges, listeners };
}

describe('stall suspicion', () => {
  it('never marks a healthy endpoint suspect, or copies a call, because one call is legitimately slow', async () => {
    const { clock, client, runs, states, hedges } = await twoReplicas();
    const pending = client.call('sleep', [1_200], { idempotent: true });
    let outcome: unknown;
    pending.then((value) => (outcome = value));
    await clock.advanceAsync(1_500, 10);
    expect(outcome).toBe('slept');
    expect(states.filter((event) => event.to === 'suspect')).toEqual([]);
    expect(hedges).toEqual([]);
    expect(runs[0]! + runs[1]!).toBe(1); // the method ran once
    expect(client.stats().calls).toBe(1);
  });

  it('still suspects a hung replica within 1.5 s: the corroborating probe goes unanswered too', async () => {
    const { clock, client, states, listeners } = await twoReplicas();
    listeners[0]!.hang();
    listeners[1]!.hang();
    const hungAt = clock.now();
    const pending = client
      .call('sleep', [1], { idempotent: true, deadlineMs: 5_000 })
      .catch((error) => error);
    await clock.advanceAsync(1_500, 10);
    const suspected = states.find((event) => event.to === 'suspect');
    expect(suspected).toBeDefined();
    expect(suspected!.at - hungAt).toBeLessThanOrEqual(1_500);
    expect(suspected!.reason).toMatch(/probe unanswered/);
    for (const listener of listeners) listener.resume();
    await clock.advanceAsync(5_000, 100);
    await pending;
  });

  it('suspects a replica that hangs right after an answer, every waiting call sent before that answer', async () => {
    // The bench's slow path: the replica answers a call while others wait on it, then hangs. No
    // call is sent to it afterwards (the balancer already avoids it: its calls are in flight).
    const { clock, client, states, listeners } = await twoReplicas(1);
    const stuck = client
      .call('sleep', [100], { idempotent: true, deadlineMs: 5_000 })
      .catch((error) => error);
    const answered = client.call('sleep', [10], { idempotent: true });
    await clock.advanceAsync(10, 1);
    await expect(answered).resolves.toBe('slept');
    listeners[0]!.hang();
    const hungAt = clock.now();
    await clock.advanceAsync(1_500, 10);
    const suspected = states.find((event) => event.to === 'suspect');
    expect(suspected).toBeDefined();
    expect(suspected!.at - hungAt).toBeLessThanOrEqual(1_500);
    expect(suspected!.reason).toMatch(/probe unanswered/);
    listeners[0]!.resume();
    await clock.advanceAsync(5_000, 100);
    await stuck;
  });

  it('probes a long call on an idle replica ever less often: each answered probe excuses it for longer', async () => {
    const { clock, client, states, hedges, listeners } = await twoReplicas(1);
    const pending = client.call('sleep', [20_000], { idempotent: true, deadlineMs: 30_000 });
    let outcome: unknown;
    pending.then((value) => (outcome = value));
    await clock.advanceAsync(21_000, 50);
    expect(outcome).toBe('slept');
    expect(states.filter((event) => event.to === 'suspect')).toEqual([]);
    expect(hedges).toEqual([]);
    // The call, and probes at about 0.3, 0.6, 1.2, 2.4, 4.8, 9.6 and 19.2 s (one per doubling of
    // its age), not one per 350 ms (57).
    expect(listeners[0]!.delivered - 1).toBeLessThanOrEqual(8);
  });
});
