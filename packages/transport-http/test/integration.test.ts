import { fileURLToPath } from 'node:url';
import { createClient, createServer, type RpcClient, RpcError } from '@resilient-rpc/core';
import { type ChildHandle, freePort, killAll, sleep, spawnScript, waitFor } from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { httpListener, httpTransport } from '../src/index.js';

const replicaScript = fileURLToPath(new URL('./fixtures/replica.ts', import.meta.url));

interface ReplicaInfo {
  url: string;
  name: string;
}

const children: ChildHandle<ReplicaInfo>[] = [];
const clients: RpcClient[] = [];

async function replicas(count: number): Promise<Array<ChildHandle<ReplicaInfo> & { info: ReplicaInfo }>> {
  const handles = Array.from({ length: count }, (_, i) =>
    spawnScript<ReplicaInfo>(replicaScript, { env: { REPLICA_NAME: `r${i}` }, readyTimeoutMs: 40_000 }),
  );
  children.push(...handles);
  const infos = await Promise.all(handles.map((handle) => handle.ready));
  return handles.map((handle, i) => Object.assign(handle, { info: infos[i]! }));
}

function client(endpoints: string[], options: Partial<Parameters<typeof createClient>[0]> = {}): RpcClient {
  const created = createClient({ transports: [httpTransport()], endpoints, ...options });
  clients.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await killAll(children.splice(0));
});

