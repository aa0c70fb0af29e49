/**
 * What the listener's close does with a request whose handler is still running (it ignores its
 * abort signal): a forced close (`server.close()`, or `close({ forced: true })`) answers it at once
 * with -32603 `server-closed`; a graceful one (`forced: false`, also a drain that timed out) lets
 * its late answer out for `closeTimeoutMs`, then answers it so; called by hand without `forced`,
 * the listener treats a close with requests still being handled as forced.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createServer, type RpcServer } from '@resilient-rpc/core';
import { type NatsServerHandle, startNatsServer, waitFor } from '@resilient-rpc/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsListener } from '../src/index.js';

const encoder = new TextEncoder();
const SLOW_MS = 600;

describe('NATS listener close', () => {
  let broker: NatsServerHandle;
  let client: NatsConnection;
  let server: RpcServer | undefined;
  let subjects = 0;

  beforeAll(async () => {
    broker = await startNatsServer();
    client = await connect({ servers: broker.url });
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  afterAll(async () => {
    await client?.close();
    await broker?.kill();
  });

  /** A server whose one method ignores its abort signal; a call to it, once it is being handled. */
  async function slowCall(closeTimeoutMs?: number) {
    server = createServer({
      methods: { slow: () => new Promise((resolve) => setTimeout(() => resolve('late'), SLOW_MS)) },
    });
    const subject = `close.case${++subjects}`;
    const listener = await server.listen(
      natsListener({ servers: broker.url, subject, service: false, closeTimeoutMs }),
    );
    const body = encoder.encode(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'slow' }));
    const started = performance.now();
    const reply = client.request(subject, body, { timeout: 5_000 }).then((msg) => ({
      answer: msg.json<{ result?: unknown; error?: { code: number; data?: { reason?: string } } }>(),
      afterMs: performance.now() - started,
    }));
    const running = server;
    await waitFor(() => running.inFlight === 1, 'the call in flight', 5_000, 5);
    return { listener, reply };
  }

  const abandoned = { error: { code: -32603, data: { reason: 'server-closed' } } };

  it('server.close() (forced) answers a request still being handled at once', async () => {
    const { reply } = await slowCall();
    await server!.close();
    const { answer, afterMs } = await reply;
    expect(answer).toMatchObject(abandoned);
    expect(afterMs).toBeLessThan(SLOW_MS);
  });

  it('a drain that timed out (not forced) lets the answer out once the handler returns', async () => {
    const { reply } = await slowCall();
    await server!.drain({ timeoutMs: 50 });
    const { answer, afterMs } = await reply;
    // The core's answer to a request it aborted (its late result is discarded), not the listener's.
    expect(answer).toMatchObject({ error: { code: -32008 } });
    expect(afterMs).toBeGreaterThanOrEqual(SLOW_MS - 50);
  });

  it('a graceful close answers what is still running once closeTimeoutMs has passed', async () => {
    const { reply } = await slowCall(100);
    await server!.drain({ timeoutMs: 50 });
    const { answer, afterMs } = await reply;
    expect(answer).toMatchObject(abandoned);
    expect(afterMs).toBeGreaterThanOrEqual(140);
    expect(afterMs).toBeLessThan(SLOW_MS);
  });

  it('close({ forced: false }) by hand waits for the answer; close() by hand abandons it', async () => {
    const graceful = await slowCall();
    await graceful.listener.close({ forced: false });
    expect((await graceful.reply).answer).toMatchObject({ result: 'late' });
    await server!.close();

    const byHand = await slowCall();
    await byHand.listener.close();
    const { answer, afterMs } = await byHand.reply;
    expect(answer).toMatchObject(abandoned);
    expect(afterMs).toBeLessThan(SLOW_MS);
  });

  it('a reply on a closed connection (or before start) is dropped without an error', async () => {
    const nc = await connect({ servers: broker.url });
    const listener = natsListener({ connection: nc, subject: 'close.dropped', service: false });
    const publish = (listener as unknown as { publish(to: string, body: string): string | undefined })
      .publish;
    expect(publish.call(listener, '_INBOX.x', '{}')).toBeUndefined();
    server = createServer({ methods: {} });
    await server.listen(listener);
    await nc.close();
    expect(publish.call(listener, '_INBOX.x', '{}')).toBeUndefined();
  });
});
