/**
 * Issue 8's integration scenarios for the queue group as one endpoint (instance discovery off, as
 * with foreign responders): service instances in child processes, their own nats-server processes
 * (a 3-node cluster for failover), faults injected with SIGKILL and SIGSTOP. With discovery on,
 * scale-out.test.ts.
 */
import { fileURLToPath } from 'node:url';
import { createClient, defaultRandom, type RpcClient, RpcError, systemClock } from '@resilient-rpc/core';
import {
  type ChildHandle,
  killAll,
  type NatsClusterHandle,
  type NatsServerHandle,
  sleep,
  spawnScript,
  startNatsCluster,
  startNatsServer,
  waitFor,
} from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { natsTransport } from '../src/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/service.ts', import.meta.url));

interface Ready {
  instance: string;
  pid: number;
  urls: string[];
}

const children: ChildHandle<unknown>[] = [];
const brokers: Array<NatsServerHandle | NatsClusterHandle> = [];
const clients: RpcClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close().catch(() => {})));
  await killAll(children.splice(0));
  await Promise.all(brokers.splice(0).map((broker) => broker.kill()));
});

async function startInstances(
  servers: string,
  subject: string,
  count: number,
): Promise<ChildHandle<Ready>[]> {
  const started = Array.from({ length: count }, (_, i) => {
    const child = spawnScript<Ready>(FIXTURE, { args: [servers, subject], env: { INSTANCE: `i${i}` } });
    children.push(child);
    return child;
  });
  await Promise.all(started.map((child) => child.ready));
  return started;
}

