/**
 * Evidence (issue 10): a soak of 100 000 calls through the in-memory transport with faults
 * injected (FaultInjector: lost requests, hung answers, closed connections, errors, delays), every
 * policy on, hedging for part of the calls. Afterwards nothing leaks: no pending call
 * (`stats().inFlight` 0), no timer (counted by a wrapping clock), no abort listener on the caller's
 * signal, no connection event listener, and the heap after GC stays within a bound.
 * Every call settles once (a single settlement), every failure is a typed RpcError, and the
 * idempotent calls succeed at the rate this soak really achieves (a floor with a small margin).
 */
import { setMaxListeners } from 'node:events';
import { createClient, createServer, RpcError, seededRandom } from '@resilient-rpc/core';
import { type FaultPlan, faultyTransport, MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { describe, expect, it } from 'vitest';
import { abortListeners, CountingClock, countingTransport, heapAfterGc } from './fixtures/evidence-soak.js';

const CALLS = Number(process.env.SOAK_CALLS ?? 100_000);
const CONCURRENCY = 200;
/** Floor of the non-idempotent success rate: measured 99.1 %, less a margin of about one point. */
const COUNT_FLOOR = 0.98;

const plans: Record<string, FaultPlan> = {
  'memory://a': {
    rates: { drop: 0.002, hang: 0.002, close: 0.01, error: 0.02, delay: 0.02 },
    errorKind: 'connection-lost',
    delayMs: 30,
  },
  'memory://b': { rates: { error: 0.01, delay: 0.01 }, errorKind: 'not-sent', delayMs: 20 },
  'memory://c': { rates: { error: 0.002 }, errorKind: 'rejected' },
};

describe('evidence: soak through the in-memory transport with injected faults', () => {
  it(`${CALLS} calls: single settlement, ≥ 99 % of idempotent calls succeed, no pending call, timer or listener left`, async () => {
    const clock = new CountingClock();
    const random = seededRandom(10);
    const network = new MemoryNetwork();
    const server = createServer({
      methods: { echo: (params: unknown) => params, count: (params: unknown) => params },
    });
    for (const name of ['a', 'b', 'c']) await server.listen(network.listener(name));
    const faulty = faultyTransport(memoryTransport(network), (url) => plans[url] ?? {}, clock, random);
    const transport = countingTransport(faulty);
    const client = createClient({
      transports: [transport],
      endpoints: Object.keys(plans),
      clock,
      random,
      deadlineMs: 400,
      attemptTimeoutMs: 80,
      // Ejection would take `a` out for 30 s and hide its faults; keep it in the rotation.
      outlierDetection: { consecutiveFailures: 1_000_000 } as never,
      hedging: { delayMs: 15 },
      methods: { echo: { idempotent: true } },
    });
    const caller = new AbortController();
    setMaxListeners(0, caller.signal); // one signal shared by the 200 concurrent calls
    let resolved = 0;
    let echoOk = 0;
    let echoCalls = 0;
    let countOk = 0;
    let countCalls = 0;
    const messages = new Map<string, number>();
    let rejected = 0;
    let untyped = 0;
    let maxLiveTimers = 0;
    const kinds: Record<string, number> = {};

    const one = (i: number) => {
      const method = i % 10 < 7 ? 'echo' : 'count';
      const hedge = method === 'echo' && i % 3 === 0;
      let settled = 0;
      if (method === 'echo') echoCalls++;
      else countCalls++;
      return client.call(method, [i], { signal: caller.signal, hedge }).then(
        (value) => {
          settled++;
          resolved++;
          if (method === 'echo') echoOk++;
          else countOk++;
          expect(value).toEqual([i]);
          expect(settled).toBe(1);
        },
        (error: unknown) => {
          settled++;
          rejected++;
          if (!RpcError.isInstance(error)) untyped++;
          else {
            kinds[error.kind] = (kinds[error.kind] ?? 0) + 1;
            const key = `${method} ${error.kind}: ${error.message.slice(0, 90)}`;
            messages.set(key, (messages.get(key) ?? 0) + 1);
          }
          expect(settled).toBe(1);
        },
      );
    };

    let next = 0;
    const worker = async (count: number) => {
      while (next < count) {
        await one(next++);
        if (next % 1_000 === 0) maxLiveTimers = Math.max(maxLiveTimers, clock.live);
      }
    };
    // Warm up, then take the heap baseline.
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(5_000)));
    const baseline = heapAfterGc();
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(CALLS)));

    expect(resolved + rejected).toBe(CALLS);
    expect(untyped).toBe(0);
    // Faults were really injected, and most calls still succeeded.
    const injected = [...faulty.injectors.values()].reduce(
      (sum, injector) =>
        sum + injector.counts.drop + injector.counts.hang + injector.counts.close + injector.counts.error,
      0,
    );
    expect(injected).toBeGreaterThan(CALLS / 500);
    // Success floors at what this soak achieves, with a small margin (measured on a loaded
    // 2-core machine: idempotent echo 99.45 %, non-idempotent count 99.1 %). The
    // idempotent calls are retried, failed over and hedged past the faults: ≥ 99 %. The
    // non-idempotent ones may only be retried when the attempt provably was not sent.
    const top = JSON.stringify([...messages].sort((x, y) => y[1] - x[1]).slice(0, 4));
    expect(echoOk / echoCalls, top).toBeGreaterThanOrEqual(0.99);
    expect(countOk / countCalls, top).toBeGreaterThanOrEqual(COUNT_FLOOR);

    const stats = client.stats();
    expect(stats.inFlight).toBe(0);
    expect(stats.calls).toBe(CALLS);
    for (const endpoint of stats.endpoints) expect(endpoint.inFlight).toBe(0);
    expect(abortListeners(caller.signal)).toBe(0);
    expect(transport.eventListeners()).toBe(3);
    // Live timers stay bounded by the calls in flight (deadline, attempt timeout, hedge, backoff).
    expect(maxLiveTimers).toBeLessThan(CONCURRENCY * 5);

    const grown = heapAfterGc() - baseline;
    expect(grown, `heap grew by ${Math.round(grown / 1024)} KiB`).toBeLessThan(16 * 1024 * 1024);

    await client.close();
    await new Promise((resolve) => setTimeout(resolve, 150)); // hung faults' abort handlers, drops
    expect(clock.live, `${clock.live} timers left after close`).toBe(0);
    expect(transport.eventListeners()).toBe(0);
    await server.close();
    expect(server.inFlight).toBe(0);
  }, 120_000); // a test timeout for 100 000 calls on a loaded machine, not a claim
});
