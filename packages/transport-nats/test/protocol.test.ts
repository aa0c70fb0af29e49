/**
 * Speaks to a service with a bare nats.js connection, using only what docs/protocol.md's NATS
 * section says: subject, queue group, headers, JSON-RPC payloads, no-responders, $SRV discovery.
 */

import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { createServer, type RpcServer } from '@resilient-rpc/core';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServerListener, natsListener } from '../src/index.js';

const SUBJECT = 'docs.calc';
const encoder = new TextEncoder();

describe('NATS wire protocol (docs/protocol.md)', () => {
  let broker: NatsServerHandle;
  let server: RpcServer;
  let listener: NatsServerListener;
  let nc: NatsConnection;
  const seen: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    broker = await startNatsServer();
    server = createServer({
      methods: {
        add: ([a, b]: [number, number]) => a + b,
        context: (_params: unknown, context) => {
          seen.push({ metadata: context.metadata, headers: context.credentials?.headers });
          return { remainingMs: context.remainingMs() };
        },
        note: () => {
          seen.push({ note: true });
        },
      },
    });
    listener = await server.listen(
      natsListener({ servers: broker.url, subject: SUBJECT, service: { name: 'calc', version: '1.2.3' } }),
    );
    nc = await connect({ servers: broker.url });
  });

  afterAll(async () => {
    await nc?.close();
    await server?.close();
    await broker?.kill();
  });

  it('answers a JSON-RPC request published with a reply subject', async () => {
    const reply = await nc.request(
      SUBJECT,
      JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'add', params: [2, 3] }),
      {
        timeout: 5_000,
      },
    );
    expect(reply.json()).toEqual({ jsonrpc: '2.0', id: 7, result: 5 });
  });

  it('reads rpc-* headers as call metadata and exposes all headers as credentials', async () => {
    const h = headers();
    h.set('rpc-deadline-ms', '4000');
    h.set('rpc-idempotent', '1');
    h.set('rpc-attempt', '2');
    h.set('rpc-trace-id', 'trace-abc');
    h.set('Authorization', 'Bearer t0ken');
    const reply = await nc.request(SUBJECT, JSON.stringify({ jsonrpc: '2.0', id: 'x', method: 'context' }), {
      timeout: 5_000,
      headers: h,
    });
    const body = reply.json<{ result: { remainingMs: number } }>();
    expect(body.result.remainingMs).toBeGreaterThan(0);
    expect(body.result.remainingMs).toBeLessThanOrEqual(4000);
    const last = seen.at(-1);
    expect(last?.metadata).toEqual({ deadlineMs: 4000, idempotent: true, attempt: 2, traceId: 'trace-abc' });
    expect(last?.headers).toMatchObject({ authorization: 'Bearer t0ken', 'rpc-trace-id': 'trace-abc' });
  });

  it('answers a batch with an array and a notification with nothing', async () => {
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'add', params: [1, 1] },
      { jsonrpc: '2.0', method: 'note' },
      { jsonrpc: '2.0', id: 2, method: 'missing' },
    ];
    const reply = await nc.request(SUBJECT, JSON.stringify(batch), { timeout: 5_000 });
    const responses = reply.json<Array<{ id: number }>>();
    expect(responses).toHaveLength(2);
    expect(responses.find((r) => r.id === 1)).toEqual({ jsonrpc: '2.0', id: 1, result: 2 });
    expect(responses.find((r) => r.id === 2)).toMatchObject({ error: { code: -32601 } });

    const before = seen.length;
    nc.publish(SUBJECT, encoder.encode(JSON.stringify({ jsonrpc: '2.0', method: 'note' })));
    await nc.flush();
    await expect.poll(() => seen.length).toBe(before + 1);
  });

  it('answers malformed JSON with a -32700 parse error', async () => {
    const reply = await nc.request(SUBJECT, '{not json', { timeout: 5_000 });
    expect(reply.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it('lets the broker answer no-responders (status 503, empty payload) for a subject nobody serves', async () => {
    const error = await nc
      .request('docs.nobody', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'add' }), { timeout: 5_000 })
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(error).toBeDefined();
    expect(String((error as Error & { cause?: Error }).cause?.name ?? error?.name)).toMatch(/NoResponders/);
  });

  it('answers $SRV.PING, $SRV.INFO and $SRV.STATS (all, by name, by name and id)', async () => {
    const id = listener.serviceId ?? '';
    for (const subject of ['$SRV.PING', '$SRV.PING.calc', `$SRV.PING.calc.${id}`]) {
      const ping = (await nc.request(subject, '', { timeout: 5_000 })).json<Record<string, unknown>>();
      expect(ping).toMatchObject({
        type: 'io.nats.micro.v1.ping_response',
        name: 'calc',
        id,
        version: '1.2.3',
        // the instance's own subject, for clients that discover instances
        metadata: {
          'rpc.protocol': 'jsonrpc-2.0',
          'rpc.subject': SUBJECT,
          'rpc.instance-subject': `${SUBJECT}.${id}`,
        },
      });
    }
    expect(listener.instanceSubject).toBe(`${SUBJECT}.${id}`);
    const info = (await nc.request('$SRV.INFO.calc', '', { timeout: 5_000 })).json<Record<string, unknown>>();
    expect(info).toMatchObject({
      type: 'io.nats.micro.v1.info_response',
      name: 'calc',
      id,
      version: '1.2.3',
      endpoints: [
        { name: 'rpc', subject: SUBJECT, queue_group: SUBJECT },
        { name: 'rpc-instance', subject: `${SUBJECT}.${id}`, queue_group: SUBJECT },
      ],
    });
    // the instance subject reaches this instance
    const direct = (
      await nc.request(`${SUBJECT}.${id}`, '{"jsonrpc":"2.0","id":9,"method":"rpc.ping"}', { timeout: 5_000 })
    ).json<Record<string, unknown>>();
    expect(direct).toEqual({ jsonrpc: '2.0', id: 9, result: 'pong' });
    const stats = (await nc.request(`$SRV.STATS.calc.${id}`, '', { timeout: 5_000 })).json<{
      type: string;
      started: string;
      endpoints: Array<{ num_requests: number; num_errors: number; processing_time: number }>;
    }>();
    expect(stats.type).toBe('io.nats.micro.v1.stats_response');
    expect(Number.isNaN(Date.parse(stats.started))).toBe(false);
    expect(stats.endpoints[0]?.num_requests).toBeGreaterThanOrEqual(4);
    expect(stats.endpoints[0]?.num_errors).toBeGreaterThanOrEqual(1);
    expect(stats.endpoints[1]?.num_requests).toBe(1);
  });
});
