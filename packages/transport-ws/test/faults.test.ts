/**
 * Crash faults against replicas in child processes (SIGKILL, SIGSTOP/SIGCONT, restart on the same
 * port) and load on one socket. Timing bounds are the claimed budget plus a stated margin.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient, type RpcClient } from '@resilient-rpc/core';
import { type ChildHandle, freePort, spawnScript, waitFor } from '@resilient-rpc/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { wsTransport } from '../src/index.js';
import { call, connect, fixture, resultOf, startServer } from './helpers.js';

type ReplicaInfo = { url: string; name: string };
const replicaScript = fixture('replica.ts');

const children: ChildHandle<ReplicaInfo>[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {});
  await Promise.all(children.splice(0).map((child) => child.kill('SIGKILL')));
});

function replica(name: string, env: Record<string, string> = {}): ChildHandle<ReplicaInfo> {
  const child = spawnScript<ReplicaInfo>(replicaScript, { env: { NAME: name, ...env } });
  children.push(child);
  return child;
}

function client(
  endpoints: string[],
  transport = wsTransport(),
  extra: Partial<Parameters<typeof createClient>[0]> = {},
): RpcClient {
  const created = createClient({ transports: [transport], endpoints, ...extra });
  cleanups.push(() => created.close());
  return created;
}

describe('faults with replicas in child processes', () => {
  it('(a) SIGKILL with 100 calls in flight: all settle at once, idempotent ones succeed elsewhere', async () => {
    const [a, b] = [replica('a'), replica('b')];
    const [infoA, infoB] = await Promise.all([a.ready, b.ready]);

    // Connection level: 100 calls on A's socket settle with connection-lost long before their deadline.
    const direct = connect(infoA.url);
    cleanups.push(() => direct.close());
    expect(resultOf(await call(direct, 'whoami'))).toBe('a');
    const started = performance.now();
    const onSocket = Array.from({ length: 100 }, () =>
      call(direct, 'slow', [20_000], { timeoutMs: 30_000 }).then(
        () => ({ kind: 'ok', at: performance.now() }),
        (error: { kind: string }) => ({ kind: error.kind, at: performance.now() }),
      ),
    );

    // Client level: idempotent calls spread over A and B; those on A are retried on B.
    const rpc = client([infoA.url, infoB.url]);
    await Promise.all([rpc.call('whoami'), rpc.call('whoami'), rpc.call('whoami'), rpc.call('whoami')]);
    const viaClient = Array.from({ length: 100 }, (_, i) =>
      rpc.call('slow', [500], { idempotent: i % 2 === 0, deadlineMs: 20_000 }).then(
        (name) => ({ ok: true as const, name, idempotent: i % 2 === 0 }),
        (error: { kind: string }) => ({ ok: false as const, kind: error.kind, idempotent: i % 2 === 0 }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const killedAt = performance.now();
    await a.kill('SIGKILL');

    const settled = await Promise.all(onSocket);
    for (const result of settled) expect(result.kind).toBe('connection-lost');
    const latest = Math.max(...settled.map((result) => result.at));
    // Claimed: they settle at once when the process dies (its socket closes), not at their 30 s
    // deadline. Budget: the kill and the close, tens of ms; bound 1 s, the margin for a loaded machine.
    expect(latest - killedAt).toBeLessThan(1_000);
    expect(latest - started).toBeLessThan(killedAt - started + 1_000);

    const outcomes = await Promise.all(viaClient);
    for (const outcome of outcomes.filter((o) => o.idempotent)) {
      expect(outcome).toMatchObject({ ok: true });
    }
    // Non-idempotent calls that were on A fail as connection-lost (maybe processed); none hang.
    for (const outcome of outcomes.filter((o) => !o.ok))
      expect(outcome).toMatchObject({ kind: 'connection-lost' });
    expect(outcomes.filter((o) => o.ok && o.name === 'b').length).toBeGreaterThan(0);
  });

  it('(b) SIGSTOP: half-open detected by heartbeat, calls routed around, back after SIGCONT', async () => {
    const [a, b] = [replica('a'), replica('b')];
    const [infoA, infoB] = await Promise.all([a.ready, b.ready]);
    const transport = wsTransport({
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 600,
      handshakeTimeoutMs: 1_000,
    });
    // The calls lost with A's socket may get A ejected (5 consecutive failures); a short ejection
    // keeps this test about coming back after SIGCONT, not about the 30 s default.
    const rpc = client([infoA.url, infoB.url], transport, { outlierDetection: { baseEjectionMs: 2_000 } });
    const seen = new Set<unknown>();
    for (let i = 0; i < 20; i++) seen.add(await rpc.call('whoami'));
    expect(seen).toEqual(new Set(['a', 'b']));

    // Observe A's connection through a second connection of the same transport settings.
    const watcher = connect(infoA.url, {
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 600,
      handshakeTimeoutMs: 1_000,
    });
    cleanups.push(() => watcher.close());
    await call(watcher, 'whoami');
    let lostAt = 0;
    watcher.onEvent((event) => {
      if (event.type === 'status' && event.status === 'reconnecting' && lostAt === 0)
        lostAt = performance.now();
    });
    const inFlight = call(watcher, 'slow', [100], { timeoutMs: 30_000 }).catch(
      (error: { kind: string }) => error,
    );

    // How late this process's timers ran while it waited (the detection is timer-driven). The
    // histogram records the time between two of its samples, `sampleMs` plus the lateness.
    const sampleMs = 10;
    const lateness = monitorEventLoopDelay({ resolution: sampleMs });
    lateness.enable();
    const stoppedAt = performance.now();
    a.stop();
    // Budget: the heartbeat interval plus its timeout, 200 + 600 ms; bound 1.5 s, a stated margin
    // of 700 ms, plus the worst event-loop delay measured meanwhile (a CI machine running every
    // package's tests at once once delayed this process's timers past the fixed margin).
    try {
      await waitFor(() => lostAt > 0, 'the watcher to detect the stopped replica', 10_000);
    } finally {
      lateness.disable();
    }
    const lateMs = Math.max(0, lateness.max / 1e6 - sampleMs);
    expect(lostAt - stoppedAt).toBeLessThan(1_500 + lateMs);
    expect(await inFlight).toMatchObject({ kind: 'connection-lost' });

    // Idempotent calls keep succeeding, served by B while A is stopped.
    const during = await Promise.all(
      Array.from({ length: 20 }, () => rpc.call('whoami', [], { idempotent: true, deadlineMs: 8_000 })),
    );
    expect(during.filter((name) => name === 'b').length).toBeGreaterThan(0);

    a.resume();
    await waitFor(() => watcher.status === 'open', 'the watcher to reconnect after SIGCONT', 15_000);
    expect(resultOf(await call(watcher, 'whoami'))).toBe('a');
    await waitFor(
      async () => (await Promise.all(Array.from({ length: 10 }, () => rpc.call('whoami')))).includes('a'),
      'the client to use A again',
      15_000,
      200,
    );
  });

  it('(c) a server restarted on the same port: the client reconnects by itself', async () => {
    const port = await freePort();
    const first = replica('first', { PORT: String(port) });
    const { url } = await first.ready;
    const connection = connect(url, { reconnectBaseMs: 50, reconnectCapMs: 500 });
    cleanups.push(() => connection.close());
    expect(resultOf(await call(connection, 'whoami'))).toBe('first');
    const statuses: string[] = [];
    connection.onEvent((event) => event.type === 'status' && statuses.push(event.status));
    await first.kill('SIGKILL');
    // A killed server's socket closes at once; bound 1 s, the margin for a loaded machine.
    await waitFor(() => connection.status === 'reconnecting', 'the drop to be noticed', 1_000);
    const second = replica('second', { PORT: String(port) });
    await second.ready;
    // No call is made: the connection comes back on its own.
    await waitFor(() => connection.status === 'open', 'the reconnect', 15_000);
    expect(statuses).toContain('reconnecting');
    expect(resultOf(await call(connection, 'whoami'))).toBe('second');
  });

  it('(e) no reconnect storm: 50 clients reconnect to a restarted server with jittered spread', async () => {
    const port = await freePort();
    const first = replica('first', { PORT: String(port) });
    const { url } = await first.ready;
    const connections = Array.from({ length: 50 }, () =>
      connect(url, { reconnectBaseMs: 100, reconnectCapMs: 2_000 }),
    );
    for (const connection of connections) cleanups.push(() => connection.close());
    await Promise.all(connections.map((connection) => call(connection, 'whoami')));
    const reopenedAt = new Map<number, number>();
    connections.forEach((connection, index) => {
      connection.onEvent((event) => {
        if (event.type === 'status' && event.status === 'open' && !reopenedAt.has(index)) {
          reopenedAt.set(index, performance.now());
        }
      });
    });
    await first.kill('SIGKILL');
    const second = replica('second', { PORT: String(port) });
    await second.ready;
    await waitFor(() => reopenedAt.size === 50, 'all 50 clients to reconnect', 20_000);
    const times = [...reopenedAt.values()].sort((x, y) => x - y);
    const spread = times[times.length - 1]! - times[0]!;
    expect(spread).toBeGreaterThan(100);
    // No 50 ms window holds most of the reconnects.
    let densest = 0;
    for (let i = 0, j = 0; j < times.length; j++) {
      while (times[j]! - times[i]! > 50) i++;
      densest = Math.max(densest, j - i + 1);
    }
    expect(densest).toBeLessThan(40);
    for (const connection of connections) expect(resultOf(await call(connection, 'whoami'))).toBe('second');
  });
});

describe('load on one socket', () => {
  it('(d) 10 000 concurrent calls on one socket are all answered correctly', async () => {
    const started = await startServer({ maxInFlightPerConnection: 10_000 });
    cleanups.push(() => started.server.close());
    const connection = connect(started.url);
    cleanups.push(() => connection.close());
    await call(connection, 'echo', [0]); // open first: the wait queue before open is bounded (1 000)
    const responses = await Promise.all(
      Array.from({ length: 10_000 }, (_, i) => call(connection, 'echo', { i }, { timeoutMs: 60_000 })),
    );
    responses.forEach((response, i) => {
      expect(response).toMatchObject({ result: { i } });
    });
  });

  it('(d) 10 000 concurrent client calls with default limits: all answered correctly', async () => {
    // The listener's default per-connection limit (1 000) answers part of the burst -32002
    // (not processed); the core client retries those, so every call still gets its own answer.
    const started = await startServer();
    cleanups.push(() => started.server.close());
    const rpc = client([started.url]);
    await rpc.call('echo', [0]);
    const results = await Promise.all(
      Array.from({ length: 10_000 }, (_, i) => rpc.call('echo', { i }, { deadlineMs: 60_000 })),
    );
    results.forEach((result, i) => {
      expect(result).toEqual({ i });
    });
  });
});
