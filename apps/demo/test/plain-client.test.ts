/**
 * The baseline's plain client: round-robin over every endpoint, a dead one included; one attempt
 * per call; no retry, failover, hedge or rescue; its counts come from its events.
 */
import { createServer } from '@resilient-rpc/core';
import { MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { describe, expect, it } from 'vitest';
import { PlainClient } from '../src/plain-client.js';

describe('plain client (the demo baseline)', () => {
  it('keeps sending every other call to a dead endpoint and never retries, fails over or hedges', async () => {
    const network = new MemoryNetwork();
    const server = createServer({ methods: { echo: { handler: (params: unknown) => params } } });
    const live = await server.listen(network.listener('live'));
    const dead = await server.listen(network.listener('dead'));
    const deadUrl = dead.urls[0]!;
    const client = new PlainClient({
      transports: [memoryTransport(network)],
      endpoints: [live.urls[0]!, deadUrl],
      deadlineMs: 1_000,
      seed: 1,
    });
    const counts = { retry: 0, failover: 0, hedge: 0, call: 0 };
    const callIds = new Set<number>();
    const offs = [
      client.on('retry', () => counts.retry++),
      client.on('failover', () => counts.failover++),
      client.on('hedge', () => counts.hedge++),
      client.on('call', (event) => {
        counts.call++;
        callIds.add(event.callId);
      }),
    ];
    await dead.close(); // the replica dies; its connection state says so
    const routed: string[] = [];
    let failed = 0;
    for (let i = 0; i < 20; i++) {
      const call = client.route('echo', [i], { idempotent: true });
      routed.push(call.endpoint);
      await call.result.catch(() => failed++);
    }
    for (const off of offs) off();
    await client.close();
    await live.close();
    // Strict alternation, the dead endpoint included, and each of its calls fails: no health
    // steers calls away, and nothing retries them.
    expect(routed.filter((url) => url === deadUrl)).toHaveLength(10);
    expect(routed.every((url, i) => (url === deadUrl) === (i % 2 === 1))).toBe(true);
    expect(failed).toBe(10);
    expect(counts).toEqual({ retry: 0, failover: 0, hedge: 0, call: 20 });
    expect(callIds.size).toBe(20); // ids are unique across the per-endpoint clients
  });
});
