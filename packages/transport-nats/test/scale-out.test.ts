/**
 * Issue 19: a queue group's instances as endpoints of their own. Three service instances in child
 * processes on one subject of a 3-node NATS cluster; the client is given the service subject's URL
 * only and discovers the instances. Faults: an instance hung (SIGSTOP) or killed (SIGKILL) under
 * load, a broker node killed, an instance started during the run.
 */
import { fileURLToPath } from 'node:url';
import { createClient, type RpcClient, type RpcError } from '@resilient-rpc/core';
import {
  type ChildHandle,
  killAll,
  type NatsClusterHandle,
  sleep,
  spawnScript,
  startNatsCluster,
  waitFor,
} from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { natsTransport } from '../src/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/service.ts', import.meta.url));
/** The discovery interval of these tests' clients, ms. */
const INTERVAL_MS = 500;
/**
 * How long an instance may take to print READY, ms. Three start at once, each loading the sources
 * through tsx (CPU-bound): three took 15-19 s to READY at load average 15 on the 2-core machine,
 * and the 20 s default failed this file's setup there (1 of 4 runs, load 17). Startup is not
 * what these tests measure; 45 s is the slowest seen plus a margin of 26 s.
 */
const READY_TIMEOUT_MS = 45_000;
/**
 * Each test's timeout, ms: the cluster's start (10 s), the instances' READY, their discovery (a
 * 15 s wait) and the longest test's own waits (the join test: 10 s for traffic, a late instance's
 * READY, 10 s for it to serve). A bound on a hang only: the tests' timing claims are their own.
 */
const TEST_TIMEOUT_MS = 10_000 + READY_TIMEOUT_MS + 15_000 + (10_000 + READY_TIMEOUT_MS + 10_000);

interface Ready {
  instance: string;
  pid: number;
  instanceSubject: string;
}

const children: ChildHandle<unknown>[] = [];
const clusters: NatsClusterHandle[] = [];
const clients: RpcClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close().catch(() => {})));
  await killAll(children.splice(0));
  await Promise.all(clusters.splice(0).map((cluster) => cluster.kill()));
});

