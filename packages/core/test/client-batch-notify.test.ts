import {
  type ClientTransport,
  createClient,
  createServer,
  type RpcServer,
  seededRandom,
  type WireMetadata,
} from '@resilient-rpc/core';
import { faultyTransport, ManualClock, MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { hasOwnProfileOption, OWN_PROFILE_OPTIONS } from '../src/client/create-client.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/**
 * Two replicas; the first refuses every request (not-sent) when `refuseFirst`; with
 * `refuseOnce`, each refuses its first request only.
 */
async function pair(refuseFirst: boolean, clientOptions: Record<string, unknown> = {}, refuseOnce = false) {
  const clock = new ManualClock(1_000);
  const network = new MemoryNetwork(clock);
  const servers: RpcServer[] = [];
  const urls: string[] = [];
  const seen: WireMetadata[] = [];
  for (const index of [0, 1]) {
    const server = createServer({ clock, methods: { work: () => index, log: () => undefined } });
    servers.push(server);
    urls.push((await server.listen(network.listener(`bn-${index}-${Math.random()}`))).urls[0]!);
  }
  const inner = faultyTransport(
    memoryTransport(network),
    (url) =>
      refuseOnce
        ? { script: [{ type: 'error', kind: 'not-sent' }] }
        : refuseFirst && url === urls[0]
          ? { rates: { error: 1 }, errorKind: 'not-sent' }
          : {},
    clock,
    seededRandom(3),
  );
  const transport = {
    ...inner,
    connect(url: string, options: Parameters<typeof inner.connect>[1]) {
      const connection = inner.connect(url, options);
      const send = connection.send.bind(connection);
      const sendBatch = connection.sendBatch?.bind(connection);
      return Object.assign(Object.create(connection), {
        send: (request: never, sendOptions: { metadata: WireMetadata }) => {
          seen.push({ ...sendOptions.metadata });
          return send(request, sendOptions as never);
        },
        sendBatch: (requests: never, sendOptions: { metadata: WireMetadata }) => {
          seen.push({ ...sendOptions.metadata });
          return sendBatch!(requests, sendOptions as never);
        },
      });
    },
  };
  const client = createClient({
    transports: [transport],
    endpoints: urls,
    clock,
    heartbeat: false,
    balancer: 'round-robin',
    ...clientOptions,
  });
  cleanups.push(async () => {
    await client.close();
    for (const server of servers) await server.close();
  });
  return { clock, client, urls, seen };
}

describe('shared call profiles', () => {
  it('every option that gives a call a profile of its own is checked, alone or beside idempotent', () => {
    for (const option of OWN_PROFILE_OPTIONS) {
      expect(hasOwnProfileOption({ [option]: 1 }), option).toBe(true);
      expect(hasOwnProfileOption({ idempotent: true, [option]: 'x' }), option).toBe(true);
    }
    expect(hasOwnProfileOption({})).toBe(false);
    expect(hasOwnProfileOption({ idempotent: true })).toBe(false);
    expect(hasOwnProfileOption({ deadlineMs: undefined, idempotent: false })).toBe(false);
    // Read like any property: an inherited option counts too.
    expect(hasOwnProfileOption(Object.create({ traceId: 't' }))).toBe(true);
  });

  it('calls of one method with { idempotent } alone, with other options or none each send their own metadata', async () => {
    const { client, seen } = await pair(false, { deadlineMs: 5_000 });
    const sent = async (options?: Record<string, unknown>) => {
      await client.call('work', [], options);
      const { idempotent, deadlineMs } = seen.at(-1)!;
      return { idempotent, deadlineMs };
    };
    for (let round = 0; round < 2; round++) {
      expect(await sent({ idempotent: true })).toEqual({ idempotent: true, deadlineMs: 5_000 });
      expect(await sent()).toEqual({ idempotent: undefined, deadlineMs: 5_000 });
      expect(await sent({ idempotent: false })).toEqual({ idempotent: undefined, deadlineMs: 5_000 });
      expect(await sent({ idempotent: true, deadlineMs: 700 })).toEqual({
        idempotent: true,
        deadlineMs: 700,
      });
      expect(await sent({ idempotent: true })).toEqual({ idempotent: true, deadlineMs: 5_000 });
      expect(await sent({})).toEqual({ idempotent: undefined, deadlineMs: 5_000 });
    }
  });
});

describe('batch and notify go through the same policies as call', () => {
  it('a batch that fails over feeds the endpoint health (the refusing endpoint goes down) and counts as a call', async () => {
    const { client, urls } = await pair(true);
    const states: string[] = [];
    client.on('endpoint-state', (event) => states.push(`${event.endpoint}:${event.to}`));
    const results = await client.batch([{ method: 'work' }, { method: 'work' }]);
    expect(results).toEqual([
      { ok: true, result: 1 },
      { ok: true, result: 1 },
    ]);
    expect(states).toContain(`${urls[0]}:down`);
    const stats = client.stats();
    expect(stats.calls).toBe(1);
    expect(stats.failovers).toBe(1);
    expect(stats.endpoints.find((endpoint) => endpoint.url === urls[0])!.failures['not-sent']).toBe(1);
  });

  it('a notification that fails over feeds the endpoint health too', async () => {
    const { client, urls } = await pair(true);
    const states: string[] = [];
    client.on('endpoint-state', (event) => states.push(`${event.endpoint}:${event.to}`));
    await client.notify('log', ['x']);
    expect(states).toContain(`${urls[0]}:down`);
    expect(client.stats().endpoints.find((endpoint) => endpoint.url === urls[1])!.successes).toBe(1);
  });

  it('skips an endpoint whose breaker is open, for a batch as for a call', async () => {
    const { client, urls } = await pair(true, {
      circuitBreaker: { consecutiveFailures: 1 },
      outlierDetection: false,
    });
    await client.call('work', [], { idempotent: true });
    expect(client.stats().endpoints.find((endpoint) => endpoint.url === urls[0])!.breaker).toBe('open');
    const attempts: string[] = [];
    client.on('attempt', (event) => attempts.push(event.endpoint));
    await client.batch([{ method: 'work' }]);
    expect(attempts).toEqual([urls[1]]);
  });

  it('counts a batch in flight on its endpoint (the per-endpoint limit applies)', async () => {
    const { client } = await pair(false, { bulkhead: { maxInFlightPerEndpoint: 1 } });
    const first = client.batch([{ method: 'work' }]);
    const inFlight = client.stats().endpoints.map((endpoint) => endpoint.inFlight);
    expect(inFlight.reduce((a, b) => a + b, 0)).toBe(1);
    await first;
  });

  it('sends the time left, not the full deadline, with every retry', async () => {
    // Both refuse their first request: the third attempt has no alternative, so it backs off 200 ms.
    const { client, clock, seen } = await pair(
      false,
      { retry: { baseMs: 200, capMs: 200, jitter: 'none' } },
      true,
    );
    const pending = client.batch([{ method: 'work' }], { deadlineMs: 5_000 });
    await clock.advanceAsync(1_000, 10);
    await pending;
    const deadlines = seen.map((metadata) => metadata.deadlineMs!);
    expect(deadlines).toHaveLength(3);
    expect(deadlines[0]).toBe(5_000);
    expect(deadlines[2]).toBeLessThanOrEqual(4_800);
  });
});

describe('a batch answered by one error without an id', () => {
  // What a server sends when it cannot read a batch (too large, not JSON). Transports pass it alone
  // or in a list; either way every request gets it, and the call settles at once.
  for (const form of ['alone', 'in a list'] as const) {
    it(`fails every entry with that error (passed ${form})`, async () => {
      const refusal = {
        jsonrpc: '2.0' as const,
        id: null,
        error: { code: -32006, message: 'message too large', data: { maxMessageBytes: 10 } },
      };
      const transport: ClientTransport = {
        name: 'refusing',
        schemes: ['refusing'],
        connect: (url) => ({
          url,
          capabilities: { batch: true, ping: false, persistentConnection: false },
          status: 'open',
          send: () => Promise.resolve(refusal),
          sendBatch: () => Promise.resolve((form === 'alone' ? refusal : [refusal]) as never),
          onEvent: () => () => {},
          close: async () => {},
        }),
      };
      const client = createClient({ transports: [transport], endpoints: ['refusing://a'], heartbeat: false });
      cleanups.push(() => client.close());
      const results = await client.batch([
        { method: 'a' },
        { method: 'b', notification: true },
        { method: 'c' },
      ]);
      expect(
        results.map((result) => (result.ok ? 'ok' : `${result.error.kind} ${result.error.code}`)),
      ).toEqual(['remote -32006', 'ok', 'remote -32006']);
    });
  }
});
