/**
 * The client reuses the reply token (subject `<inbox>.<token>`) of an answered request for a later
 * one, so that the broker sees a few reply subjects again and again. A reused token must never
 * hand a request an answer meant for another: observed with bare nats.js responders.
 */

import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { createClient } from '@resilient-rpc/core';
import { type NatsServerHandle, sleep, startNatsServer } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsTransport } from '../src/index.js';

interface Request {
  id: number;
  method: string;
  params: unknown;
}

describe('NATS reply tokens', () => {
  let broker: NatsServerHandle;
  let responders: NatsConnection;
  const replySubjects: string[] = [];

  /** Echoes `params` after `delayMs(request)`, recording the reply subject of each echo request. */
  function respond(subject: string, delayMs: (request: Request) => number) {
    responders.subscribe(subject, {
      callback: (_error, msg: Msg) => {
        const request = msg.json<Request>();
        if (request.method !== 'echo') {
          msg.respond(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: 'pong' }));
          return;
        }
        replySubjects.push(msg.reply ?? '');
        const answer = JSON.stringify({ jsonrpc: '2.0', id: request.id, result: request.params });
        const wait = delayMs(request);
        if (wait === 0) msg.respond(answer);
        else setTimeout(() => msg.respond(answer), wait);
      },
    });
  }

  beforeAll(async () => {
    broker = await startNatsServer();
    responders = await connect({ servers: broker.url });
    // slow.echo: the first request waits 300 ms (past its deadline), the others are answered at once
    let requests = 0;
    respond('slow.echo', () => (++requests === 1 ? 300 : 0));
    // twice.echo: two responders without a queue group, after the delays the call asks for
    const delays = (request: Request) => request.params as { a: number; b: number };
    respond('twice.echo', (request) => delays(request).a);
    respond('twice.echo', (request) => delays(request).b);
    await responders.flush();
  });

  afterAll(async () => {
    await responders?.close();
    await broker?.kill();
  });

  const clientFor = (subject: string) =>
    createClient({
      transports: [natsTransport({ discovery: false })],
      endpoints: [`${broker.url}/${subject}`],
      retry: false,
      heartbeat: false,
    });

  it('reuses the reply subject of an answered request', async () => {
    replySubjects.length = 0;
    const client = clientFor('twice.echo');
    try {
      for (let n = 0; n < 3; n++) {
        const params = { n, a: 0, b: 0 };
        await expect(client.call('echo', params)).resolves.toEqual(params);
      }
    } finally {
      await client.close();
    }
    // each request was answered before the next: one reply subject serves them all
    expect(new Set(replySubjects).size).toBe(1);
  });

  it('never reuses the token of a request that timed out: its late reply answers nobody', async () => {
    replySubjects.length = 0;
    const client = clientFor('slow.echo');
    try {
      // Open first (answered at once, not recorded): on a loaded machine the connection may take
      // longer than the next call's 100 ms, which then fails not-sent and is never published.
      await expect(client.call('warm-up')).resolves.toBe('pong');
      await expect(client.call('echo', ['late'], { deadlineMs: 100 })).rejects.toMatchObject({
        kind: 'timeout',
      });
      // calls while the late reply (at 300 ms) comes in: each gets its own answer
      for (let i = 0; i < 12; i++) {
        await expect(client.call('echo', [i], { deadlineMs: 2_000 })).resolves.toEqual([i]);
        await sleep(25);
      }
    } finally {
      await client.close();
    }
    expect(replySubjects.slice(1)).not.toContain(replySubjects[0]);
  });

  it("ignores a second responder's reply that comes in on the token's next request", async () => {
    replySubjects.length = 0;
    const client = clientFor('twice.echo');
    try {
      // the first call is answered at once, its second answer comes 50 ms later, while the next
      // call (on the same, reused token) waits 150 ms for its own
      const first = { n: 1, a: 0, b: 50 };
      await expect(client.call('echo', first)).resolves.toEqual(first);
      const second = { n: 2, a: 150, b: 150 };
      await expect(client.call('echo', second, { deadlineMs: 2_000 })).resolves.toEqual(second);
    } finally {
      await client.close();
    }
    expect(replySubjects[2]).toBe(replySubjects[0]); // (the second call did reuse the token)
  });
});