/** Steady load: `workers` loops calling `whoami` until stopped; counts results per instance. */
function load(client: RpcClient, workers: number, options: Parameters<RpcClient['call']>[2]) {
  let running = true;
  const byInstance = new Map<string, number>();
  const failures: RpcError[] = [];
  let ok = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const instance = await client.call<string>('whoami', [], options);
        byInstance.set(instance, (byInstance.get(instance) ?? 0) + 1);
        ok++;
      } catch (error) {
        failures.push(error as RpcError);
      }
      await sleep(5);
    }
  });
  return {
    byInstance,
    failures,
    get ok() {
      return ok;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('NATS resilience, queue group as one endpoint (issue 8)', () => {
  it('(a) three instances, one SIGKILLed under steady idempotent load: no call fails', async () => {
    const broker = await startNatsServer();
    brokers.push(broker);
    const instances = await startInstances(broker.url, 'res.a', 3);
    const client = createClient({
      transports: [natsTransport({ discovery: false })],
      endpoints: [`${broker.url}/res.a`],
      heartbeat: false,
      retry: { maxAttempts: 6 },
    });
    clients.push(client);
    const traffic = load(client, 8, { idempotent: true, deadlineMs: 8_000, attemptTimeoutMs: 500 });
    await waitFor(() => traffic.byInstance.size === 3, 'all three instances serving', 10_000);
    await instances[0]?.kill('SIGKILL');
    const okAtKill = traffic.ok;
    await waitFor(() => traffic.ok > okAtKill + 200, 'more calls after the kill', 15_000);
    await traffic.stop();
    expect(traffic.failures.map((e) => `${e.kind}: ${e.message}`)).toEqual([]);
    expect(traffic.byInstance.get('i1')).toBeGreaterThan(0);
    expect(traffic.byInstance.get('i2')).toBeGreaterThan(0);
  });

  it('(b) zero instances: calls fail fast with `rejected` (no responders), not after the deadline', async () => {
    const broker = await startNatsServer();
    brokers.push(broker);
    const transport = natsTransport({ discovery: false });
    // Timed from an open connection: the claim is about the call, not the first connect (a TCP
    // connect and NATS handshake with a broker process, which a loaded machine stretches). The
    // transport shares one connection per server set, so the client's endpoint uses this one.
    const opened = transport.connect(`${broker.url}/res.none`, { clock: systemClock, random: defaultRandom });
    await waitFor(() => opened.status === 'open', 'the connection to open', 10_000, 5);
    const client = createClient({
      transports: [transport],
      endpoints: [`${broker.url}/res.none`],
      heartbeat: false,
    });
    clients.push(client);
    const started = Date.now();
    const error = await client.call('whoami', [], { deadlineMs: 10_000 }).then(
      () => undefined,
      (e: unknown) => e as RpcError,
    );
    expect(RpcError.isInstance(error)).toBe(true);
    expect(error?.kind).toBe('rejected');
    // "No responders" comes back in a broker round trip; bound 1 s (margin for a loaded machine), not the 10 s deadline.
    expect(Date.now() - started).toBeLessThan(1_000);
    await opened.close();
  });

  it('(c) 3-node cluster: the node the client is connected to is killed under load; calls keep succeeding', async () => {
    const cluster = await startNatsCluster(3);
    brokers.push(cluster);
    const [first, second, third] = cluster.servers;
    if (!first || !second || !third) throw new Error('cluster did not start');
    // instances live on the nodes that survive
    await startInstances(`${second.url},${third.url}`, 'res.c', 2);
    const hosts = cluster.urls.map((url) => url.replace('nats://', '')).join(',');
    const client = createClient({
      // noRandomize: the client connects to the first node of the URL, the one we kill
      transports: [natsTransport({ noRandomize: true, reconnectTimeWait: 100, discovery: false })],
      endpoints: [`nats://${hosts}/res.c`],
      heartbeat: false,
      retry: { maxAttempts: 6 },
    });
    clients.push(client);
    // routes and interest propagate: wait until calls get through
    await waitFor(
      () =>
        client.call('whoami', [], { deadlineMs: 1_000 }).then(
          () => true,
          () => false,
        ),
      'the service reachable through the cluster',
      15_000,
      100,
    );
    const traffic = load(client, 8, { idempotent: true, deadlineMs: 8_000, attemptTimeoutMs: 1_000 });
    await waitFor(() => traffic.ok > 100, 'steady traffic', 10_000);
    await first.kill('SIGKILL');
    const okAtKill = traffic.ok;
    await waitFor(() => traffic.ok > okAtKill + 200, 'calls after the failover', 15_000);
    await traffic.stop();
    expect(traffic.failures.map((e) => `${e.kind}: ${e.message}`)).toEqual([]);
  });

  it('(d) a SIGSTOPped instance: its calls time out and are retried elsewhere; the group keeps serving', async () => {
    const broker = await startNatsServer();
    brokers.push(broker);
    const instances = await startInstances(broker.url, 'res.d', 3);
    const client = createClient({
      transports: [natsTransport({ discovery: false })],
      endpoints: [`${broker.url}/res.d`],
      heartbeat: false,
      // one endpoint (the queue group) for three instances: retries may land on the stopped one
      // again (1 in 3), so allow enough attempts
      retry: { maxAttempts: 10, baseMs: 5, capMs: 20 },
      retryBudget: false,
      // The breaker sees the whole queue group as one endpoint: on a loaded machine the 300 ms
      // attempt timeouts of live instances push the group's failure rate past 50 % and the breaker
      // would fail the whole group fast, which is not what this test is about.
      circuitBreaker: false,
    });
    clients.push(client);
    const traffic = load(client, 6, { idempotent: true, deadlineMs: 15_000, attemptTimeoutMs: 300 });
    await waitFor(() => traffic.byInstance.size === 3, 'all three instances serving', 10_000);
    const stopped = instances[0];
    stopped?.stop();
    const before = { ok: traffic.ok, i0: traffic.byInstance.get('i0') ?? 0 };
    await sleep(1_500);
    const retriesDuringStop = client.stats().retries;
    await waitFor(() => traffic.ok > before.ok + 100, 'the queue group keeps serving', 15_000);
    await traffic.stop();
    stopped?.resume();
    expect(traffic.failures.map((e) => `${e.kind}: ${e.message}`)).toEqual([]);
    expect(retriesDuringStop).toBeGreaterThan(0);
    // nothing came back from the stopped instance while it was stopped (at most replies already in flight)
    expect((traffic.byInstance.get('i0') ?? 0) - before.i0).toBeLessThanOrEqual(6);
  });
});
