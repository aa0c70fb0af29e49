import { createClient, createServer, type RpcClient } from '@resilient-rpc/core';
import { type Fault, faultyTransport, MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentClient } from '../src/index.js';
import { telemetry } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two memory endpoints; each consumes its own fault script, one fault per attempt. */
async function setup(scripts: [Array<Fault | undefined>, Array<Fault | undefined>], clientOptions = {}) {
  const otel = telemetry();
  cleanups.push(() => otel.shutdown());
  const network = new MemoryNetwork();
  const urls: string[] = [];
  for (const index of [0, 1]) {
    const server = createServer({ methods: { work: () => index } });
    cleanups.push(() => server.close());
    urls.push((await server.listen(network.listener(`metrics-${index}-${Math.random()}`))).urls[0]!);
  }
  const transport = faultyTransport(memoryTransport(network), (url) => ({
    script: [...scripts[urls.indexOf(url)]!],
  }));
  const client: RpcClient = instrumentClient(
    createClient({
      transports: [transport],
      endpoints: urls,
      heartbeat: false,
      circuitBreaker: false,
      outlierDetection: false,
      balancer: 'round-robin',
      retry: { maxAttempts: 3, baseMs: 0 },
      methods: { work: { idempotent: true } },
      ...clientOptions,
    }),
    { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
  );
  cleanups.push(() => client.close());
  return { otel, client, urls };
}

const lost: Fault = { type: 'error', kind: 'connection-lost' };
const refused: Fault = { type: 'error', kind: 'not-sent' };

describe('client metrics count a scripted sequence of faults exactly', () => {
  it('calls, attempts, retries, failovers, give-ups and durations', async () => {
    // Endpoint 0 loses its first two attempts; endpoint 1 refuses its first.
    const { otel, client, urls } = await setup([[lost, lost], [refused]]);
    const attemptsSeen: string[] = [];
    client.on('attempt', (event) => attemptsSeen.push(`${urls.indexOf(event.endpoint)}`));
    // Call 1: 0 lost → retry on 1 (failover) refused → retry on 0 (failover) lost → gives up.
    await expect(client.call('work')).rejects.toMatchObject({ kind: 'connection-lost' });
    // Call 2: answered by the next endpoint at once.
    expect(await client.call('work')).toBeTypeOf('number');
    expect(attemptsSeen).toHaveLength(4);

    const method = { 'rpc.method': 'work' };
    expect(await otel.sum('rpc.client.calls', method)).toBe(2);
    expect(await otel.sum('rpc.client.calls', { ...method, 'resilient_rpc.outcome': 'ok' })).toBe(1);
    expect(
      await otel.sum('rpc.client.calls', { ...method, 'resilient_rpc.outcome': 'connection-lost' }),
    ).toBe(1);
    expect(await otel.sum('rpc.client.attempts', method)).toBe(4);
    expect(await otel.sum('rpc.client.attempts', { 'resilient_rpc.outcome': 'connection-lost' })).toBe(2);
    expect(await otel.sum('rpc.client.attempts', { 'resilient_rpc.outcome': 'not-sent' })).toBe(1);
    expect(await otel.sum('rpc.client.attempts', { 'resilient_rpc.outcome': 'success' })).toBe(1);
    expect(
      await otel.sum('rpc.client.attempts', {
        'resilient_rpc.endpoint': urls[0],
        'resilient_rpc.outcome': 'connection-lost',
      }),
    ).toBe(2);
    expect(await otel.sum('rpc.client.retries', method)).toBe(2);
    expect(await otel.sum('rpc.client.retries', { 'error.type': 'connection-lost' })).toBe(1);
    expect(await otel.sum('rpc.client.retries', { 'error.type': 'not-sent' })).toBe(1);
    expect(await otel.sum('rpc.client.failovers', method)).toBe(2);
    expect(await otel.sum('rpc.client.give_ups', { ...method, 'error.type': 'connection-lost' })).toBe(1);
    expect(await otel.sum('rpc.client.hedges')).toBe(0);
    expect(await otel.sum('rpc.client.budget_refusals')).toBe(0);
    const callDurations = await otel.points('rpc.client.call.duration');
    expect(callDurations.reduce((total, point) => total + (point.value as { count: number }).count, 0)).toBe(
      2,
    );
    const attemptDurations = await otel.points('rpc.client.attempt.duration');
    expect(
      attemptDurations.reduce((total, point) => total + (point.value as { count: number }).count, 0),
    ).toBe(4);

    // Two call spans, four attempt spans; the failed call's span has the retries and failovers as events.
    const spans = otel.spans();
    expect(spans.filter((span) => span.name === 'work')).toHaveLength(2);
    expect(spans.filter((span) => span.name === 'work attempt')).toHaveLength(4);
    const failed = spans.find(
      (span) => span.name === 'work' && span.attributes['error.type'] === 'connection-lost',
    )!;
    expect(failed.events.map((event) => event.name)).toEqual([
      'retry',
      'failover',
      'retry',
      'failover',
      'give-up',
      'exception',
    ]);
  });

  it('budget refusals', async () => {
    const { otel, client } = await setup([[lost], [lost]], {
      retryBudget: { ratio: 0, minRetriesPerSecond: 0 },
    });
    await expect(client.call('work')).rejects.toMatchObject({ kind: 'connection-lost' });
    expect(await otel.sum('rpc.client.budget_refusals', { 'rpc.method': 'work' })).toBe(1);
    expect(await otel.sum('rpc.client.retries')).toBe(0);
    expect(await otel.sum('rpc.client.attempts')).toBe(1);
  });

  it('hedges', async () => {
    const { otel, client } = await setup([[{ type: 'delay', ms: 200 }], []], {
      hedging: { delayMs: 10, minDelayMs: 0, maxHedges: 1 },
      methods: { work: { idempotent: true, hedge: true } },
    });
    expect(await client.call('work')).toBe(1);
    expect(await otel.sum('rpc.client.hedges', { 'rpc.method': 'work' })).toBe(1);
    expect(await otel.sum('rpc.client.calls', { 'resilient_rpc.outcome': 'ok' })).toBe(1);
    const call = otel.spans().find((span) => span.name === 'work')!;
    expect(call.events.map((event) => event.name)).toEqual(['hedge']);
  });

  it('endpoint health and breaker states as gauges', async () => {
    const { otel, urls } = await setup([[], []], { circuitBreaker: {} });
    const states = await otel.points('rpc.client.endpoint.state');
    const healthy = states.filter((point) => point.attributes['resilient_rpc.state'] === 'healthy');
    expect(healthy.map((point) => [point.attributes['resilient_rpc.endpoint'], point.value]).sort()).toEqual(
      urls.map((url) => [url, 1]).sort(),
    );
    expect(states.filter((point) => point.value === 1)).toHaveLength(2);
    const breakers = await otel.points('rpc.client.endpoint.breaker');
    expect(
      breakers.filter((point) => point.value === 1).map((point) => point.attributes['resilient_rpc.state']),
    ).toEqual(['closed', 'closed']);
    expect((await otel.points('rpc.client.in_flight'))[0]?.value).toBe(0);
  });
});
