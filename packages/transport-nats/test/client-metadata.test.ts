/**
 * Where the NATS client puts call metadata: in the request's `meta` member by default (a plain
 * PUB, measured cheaper than a header block), in `rpc-*` headers with `metadataIn: 'headers'`;
 * credentials always in headers. Observed with a bare nats.js responder.
 */

import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { createClient } from '@resilient-rpc/core';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsTransport } from '../src/index.js';

const SUBJECT = 'metadata.echo';

describe('NATS client call metadata', () => {
  let broker: NatsServerHandle;
  let responder: NatsConnection;
  const seen: Array<{ body: Record<string, unknown>; headers: Record<string, string> }> = [];

  beforeAll(async () => {
    broker = await startNatsServer();
    responder = await connect({ servers: broker.url });
    responder.subscribe(SUBJECT, {
      callback: (_error, msg: Msg) => {
        const body = msg.json<Record<string, unknown>>();
        const headers: Record<string, string> = {};
        for (const [name, values] of msg.headers ?? []) headers[name.toLowerCase()] = values[0] ?? '';
        // Probes (rpc.ping) may come too: only the call is looked at.
        if (body.method === 'echo') seen.push({ body, headers });
        msg.respond(JSON.stringify({ jsonrpc: '2.0', id: body.id, result: 'ok' }));
      },
    });
    await responder.flush();
  });

  afterAll(async () => {
    await responder?.close();
    await broker?.kill();
  });

  async function callWith(options: Parameters<typeof natsTransport>[0]) {
    seen.length = 0;
    const client = createClient({
      transports: [natsTransport({ ...options, discovery: false })],
      endpoints: [{ url: `${broker.url}/${SUBJECT}`, headers: { authorization: 'Bearer t0ken' } }],
    });
    try {
      await expect(client.call('echo', [1], { idempotent: true, deadlineMs: 5_000 })).resolves.toBe('ok');
    } finally {
      await client.close();
    }
    expect(seen).toHaveLength(1);
    return seen[0]!;
  }

  it('sends metadata in the meta member by default, credentials in headers', async () => {
    const { body, headers } = await callWith({});
    expect(body.meta).toMatchObject({ idempotent: true, attempt: 1 });
    expect((body.meta as { deadlineMs: number }).deadlineMs).toBeGreaterThan(0);
    expect((body.meta as { deadlineMs: number }).deadlineMs).toBeLessThanOrEqual(5_000);
    expect(headers.authorization).toBe('Bearer t0ken');
    expect(headers['rpc-deadline-ms']).toBeUndefined();
  });

  it("sends metadata as rpc-* headers with metadataIn: 'headers'", async () => {
    const { body, headers } = await callWith({ metadataIn: 'headers' });
    expect(body.meta).toBeUndefined();
    expect(headers['rpc-idempotent']).toBe('1');
    expect(Number(headers['rpc-deadline-ms'])).toBeGreaterThan(0);
    expect(headers.authorization).toBe('Bearer t0ken');
  });
});
