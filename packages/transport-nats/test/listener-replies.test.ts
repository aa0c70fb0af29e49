/**
 * When the listener writes replies: an answer ready at once (a synchronous handler) is published
 * in the call that delivered the request; a lone request's reply goes out in the turn its
 * handler returns (no event-loop turn waited); while other requests are still running, a ready
 * reply still goes out at the end of its turn, not when the slow ones finish.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createServer, type RpcServer } from '@resilient-rpc/core';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsListener } from '../src/index.js';
import { FramePublisher } from '../src/publish.js';

const SUBJECT = 'replies.order';
const encoder = new TextEncoder();
const call = (method: string, params: unknown[] = []) =>
  encoder.encode(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));

describe('NATS listener replies', () => {
  let broker: NatsServerHandle;
  let server: RpcServer;
  let serverConnection: NatsConnection;
  let client: NatsConnection;
  const order: string[] = [];
  const frame = FramePublisher.prototype.frame;

  beforeAll(async () => {
    broker = await startNatsServer();
    serverConnection = await connect({ servers: broker.url });
    // The listener's replies, noted as it publishes them (src/publish.ts queues them for nats.js).
    FramePublisher.prototype.frame = function (this: FramePublisher, subject, reply, body) {
      if (subject.startsWith('_INBOX.')) order.push('reply');
      frame.call(this, subject, reply, body);
    };
    server = createServer({
      methods: {
        // Notes the next event-loop turn (the check phase where a setImmediate flush would run).
        tick: () => {
          setImmediate(() => order.push('next turn'));
          return 'ok';
        },
        // Notes the microtasks that follow the handler (where a promise's reply would go out).
        now: () => {
          queueMicrotask(() => order.push('microtask'));
          return 'now';
        },
        later: async () => {
          queueMicrotask(() => order.push('microtask'));
          return 'later';
        },
        slow: ([ms]: [number]) => new Promise((resolve) => setTimeout(() => resolve('slow'), ms)),
        fast: () => 'fast',
      },
    });
    await server.listen(natsListener({ connection: serverConnection, subject: SUBJECT, service: false }));
    client = await connect({ servers: broker.url });
  });

  afterAll(async () => {
    FramePublisher.prototype.frame = frame;
    await client?.close();
    await server?.close();
    await serverConnection?.close();
    await broker?.kill();
  });

  it('answers a lone request in the turn its handler returns', async () => {
    order.length = 0;
    const reply = await client.request(SUBJECT, call('tick'), { timeout: 5_000 });
    expect(reply.json()).toMatchObject({ result: 'ok' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['reply', 'next turn']);
  });

  it('publishes a synchronous answer at once, an async one after its promise', async () => {
    order.length = 0;
    const now = await client.request(SUBJECT, call('now'), { timeout: 5_000 });
    expect(now.json()).toMatchObject({ result: 'now' });
    expect(order).toEqual(['reply', 'microtask']);
    order.length = 0;
    const later = await client.request(SUBJECT, call('later'), { timeout: 5_000 });
    expect(later.json()).toMatchObject({ result: 'later' });
    expect(order).toEqual(['microtask', 'reply']);
  });

  it('answers a quick request while a slow one is still running', async () => {
    const slow = client.request(SUBJECT, call('slow', [1_000]), { timeout: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the slow one is in flight
    const started = performance.now();
    const fast = await client.request(SUBJECT, call('fast'), { timeout: 5_000 });
    expect(fast.json()).toMatchObject({ result: 'fast' });
    // Claimed: within a round trip and a turn; bound 500 ms (margin for a loaded machine), well
    // under the 950 ms the slow request still has to run.
    expect(performance.now() - started).toBeLessThan(500);
    expect((await slow).json()).toMatchObject({ result: 'slow' });
  });
});