function startInstance(servers: string, subject: string, name: string): ChildHandle<Ready> {
  const child = spawnScript<Ready>(FIXTURE, {
    args: [servers, subject],
    env: { INSTANCE: name },
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  children.push(child);
  return child;
}

/**
 * A cluster, three instances (instance i on node i), and a client given the service subject's URL
 * with the nodes `clientNodes` (all unless told: nats.js then picks one at random).
 */
async function setup(subject: string, clientNodes?: readonly number[]) {
  const cluster = await startNatsCluster(3);
  clusters.push(cluster);
  const instances = cluster.urls.map((url, i) => startInstance(url, subject, `i${i}`));
  const ready = await Promise.all(instances.map((child) => child.ready));
  const hosts = cluster.urls
    .filter((_url, i) => clientNodes === undefined || clientNodes.includes(i))
    .map((url) => url.replace('nats://', ''))
    .join(',');
  const client = createClient({
    transports: [natsTransport({ reconnectTimeWait: 100, discovery: { intervalMs: INTERVAL_MS } })],
    endpoints: [`nats://${hosts}/${subject}`],
  });
  clients.push(client);
  const endpointOf = (info: Ready) =>
    client.endpoints.find((url) => url.endsWith(`/${info.instanceSubject}`));
  await waitFor(
    () => ready.every((info) => endpointOf(info) !== undefined),
    'the three instances discovered',
    15_000,
  );
  return { cluster, hosts, instances, ready, client, endpointOf };
}

/** Closed loops of idempotent calls: results per instance, failures, and each call's duration. */
function load(client: RpcClient, workers: number) {
  let running = true;
  const byInstance = new Map<string, number>();
  const failures: RpcError[] = [];
  const calls: Array<{ startedAt: number; durationMs: number; instance?: string }> = [];
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const startedAt = performance.now();
      try {
        const instance = await client.call<string>('whoami', [], { idempotent: true });
        calls.push({ startedAt, durationMs: performance.now() - startedAt, instance });
        byInstance.set(instance, (byInstance.get(instance) ?? 0) + 1);
      } catch (error) {
        calls.push({ startedAt, durationMs: performance.now() - startedAt });
        failures.push(error as RpcError);
      }
      await sleep(2);
    }
  });
  return {
    byInstance,
    failures,
    calls,
    count: (name: string) => byInstance.get(name) ?? 0,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Node 0 (instance i0's) SIGKILLed under 8 loops of calls; returns the traffic once 300 more calls
 * have ended, having checked that none failed and that the other instances served.
 */
async function killNodeZeroUnderLoad({ cluster, client }: Awaited<ReturnType<typeof setup>>) {
  const traffic = load(client, 8);
  await waitFor(() => traffic.calls.length > 200, 'steady traffic', 10_000);
  await cluster.servers[0]?.kill('SIGKILL');
  const atKill = traffic.calls.length;
  await waitFor(() => traffic.calls.length > atKill + 300, 'calls after the node died', 15_000);
  await traffic.stop();
  expect(traffic.failures.map((e) => `${e.kind}: ${e.message}`).join('\n')).toBe('');
  expect(traffic.count('i1') + traffic.count('i2')).toBeGreaterThan(0);
  return traffic;
}

describe('NATS scale-out: instances discovered behind one subject (issue 19)', {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  it('one instance hung (SIGSTOP) under load: no call fails, ≤ 8 over 1 s, detected within 1.5 s, avoided until it answers again', async () => {
    const { instances, ready, client, endpointOf } = await setup(`scale.hang.${process.pid}`);
    const hung = ready[0] as Ready;
    const hungUrl = endpointOf(hung) as string;
    const states: Array<{ at: number; to: string }> = [];
    client.on('endpoint-state', (event) => {
      if (event.endpoint === hungUrl) states.push({ at: performance.now(), to: event.to });
    });
    const traffic = load(client, 8);
    await waitFor(
      () => ['i0', 'i1', 'i2'].every((name) => traffic.count(name) > 20),
      'all three serving',
      10_000,
    );
    const stoppedAt = performance.now();
    instances[0]?.stop();
    await sleep(4_000);
    const stoppedFor = { i0: traffic.count('i0'), others: traffic.count('i1') + traffic.count('i2') };
    // still part of the endpoint set (hung, not gone), the client's health keeps calls away
    expect(client.endpoints).toContain(hungUrl);
    instances[0]?.resume();
    const resumedAt = performance.now();
    await waitFor(() => traffic.count('i0') > stoppedFor.i0, 'the resumed instance serving again', 15_000);
    await traffic.stop();

    expect(traffic.failures.map((e) => `${e.kind}: ${e.message}`).join('\n')).toBe('');
    const slow = traffic.calls.filter((call) => call.durationMs > 1_000);
    expect(slow.length).toBeLessThanOrEqual(8);
    const detected = states.find((s) => s.at > stoppedAt && s.to !== 'healthy');
    expect(detected, `states: ${JSON.stringify(states)}`).toBeDefined();
    expect((detected?.at ?? Number.POSITIVE_INFINITY) - stoppedAt).toBeLessThanOrEqual(1_500);
    // avoided: not healthy again while it was stopped
    expect(
      states.filter((s) => s.at > (detected?.at ?? 0) && s.at < resumedAt && s.to === 'healthy'),
    ).toEqual([]);
    expect(stoppedFor.others).toBeGreaterThan(100);
  });

  it('one instance killed (SIGKILL) under load: no call fails, ≤ 8 over 1 s, detected and dropped within 1.5 s', async () => {
    const { instances, ready, client, endpointOf } = await setup(`scale.kill.${process.pid}`);
    const killedUrl = endpointOf(ready[0] as Ready) as string;
    // detected: the endpoint leaves healthy, or discovery drops it (whichever comes first)
    let detectedAt: number | undefined;
    let droppedAt: number | undefined;
    client.on('endpoint-state', (event) => {
      if (event.endpoint === killedUrl && event.to !== 'healthy') detectedAt ??= performance.now();
    });
    client.on('endpoint-removed', (event) => {
      if (event.endpoint === killedUrl) {
        droppedAt = performance.now();
        detectedAt ??= droppedAt;
      }
    });
    const traffic = load(client, 8);
    await waitFor(
      () => ['i0', 'i1', 'i2'].every((name) => traffic.count(name) > 20),
      'all three serving',
      10_000,
    );
    const killedAt = performance.now();
    await instances[0]?.kill('SIGKILL');
    await waitFor(() => droppedAt !== undefined, 'the killed instance dropped', 10_000);
    const atDrop = traffic.count('i1') + traffic.count('i2');
    await waitFor(() => traffic.count('i1') + traffic.count('i2') > atDrop + 100, 'calls go on', 10_000);
    await traffic.stop();
    expect(traffic.failures.map((e) => `${e.kind}: ${e.message}`).join('\n')).toBe('');
    expect(traffic.calls.filter((call) => call.durationMs > 1_000).length).toBeLessThanOrEqual(8);
    expect((detectedAt ?? Number.POSITIVE_INFINITY) - killedAt).toBeLessThanOrEqual(1_500);
    // a call finds "no responders" at once; a probe 500 ms later confirms it: dropped
    expect((droppedAt ?? Number.POSITIVE_INFINITY) - killedAt).toBeLessThanOrEqual(1_500);
    expect(client.endpoints).not.toContain(killedUrl);
  });

  // The node of instance i0 dies, the client is on another node: the requests the dead node held
  // for i0 are lost, i0 reconnects to a live node and answers again, and the client (seeing those
  // calls in flight there) sends it nothing new. The overtaken rule must rescue them, with a probe
  // sent after them as the evidence. Before that rule counted probes, about 1 run in 5 ended with
  // calls waiting out their 10 s deadline (a loss needs requests inside the node as it dies, so not
  // every run has one; core's detection-overtaken test covers the rule deterministically).
  it('the node of one instance killed under load, the client on another: requests lost in it are rescued, no call fails', async () => {
    const traffic = await killNodeZeroUnderLoad(await setup(`scale.node.${process.pid}`, [1, 2]));
    // A lost request is rescued within the overtaken floor (250 ms) + two sweeps (200 ms) + a
    // probe (≤ 300 ms) ≈ 750 ms; 3 s is that plus a margin for a loaded machine, far under the
    // 10 s deadline the lost calls waited out before.
    const slowest = Math.max(...traffic.calls.map((call) => call.durationMs));
    expect(slowest).toBeLessThan(3_000);
  });

  it("the client's own NATS node killed under load: calls continue through the other nodes", async () => {
    // Given node 0 only, the client learns the others from the cluster (INFO) and reconnects there.
    await killNodeZeroUnderLoad(await setup(`scale.own.${process.pid}`, [0]));
  });

  it('an instance started during the run receives calls within the discovery interval', async () => {
    const subject = `scale.join.${process.pid}`;
    const { cluster, client } = await setup(subject);
    const traffic = load(client, 4);
    await waitFor(() => traffic.calls.length > 100, 'steady traffic', 10_000);
    const late = startInstance(cluster.urls[1] ?? '', subject, 'late');
    await late.ready;
    const readyAt = performance.now();
    await waitFor(() => traffic.count('late') > 0, 'the new instance serving', 10_000);
    const servedAfterMs = performance.now() - readyAt;
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
    // one interval (+10 % jitter) for the discovery round, plus scheduling margin on a loaded machine
    expect(servedAfterMs).toBeLessThan(INTERVAL_MS * 1.1 + 500);
  });
});
