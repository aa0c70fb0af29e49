/**
 * Evidence (issue 10): a soak through a real transport — HTTP to a server on 127.0.0.1 — with
 * faults injected on the client connections (FaultInjector). Nothing leaks: no pending call, no
 * timer (counted by a wrapping clock), no abort listener, no connection event listener, and the
 * heap after GC stays within a bound. Every call settles once (a single settlement) with a value
 * or a typed RpcError, and idempotent calls succeed at the rate this soak really achieves.
 */
import { setMaxListeners } from 'node:events';
import { createClient, createServer, RpcError, seededRandom } from '@resilient-rpc/core';
import { type FaultPlan, faultyTransport } from '@resilient-rpc/core/testing';
import { describe, expect, it } from 'vitest';
import {
  abortListeners,
  CountingClock,
  countingTransport,
  heapAfterGc,
} from '../../core/test/fixtures/evidence-soak.js';
import { httpListener, httpTransport } from '../src/index.js';

const CALLS = Number(process.env.SOAK_HTTP_CALLS ?? 10_000);
const CONCURRENCY = 32;
/** Floor of the non-idempotent success rate: the lowest of six runs was 97.9 %, less a margin of about one point. */
const COUNT_FLOOR = 0.97;

describe('evidence: soak through HTTP with injected faults', () => {
  it(`${CALLS} calls: single settlement, ≥ 99 % of idempotent calls succeed, no pending call, timer or listener left`, async () => {
    const server = createServer({
      methods: { echo: (params: unknown) => params, count: (params: unknown) => params },
    });
    const listeners = await Promise.all([0, 1].map(() => server.listen(httpListener({ port: 0 }))));
    const urls = listeners.map((listener) => listener.urls[0]!);
    const plan: FaultPlan = {
      rates: { drop: 0.002, hang: 0.002, close: 0.005, error: 0.01, delay: 0.01 },
      errorKind: 'connection-lost',
      delayMs: 20,
    };
    const clock = new CountingClock();
    const random = seededRandom(11);
    const inner = httpTransport();
    const faulty = faultyTransport(inner, (url) => (url === urls[0] ? plan : {}), clock, random);
    const transport = countingTransport(faulty);
    const client = createClient({
      transports: [transport],
      endpoints: urls,
      clock,
      random,
      // An attempt timeout well above a loaded machine's stalls: on a 2-core machine shared by
      // several test runs (load average 15-20), 200 ms and even 1 s timed out the healthy
      // in-process server too, opened both breakers, and the client then failed the remaining
      // calls fast until the breakers closed (a measurement of the machine, not of recovery).
      deadlineMs: 6_000,
      attemptTimeoutMs: 2_000,
      hedging: { delayMs: 30 },
      methods: { echo: { idempotent: true } },
    });
    const caller = new AbortController();
    setMaxListeners(0, caller.signal);
    let resolved = 0;
    const ok = { echo: 0, count: 0 };
    const made = { echo: 0, count: 0 };
    let rejected = 0;
    let untyped = 0;
    const messages = new Map<string, number>();
    let next = 0;
    const worker = async (count: number) => {
      while (next < count) {
        const i = next++;
        const method = i % 10 < 7 ? 'echo' : 'count';
        let settled = 0;
        made[method]++;
        await client.call(method, [i], { signal: caller.signal, hedge: i % 3 === 0 }).then(
          (value) => {
            settled++;
            resolved++;
            ok[method]++;
            expect(value).toEqual([i]);
          },
          (error: unknown) => {
            settled++;
            rejected++;
            if (!RpcError.isInstance(error)) untyped++;
            else {
              const key = `${method} ${error.kind}: ${error.message.slice(0, 80)}`;
              messages.set(key, (messages.get(key) ?? 0) + 1);
            }
          },
        );
        expect(settled).toBe(1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(1_000)));
    const baseline = heapAfterGc();
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(CALLS)));

    expect(resolved + rejected).toBe(CALLS);
    expect(untyped).toBe(0);
    const top = JSON.stringify([...messages].sort((x, y) => y[1] - x[1]).slice(0, 5));
    // Floors at what this soak achieves, with a small margin: the idempotent echo calls are
    // retried, failed over and hedged past the faults on one of the two servers (measured on a
    // loaded 2-core machine, load average 13-21, six runs: echo 99.9-100 %, count 97.9-99.8 %).
    expect(ok.echo / made.echo, top).toBeGreaterThanOrEqual(0.99);
    expect(ok.count / made.count, top).toBeGreaterThanOrEqual(COUNT_FLOOR);
    const injector = faulty.injectors.get(urls[0]!)!;
    expect(
      injector.counts.drop + injector.counts.hang + injector.counts.close + injector.counts.error,
    ).toBeGreaterThan(0);
    const stats = client.stats();
    expect(stats.inFlight).toBe(0);
    expect(stats.calls).toBe(CALLS);
    expect(abortListeners(caller.signal)).toBe(0);
    expect(transport.eventListeners()).toBe(2);
    const grown = heapAfterGc() - baseline;
    expect(grown, `heap grew by ${Math.round(grown / 1024)} KiB`).toBeLessThan(16 * 1024 * 1024);

    await client.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(clock.live, `${clock.live} timers left after close`).toBe(0);
    expect(transport.eventListeners()).toBe(0);
    await server.close();
    expect(server.inFlight).toBe(0);
  }, 180_000); // a test timeout for 10 000 calls on a loaded machine, not a claim
});
