import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createClient, createServer, type IncomingContext, type WireMetadata } from '@resilient-rpc/core';
import { MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentClient, serverInstrumentation } from '../src/index.js';
import { telemetry } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('serverInstrumentation', () => {
  it('continues a remote trace, counts requests by method and outcome, and counts unknown methods as _OTHER', async () => {
    const otel = telemetry();
    cleanups.push(() => otel.shutdown());
    const server = createServer({
      instrumentation: serverInstrumentation(otel),
      methods: {
        ok: () => 1,
        boom: () => {
          throw new Error('boom');
        },
      },
    });
    cleanups.push(() => server.close());
    const context = (metadata: WireMetadata): IncomingContext => ({ transport: 'test', metadata });
    await server.dispatcher.handleText(
      '{"jsonrpc":"2.0","id":1,"method":"ok"}',
      context({ traceparent: TRACEPARENT, tracestate: 'rojo=1' }),
    );
    await server.dispatcher.handleText('{"jsonrpc":"2.0","id":2,"method":"boom"}', context({}));
    for (const name of ['nope-1', 'nope-2', 'nope-3'])
      await server.dispatcher.handleText(`{"jsonrpc":"2.0","id":3,"method":"${name}"}`, context({}));

    const spans = otel.spans();
    const ok = spans.find((span) => span.name === 'ok')!;
    expect(ok.kind).toBe(SpanKind.SERVER);
    expect(ok.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(ok.parentSpanContext).toMatchObject({ spanId: '00f067aa0ba902b7', isRemote: true });
    expect(ok.parentSpanContext?.traceState?.get('rojo')).toBe('1');
    const boom = spans.find((span) => span.name === 'boom')!;
    expect(boom.status.code).toBe(SpanStatusCode.ERROR);
    expect(boom.attributes).toMatchObject({ 'error.type': '-32603', 'rpc.jsonrpc.error_code': -32603 });
    expect(boom.parentSpanContext).toBeUndefined();

    expect(await otel.sum('rpc.server.requests', { 'rpc.method': 'ok', 'resilient_rpc.outcome': 'ok' })).toBe(
      1,
    );
    expect(
      await otel.sum('rpc.server.requests', { 'rpc.method': 'boom', 'resilient_rpc.outcome': '-32603' }),
    ).toBe(1);
    expect(
      await otel.sum('rpc.server.requests', { 'rpc.method': '_OTHER', 'resilient_rpc.outcome': '-32601' }),
    ).toBe(3);
    const methods = (await otel.points('rpc.server.requests')).map((point) => point.attributes['rpc.method']);
    expect(methods.filter((method) => String(method).startsWith('nope'))).toEqual([]);
    const durations = await otel.points('rpc.server.call.duration');
    expect(durations.reduce((total, point) => total + (point.value as { count: number }).count, 0)).toBe(5);
  });
});

describe('without an SDK', () => {
  it('the API no-op providers record nothing and the call sends no traceparent', async () => {
    const network = new MemoryNetwork();
    const seen: WireMetadata[] = [];
    const server = createServer({
      instrumentation: serverInstrumentation(),
      methods: {
        look: (_params, context) => {
          seen.push(context.metadata);
          return 'ok';
        },
      },
    });
    cleanups.push(() => server.close());
    const url = (await server.listen(network.listener(`noop-${Math.random()}`))).urls[0]!;
    const client = instrumentClient(
      createClient({ transports: [memoryTransport(network)], endpoints: [url], heartbeat: false }),
    );
    cleanups.push(() => client.close());
    expect(await client.call('look')).toBe('ok');
    expect(await client.proxy<{ look(): string }>().look()).toBe('ok');
    await client.notify('look');
    expect(await client.batch([{ method: 'look' }])).toEqual([{ ok: true, result: 'ok' }]);
    await expect.poll(() => seen.length).toBe(4);
    for (const metadata of seen) expect(metadata.traceparent).toBeUndefined();
  });

  it('a traceparent passed in the call options is sent as it is', async () => {
    const otel = telemetry();
    cleanups.push(() => otel.shutdown());
    const network = new MemoryNetwork();
    const seen: WireMetadata[] = [];
    const server = createServer({
      methods: {
        look: (_params, context) => {
          seen.push(context.metadata);
          return 'ok';
        },
      },
    });
    cleanups.push(() => server.close());
    const url = (await server.listen(network.listener(`own-${Math.random()}`))).urls[0]!;
    const client = instrumentClient(
      createClient({ transports: [memoryTransport(network)], endpoints: [url], heartbeat: false }),
      otel,
    );
    cleanups.push(() => client.close());
    await client.call('look', [], { traceparent: TRACEPARENT });
    await client.call('look');
    expect(seen[0]!.traceparent).toBe(TRACEPARENT);
    const callSpan = otel.spans().filter((span) => span.name === 'look')[1]!;
    expect(seen[1]!.traceparent).toBe(
      `00-${callSpan.spanContext().traceId}-${callSpan.spanContext().spanId}-01`,
    );
  });

  it('close() on the instrumented client detaches its listeners', async () => {
    const otel = telemetry();
    cleanups.push(() => otel.shutdown());
    const network = new MemoryNetwork();
    const server = createServer({ methods: { look: () => 'ok' } });
    cleanups.push(() => server.close());
    const url = (await server.listen(network.listener(`close-${Math.random()}`))).urls[0]!;
    const plain = createClient({
      transports: [memoryTransport(network)],
      endpoints: [url],
      heartbeat: false,
    });
    const client = instrumentClient(plain, otel);
    await client.call('look');
    await client.close();
    expect(await otel.sum('rpc.client.calls')).toBe(1);
    expect(client.endpoints).toEqual([url]);
  });
});
