import { SpanKind } from '@opentelemetry/api';
import { createClient, createServer, RemoteError, type RpcServer } from '@resilient-rpc/core';
import { type NatsServerHandle, startNatsServer } from '@resilient-rpc/testkit';
import { httpTransport } from '@resilient-rpc/transport-http';
import { natsTransport } from '@resilient-rpc/transport-nats';
import { wsTransport } from '@resilient-rpc/transport-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { instrumentClient, serverInstrumentation } from '../src/index.js';
import { telemetry } from './helpers.js';

let broker: NatsServerHandle;
beforeAll(async () => {
  broker = await startNatsServer();
});
afterAll(async () => {
  await broker?.kill();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const cases = [
  { name: 'HTTP', transport: () => httpTransport(), listenUrl: () => 'http://127.0.0.1:0/rpc' },
  { name: 'WebSocket', transport: () => wsTransport(), listenUrl: () => 'ws://127.0.0.1:0/rpc' },
  {
    name: 'NATS',
    // Discovery off: an endpoint replaced by its instance mid-call has its call copied (a hedge),
    // which would race with the retry this test follows. Discovery has tests of its own.
    transport: () => natsTransport({ discovery: false }),
    listenUrl: () => `${broker.url}/otel.${Math.random().toString(36).slice(2)}`,
  },
];

describe.each(cases)('traces over $name', ({ transport, listenUrl }) => {
  it('one trace from the client call through a retry to both server spans, and the handler span nests under the server span', async () => {
    const otel = telemetry();
    cleanups.push(() => otel.shutdown());
    const handlerTracer = otel.tracerProvider.getTracer('handler');
    let calls = 0;
    const serverTransport = transport();
    const server: RpcServer = createServer({
      instrumentation: serverInstrumentation({
        tracerProvider: otel.tracerProvider,
        meterProvider: otel.meterProvider,
      }),
      methods: {
        flaky: async () => {
          calls++;
          if (calls === 1) throw new RemoteError('try again', { code: 4100, retryable: true });
          // A span the handler starts is a child of the server span (the active span).
          handlerTracer.startSpan('handler work').end();
          return 'done';
        },
      },
    });
    cleanups.push(() => server.close());
    const listener = await server.listen(serverTransport.listen(listenUrl()));
    cleanups.push(async () => serverTransport.close?.());
    const clientTransport = transport();
    const client = instrumentClient(
      createClient({
        transports: [clientTransport],
        endpoints: [listener.urls[0]!],
        heartbeat: false,
        retry: { maxAttempts: 3, baseMs: 1, capMs: 1 },
        methods: { flaky: { idempotent: true } },
      }),
      { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
    );
    cleanups.push(() => client.close());

    expect(await client.call('flaky', [])).toBe('done');
    await expect
      .poll(
        () => otel.spans().filter((span) => span.name === 'flaky' && span.kind === SpanKind.SERVER).length,
      )
      .toBe(2);

    const spans = otel.spans();
    const callSpan = spans.find((span) => span.kind === SpanKind.CLIENT)!;
    const attempts = spans.filter((span) => span.name === 'flaky attempt');
    const serverSpans = spans.filter((span) => span.kind === SpanKind.SERVER && span.name === 'flaky');
    const handlerSpan = spans.find((span) => span.name === 'handler work')!;
    expect(callSpan.name).toBe('flaky');
    expect(callSpan.attributes).toMatchObject({
      'rpc.system': 'jsonrpc',
      'rpc.method': 'flaky',
      'resilient_rpc.attempts': 2,
    });
    expect(callSpan.events.map((event) => event.name)).toEqual(['retry']);
    const traceId = callSpan.spanContext().traceId;
    expect(attempts).toHaveLength(2);
    expect(attempts.map((span) => span.attributes['resilient_rpc.attempt'])).toEqual([1, 2]);
    expect(attempts[0]!.attributes['error.type']).toBe('remote');
    expect(attempts[1]!.attributes['resilient_rpc.outcome']).toBe('success');
    expect(attempts[0]!.attributes['server.address']).toBe('127.0.0.1');
    for (const span of [...attempts, ...serverSpans, handlerSpan])
      expect(span.spanContext().traceId).toBe(traceId);
    for (const span of [...attempts, ...serverSpans])
      expect(span.parentSpanContext?.spanId).toBe(callSpan.spanContext().spanId);
    expect(serverSpans.map((span) => span.attributes['resilient_rpc.attempt'])).toEqual([1, 2]);
    expect(serverSpans[0]!.attributes['rpc.jsonrpc.error_code']).toBe(4100);
    expect(serverSpans[1]!.attributes['resilient_rpc.outcome']).toBe('ok');
    expect(handlerSpan.parentSpanContext?.spanId).toBe(serverSpans[1]!.spanContext().spanId);

    expect(
      await otel.sum('rpc.server.requests', { 'rpc.method': 'flaky', 'resilient_rpc.outcome': 'ok' }),
    ).toBe(1);
    expect(
      await otel.sum('rpc.server.requests', { 'rpc.method': 'flaky', 'resilient_rpc.outcome': '4100' }),
    ).toBe(1);
    expect(await otel.sum('rpc.client.retries', { 'rpc.method': 'flaky' })).toBe(1);
    expect(await otel.sum('rpc.client.calls', { 'rpc.method': 'flaky', 'resilient_rpc.outcome': 'ok' })).toBe(
      1,
    );
  });

  it('a call made inside an application span continues that trace', async () => {
    const otel = telemetry();
    cleanups.push(() => otel.shutdown());
    const serverTransport = transport();
    const server = createServer({
      instrumentation: serverInstrumentation({ tracerProvider: otel.tracerProvider, metrics: false }),
      methods: { add: ([a, b]: [number, number]) => a + b },
    });
    cleanups.push(() => server.close());
    const listener = await server.listen(serverTransport.listen(listenUrl()));
    cleanups.push(async () => serverTransport.close?.());
    const client = instrumentClient(
      createClient({ transports: [transport()], endpoints: [listener.urls[0]!], heartbeat: false }),
      { tracerProvider: otel.tracerProvider, metrics: false },
    );
    cleanups.push(() => client.close());
    const app = otel.tracerProvider.getTracer('app');
    const sum = await app.startActiveSpan('checkout', async (span) => {
      try {
        return await client.proxy<{ add(a: number, b: number): number }>().add(2, 3);
      } finally {
        span.end();
      }
    });
    expect(sum).toBe(5);
    await expect
      .poll(() => otel.spans().some((span) => span.kind === SpanKind.SERVER && span.name === 'add'))
      .toBe(true);
    const spans = otel.spans();
    const checkout = spans.find((span) => span.name === 'checkout')!;
    const callSpan = spans.find((span) => span.kind === SpanKind.CLIENT && span.name === 'add')!;
    const serverSpan = spans.find((span) => span.kind === SpanKind.SERVER && span.name === 'add')!;
    expect(callSpan.parentSpanContext?.spanId).toBe(checkout.spanContext().spanId);
    expect(serverSpan.spanContext().traceId).toBe(checkout.spanContext().traceId);
    expect(serverSpan.parentSpanContext?.spanId).toBe(callSpan.spanContext().spanId);
    expect(serverSpan.parentSpanContext?.isRemote).toBe(true);
  });
});
