/**
 * Hostile clients (issue 14): limits that an attacker must not get around on one connection —
 * the in-flight limits with an async `authenticate` hook (counted before the await), and
 * oversize batches answered -32007 BatchTooLarge (not -32002 Overloaded, which invites a retry).
 */
import { createServer, type MethodTable, type ServerOptions } from '@resilient-rpc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type WsListenerOptions, wsListener } from '../src/index.js';
import { RawClient } from './raw-client.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A server whose `slow` method records how many of it run at once. */
async function start(serverOptions: ServerOptions, listenerOptions: WsListenerOptions = {}) {
  const stats = { running: 0, peak: 0, ran: 0 };
  const methods: MethodTable = {
    echo: (params: unknown) => params,
    slow: async ([ms]: [number]) => {
      stats.running++;
      stats.ran++;
      stats.peak = Math.max(stats.peak, stats.running);
      await new Promise((resolve) => setTimeout(resolve, ms));
      stats.running--;
      return ms;
    },
  };
  const server = createServer({ methods, ...serverOptions });
  cleanups.push(() => server.close());
  const listener = await server.listen(wsListener({ port: 0, ...listenerOptions }));
  const client = await RawClient.open(listener.urls[0]!);
  cleanups.push(() => client.close());
  return { server, listener, client, stats };
}

/** An authenticate hook that takes a while, like a token lookup. */
const slowAuthenticate: ServerOptions['authenticate'] = async () => {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return { user: 'alice' };
};

async function collect(client: RawClient, count: number): Promise<any[]> {
  const messages: any[] = [];
  for (let index = 0; index < count; index++) messages.push(await client.next(10_000));
  return messages;
}

describe('in-flight limits with an async authenticate hook', () => {
  it('server maxInFlight 100: of 900 slow calls on one connection at most 100 run, the rest get -32002', async () => {
    const { client, stats } = await start({ authenticate: slowAuthenticate, maxInFlight: 100 });
    for (let id = 1; id <= 900; id++)
      client.send(JSON.stringify({ jsonrpc: '2.0', method: 'slow', params: [200], id }));
    const answers = await collect(client, 900);
    const ok = answers.filter((answer) => 'result' in answer);
    const overloaded = answers.filter((answer) => answer.error?.code === -32002);
    expect(stats.peak).toBeLessThanOrEqual(100);
    expect(ok.length).toBe(stats.ran);
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length + overloaded.length).toBe(900);
  });

  it('maxInFlightPerConnection 100: the same holds per connection', async () => {
    const { client, stats } = await start(
      { authenticate: slowAuthenticate },
      { maxInFlightPerConnection: 100 },
    );
    for (let id = 1; id <= 900; id++)
      client.send(JSON.stringify({ jsonrpc: '2.0', method: 'slow', params: [200], id }));
    const answers = await collect(client, 900);
    const overloaded = answers.filter((answer) => answer.error?.code === -32002);
    expect(stats.peak).toBeLessThanOrEqual(100);
    expect(answers.length - overloaded.length).toBe(stats.ran);
    expect(overloaded.length).toBeGreaterThanOrEqual(800);
  });

  it('a batch counts each entry before the hook runs', async () => {
    const { client, stats } = await start({ authenticate: slowAuthenticate, maxInFlight: 10 });
    const batch = (base: number) =>
      Array.from({ length: 8 }, (_, index) => ({
        jsonrpc: '2.0',
        method: 'slow',
        params: [200],
        id: base + index,
      }));
    client.send(JSON.stringify(batch(0)));
    client.send(JSON.stringify(batch(100)));
    const answers = (await collect(client, 2)).flat();
    expect(answers).toHaveLength(16);
    expect(stats.peak).toBeLessThanOrEqual(10);
    expect(answers.filter((answer) => answer.error?.code === -32002)).toHaveLength(6);
  });
});

describe('oversize batches', () => {
  it('a batch over maxBatchSize is answered -32007 for every entry, even past the in-flight limit', async () => {
    const { client, stats } = await start({ maxBatchSize: 100 }, { maxInFlightPerConnection: 1_000 });
    const batch = Array.from({ length: 1_500 }, (_, id) => ({
      jsonrpc: '2.0',
      method: 'slow',
      params: [1],
      id,
    }));
    const answers = await client.request(batch);
    expect(answers).toHaveLength(1_500);
    for (const answer of answers) expect(answer.error.code).toBe(-32007);
    expect(stats.ran).toBe(0);
    expect(await client.request({ jsonrpc: '2.0', method: 'echo', params: [1], id: 'after' })).toMatchObject({
      id: 'after',
      result: [1],
    });
  });

  it('a batch over maxBatchSize but under the in-flight limit is -32007 as well', async () => {
    const { client } = await start({ maxBatchSize: 3 }, { maxInFlightPerConnection: 2 });
    const batch = [1, 2, 3, 4].map((id) => ({ jsonrpc: '2.0', method: 'echo', params: [id], id }));
    const answers = await client.request(batch);
    expect(answers.map((answer: any) => answer.error.code)).toEqual([-32007, -32007, -32007, -32007]);
  });
});
