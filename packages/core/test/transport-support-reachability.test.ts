import { Reachability } from '@resilient-rpc/core/transport';
import { describe, expect, it } from 'vitest';
import { type ConnectionEvent, RpcError } from '../src/index.js';
import { ManualClock } from '../src/testing/manual-clock.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(answers: boolean[]) {
  const clock = new ManualClock();
  const probes: number[] = [];
  const timeouts: number[] = [];
  const reachability = new Reachability({
    clock,
    probe: (timeoutMs) => {
      probes.push(clock.now());
      timeouts.push(timeoutMs);
      return answers.shift() === true ? Promise.resolve() : Promise.reject(new Error('refused'));
    },
    probeMinMs: 100,
    probeMaxMs: 300,
  });
  const seen: ConnectionEvent[] = [];
  reachability.onEvent((event) => seen.push(event));
  return { clock, probes, timeouts, reachability, seen };
}

describe('Reachability', () => {
  it('is open until unreachable, then probes with backoff (capped) until a probe answers', async () => {
    const { clock, probes, timeouts, reachability, seen } = setup([false, false, false, true]);
    expect(reachability.status).toBe('open');
    const error = new RpcError('not-sent', 'refused');
    reachability.unreachable(error);
    reachability.unreachable(error); // reported once
    expect(reachability.status).toBe('reconnecting');
    for (const step of [100, 200, 300, 300, 300]) {
      clock.advance(step);
      await flush();
    }
    // 100, then 200, then 300 (capped), then 300 more: the fourth probe answers.
    expect(probes).toEqual([100, 300, 600, 900]);
    // Each probe may take at most the longest pause (probeMaxMs).
    expect(timeouts).toEqual([300, 300, 300, 300]);
    expect(reachability.status).toBe('open');
    expect(seen).toEqual([
      { type: 'status', status: 'reconnecting', error },
      { type: 'status', status: 'open' },
    ]);
  });

  it('gives each probe the default longest pause (5 s) as its timeout', async () => {
    const clock = new ManualClock();
    const timeouts: number[] = [];
    const reachability = new Reachability({
      clock,
      probe: async (timeoutMs) => {
        timeouts.push(timeoutMs);
      },
    });
    reachability.unreachable(new RpcError('not-sent', 'refused'));
    clock.advance(250);
    await flush();
    expect(timeouts).toEqual([5_000]);
    expect(reachability.status).toBe('open');
  });

  it('an answer reopens it and resets the backoff; close stops the probes and reports once', async () => {
    const { clock, probes, reachability, seen } = setup([false, false]);
    reachability.unreachable(new RpcError('not-sent', 'refused'));
    clock.advance(100);
    await flush();
    reachability.answered();
    expect(reachability.status).toBe('open');
    reachability.unreachable(new RpcError('not-sent', 'refused'));
    clock.advance(200); // the probe scheduled after the failed one still runs
    await flush();
    expect(probes).toEqual([100, 300]);
    reachability.answered();
    reachability.unreachable(new RpcError('not-sent', 'refused'));
    expect(reachability.close()).toBe(true);
    expect(reachability.close()).toBe(false);
    clock.advance(1_000);
    await flush();
    expect(probes).toEqual([100, 300]);
    expect(seen.map((event) => (event.type === 'status' ? event.status : event.type))).toEqual([
      'reconnecting',
      'open',
      'reconnecting',
      'open',
      'reconnecting',
      'closed',
    ]);
    reachability.unreachable(new RpcError('not-sent', 'refused'));
    expect(reachability.status).toBe('closed');
  });
});