/** Runs `workers` loops of idempotent echo calls until `stop()`; records every outcome. */
function steadyStream(rpc: RpcClient, workers: number) {
  /** `started`: when the call was made; `at`: when its outcome came. */
  const results: Array<{ started: number; at: number; name?: string; error?: unknown }> = [];
  let running = true;
  const loops = Array.from({ length: workers }, async (_, worker) => {
    let i = 0;
    while (running) {
      const started = Date.now();
      try {
        const result = await rpc.call<{ name: string }>('echo', [worker, i++], { idempotent: true });
        results.push({ started, at: Date.now(), name: result.name });
      } catch (error) {
        results.push({ started, at: Date.now(), error });
      }
      await sleep(5);
    }
  });
  return {
    results,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('HTTP transport with the core client against replica processes', () => {
  it('(a) one of three replicas SIGKILLed during a steady stream: no call fails, later calls avoid it', async () => {
    const [r0, r1, r2] = await replicas(3);
    const rpc = client([r0!.info.url, r1!.info.url, r2!.info.url], { heartbeat: { intervalMs: 200 } });
    const stream = steadyStream(rpc, 8);
    // Conditions, not sleeps: the kill waits until r1 has answered (500 ms of stream did not
    // promise that on a loaded machine), and the checks until 20 calls made 500 ms after the kill
    // or later have been answered (a 1.5 s sleep left room for 14 at load average 24).
    await waitFor(() => stream.results.some((r) => r.name === 'r1'), 'a call answered by r1', 20_000);
    await r1!.kill('SIGKILL');
    const killedAt = Date.now();
    // By when they were made, not answered: an answer r1 wrote before it died can be read late.
    const late = () => stream.results.filter((r) => r.started > killedAt + 500);
    await waitFor(() => late().length > 20, '20 calls made after the kill answered', 20_000);
    await stream.stop();
    const failures = stream.results.filter((r) => r.error !== undefined);
    expect(failures.map((f) => String(f.error))).toEqual([]);
    expect(stream.results.filter((r) => r.at < killedAt && r.name === 'r1').length).toBeGreaterThan(0);
    expect(late().filter((r) => r.name === 'r1')).toEqual([]);
    const dead = rpc.stats().endpoints.find((e) => e.url === r1!.info.url)!;
    expect(dead.state).not.toBe('healthy');
  });

  it('(b) a SIGSTOPped replica is suspected and routed around; after SIGCONT it returns', async () => {
    const [r0, r1] = await replicas(2);
    const rpc = client([r0!.info.url, r1!.info.url], {
      heartbeat: { intervalMs: 200, timeoutMs: 200 },
      attemptTimeoutMs: 1_000,
      deadlineMs: 8_000,
    });
    const stateOf = (url: string) => rpc.stats().endpoints.find((e) => e.url === url)!.state;
    const stream = steadyStream(rpc, 4);
    await sleep(400);
    r1!.stop();
    const stoppedAt = Date.now();
    // The claimed budget: a hung replica is detected within 1.5 s (stall suspicion after 250 ms,
    // or the heartbeat's 200 ms pings going unanswered); the margin for a loaded machine's late
    // timers is 1 s. waitFor gives up at the bound, so a slower detection fails here.
    const boundMs = 1_500 + 1_000;
    await waitFor(() => stateOf(r1!.info.url) !== 'healthy', 'the hung replica to be suspected', boundMs);
    const detectedAfterMs = Date.now() - stoppedAt;
    expect(detectedAfterMs).toBeLessThanOrEqual(boundMs + 100); // + one waitFor poll
    await sleep(300);
    const routedFrom = Date.now();
    await sleep(800);
    const during = stream.results.filter((r) => r.at > routedFrom);
    expect(during.length).toBeGreaterThan(5);
    expect(during.every((r) => r.name === 'r0')).toBe(true);

    r1!.resume();
    await waitFor(
      () => stateOf(r1!.info.url) === 'healthy',
      'the resumed replica to be healthy again',
      15_000,
    );
    const resumedAt = Date.now();
    await waitFor(
      () => stream.results.some((r) => r.at > resumedAt && r.name === 'r1'),
      'calls to reach the resumed replica',
      15_000,
    );
    await stream.stop();
    expect(stream.results.filter((r) => r.error !== undefined).map((r) => String(r.error))).toEqual([]);
  });

  it('(d) a non-idempotent call whose server dies is not retried and fails with connection-lost', async () => {
    const [r0, r1] = await replicas(2);
    const rpc = client([r0!.info.url, r1!.info.url], { balancer: 'round-robin', heartbeat: false });
    // Warm both endpoints so that the fatal call goes to whichever is next, once.
    await rpc.call('whoami');
    const attempts: string[] = [];
    rpc.on('attempt', (event) => attempts.push(event.endpoint));
    let error: unknown;
    try {
      await rpc.call('die', [], { deadlineMs: 5_000 });
    } catch (caught) {
      error = caught;
    }
    expect(RpcError.isInstance(error)).toBe(true);
    expect((error as RpcError).kind).toBe('connection-lost');
    expect(attempts).toHaveLength(1);
    const victim = attempts[0] === r0!.info.url ? r0! : r1!;
    const survivor = victim === r0 ? r1! : r0!;
    await victim.exited;
    expect(victim.alive).toBe(false);
    expect(survivor.alive).toBe(true);
    await expect(rpc.call('whoami')).resolves.toBe(survivor.info.name);
  });
});

describe('HTTP transport with the core client, in process', () => {
  it('(c) a refused connection fails over at once, without waiting for a timeout', async () => {
    const server = createServer({ methods: { whoami: () => 'alive' } });
    const listener = await server.listen(httpListener({ port: 0 }));
    try {
      const refused = `http://127.0.0.1:${await freePort()}/rpc`;
      const rpc = client([refused, listener.urls[0]!], {
        balancer: 'round-robin',
        deadlineMs: 30_000,
        heartbeat: false,
      });
      const started = Date.now();
      for (let i = 0; i < 4; i++) await expect(rpc.call('whoami')).resolves.toBe('alive');
      // No call waited for a timeout (the deadline is 30 s): a refused connection fails over at
      // once. Budget: a few ms per call; bound 1 s for the four calls, the margin for a loaded machine.
      expect(Date.now() - started).toBeLessThan(1_000);
      const dead = rpc.stats().endpoints.find((e) => e.url === refused)!;
      expect(dead.failures['not-sent']).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('a draining listener keeps its port open until close(): a new connection gets 503 -32003', async () => {
    const server = createServer({
      methods: { slow: () => sleep(400).then(() => 'done'), echo: (params: unknown) => params },
    });
    const listener = await server.listen(httpListener({ port: 0 }));
    const post = (method: string) =>
      fetch(listener.urls[0]!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method }),
      });
    const slow = post('slow');
    await waitFor(() => server.inFlight > 0, 'the slow call to run');
    const draining = server.drain({ timeoutMs: 5_000 });
    // A new connection (the slow call holds the other): refused with a status, not reset.
    const during = await post('echo');
    expect(during.status).toBe(503);
    expect(await during.json()).toMatchObject({ error: { code: -32003 } });
    expect(await (await slow).json()).toMatchObject({ id: 1, result: 'done' });
    await draining;
    const after = await post('echo').catch((error: unknown) => error);
    expect(after).toMatchObject({ cause: { code: 'ECONNREFUSED' } });
  });

  it('(e) a graceful drain loses no in-flight call', async () => {
    const make = (name: string) =>
      createServer({
        methods: {
          sleep: async ([ms]: [number]) => {
            await sleep(ms);
            return name;
          },
        },
      });
    const a = make('a');
    const b = make('b');
    const la = await a.listen(httpListener({ port: 0 }));
    const lb = await b.listen(httpListener({ port: 0 }));
    try {
      const rpc = client([la.urls[0]!, lb.urls[0]!], { heartbeat: false, balancer: 'round-robin' });
      // Non-idempotent calls: a lost one would fail rather than be retried.
      const inFlight = Array.from({ length: 20 }, () => rpc.call<string>('sleep', [400]));
      await waitFor(() => a.inFlight > 0 && b.inFlight > 0, 'calls in flight on both servers');
      const draining = a.drain({ timeoutMs: 10_000 });
      await sleep(50);
      const during = Array.from({ length: 10 }, () => rpc.call<string>('sleep', [10]));
      const results = await Promise.allSettled([...inFlight, ...during]);
      expect(
        results
          .filter((r) => r.status === 'rejected')
          .map((r) => String((r as PromiseRejectedResult).reason)),
      ).toEqual([]);
      const late = await Promise.all(during);
      expect(late.every((name) => name === 'b')).toBe(true);
      await draining;
      expect(a.inFlight).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
