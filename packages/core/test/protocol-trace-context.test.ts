import {
  createClient,
  createServer,
  type IncomingContext,
  MetadataHeaders,
  metadataFromHeaders,
  metadataToHeaders,
  parseTraceparent,
  parseTracestate,
  type RequestOutcome,
  type ServerInstrumentation,
  sanitizeMetadata,
  type WireMetadata,
} from '@resilient-rpc/core';
import { ManualClock, MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('W3C traceparent', () => {
  it('accepts the version 00 form and a later version with extra fields', () => {
    expect(parseTraceparent(TRACEPARENT)).toBe(TRACEPARENT);
    const future = '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra';
    expect(parseTraceparent(future)).toBe(future);
  });

  it.each([
    ['upper-case hex', TRACEPARENT.toUpperCase()],
    ['version ff', `ff${TRACEPARENT.slice(2)}`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['all-zero parent id', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['extra fields on version 00', `${TRACEPARENT}-extra`],
    ['a missing field', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7'],
    ['a number', 42],
    ['too long', `01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-${'a'.repeat(300)}`],
  ])('rejects %s', (_name, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});

describe('W3C tracestate', () => {
  it('keeps well-formed members, trims spaces and drops empty members', () => {
    expect(parseTracestate('rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,,')).toBe(
      'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    );
    expect(parseTracestate('tenant@vendor=value')).toBe('tenant@vendor=value');
  });

  it.each([
    ['an upper-case key', 'Rojo=1'],
    ['a member without =', 'rojo'],
    ['a value with =', 'rojo=a=b'],
    ['more than 32 members', Array.from({ length: 33 }, (_, index) => `k${index}=v`).join(',')],
    ['more than 512 characters', `rojo=${'a'.repeat(250)},congo=${'b'.repeat(260)}`],
    ['only commas', ',,'],
  ])('rejects %s', (_name, value) => {
    expect(parseTracestate(value)).toBeUndefined();
  });
});

describe('trace context in metadata', () => {
  it('travels as the traceparent and tracestate headers and back', () => {
    const headers: Record<string, string> = {};
    metadataToHeaders({ traceparent: TRACEPARENT, tracestate: 'rojo=1' }, (name, value) => {
      headers[name] = value;
    });
    expect(headers).toEqual({ traceparent: TRACEPARENT, tracestate: 'rojo=1' });
    expect(MetadataHeaders.traceparent).toBe('traceparent');
    expect(metadataFromHeaders((name) => headers[name])).toEqual({
      traceparent: TRACEPARENT,
      tracestate: 'rojo=1',
    });
  });

  it('drops a malformed traceparent, and a tracestate without a valid traceparent', () => {
    expect(sanitizeMetadata({ traceparent: 'nope', tracestate: 'rojo=1' })).toEqual({});
    expect(sanitizeMetadata({ tracestate: 'rojo=1' })).toEqual({});
    expect(sanitizeMetadata({ traceparent: TRACEPARENT, tracestate: 'Bad' })).toEqual({
      traceparent: TRACEPARENT,
    });
  });
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(instrumentation?: ServerInstrumentation) {
  const clock = new ManualClock(1_000);
  const network = new MemoryNetwork(clock);
  const seen: WireMetadata[] = [];
  const server = createServer({
    clock,
    instrumentation,
    methods: {
      look: (_params, context) => {
        seen.push(context.metadata);
        return 'ok';
      },
      fail: () => {
        throw new Error('handler failure');
      },
      later: async () => 'later',
    },
  });
  const url = (await server.listen(network.listener(`trace-${Math.random()}`))).urls[0]!;
  const client = createClient({
    transports: [memoryTransport(network)],
    endpoints: [url],
    clock,
    heartbeat: false,
  });
  cleanups.push(async () => {
    await client.close();
    await server.close();
  });
  return { client, server, seen };
}

describe('a call carries the trace context of its options', () => {
  it('sends traceparent and tracestate with the call; the handler sees them', async () => {
    const { client, seen } = await setup();
    await client.call('look', [], { traceparent: TRACEPARENT, tracestate: 'rojo=1' });
    await client.notify('look', [], { traceparent: TRACEPARENT });
    await expect.poll(() => seen.length).toBe(2);
    expect(seen[0]).toMatchObject({ traceparent: TRACEPARENT, tracestate: 'rojo=1' });
    expect(seen[1]).toMatchObject({ traceparent: TRACEPARENT });
    expect(seen[1]!.tracestate).toBeUndefined();
  });

  it('a malformed traceparent or tracestate is a TypeError, and nothing is sent', async () => {
    const { client, seen } = await setup();
    await expect(client.call('look', [], { traceparent: 'nope' })).rejects.toThrow(TypeError);
    await expect(client.call('look', [], { traceparent: TRACEPARENT, tracestate: 'Bad' })).rejects.toThrow(
      /tracestate/,
    );
    expect(seen).toEqual([]);
  });
});

describe('server instrumentation', () => {
  it('sees each request with its trace context, runs it inside `run`, and ends it with its outcome', async () => {
    const events: string[] = [];
    const outcomes: Array<[string, RequestOutcome]> = [];
    const { client } = await setup({
      onRequest(request) {
        events.push(`start ${request.method} ${request.transport} ${request.metadata.traceparent ?? '-'}`);
        return {
          run(inner) {
            events.push(`run ${request.method}`);
            return inner();
          },
          end(outcome) {
            outcomes.push([request.method, outcome]);
          },
        };
      },
    });
    await client.call('look', [], { traceparent: TRACEPARENT });
    await expect(client.call('fail', [])).rejects.toThrow();
    await client.call('later', []);
    await expect(client.call('missing', [])).rejects.toThrow();
    expect(events.slice(0, 2)).toEqual([`start look memory ${TRACEPARENT}`, 'run look']);
    expect(outcomes).toEqual([
      ['look', { ok: true }],
      ['fail', { ok: false, code: -32603 }],
      ['later', { ok: true }],
      ['missing', { ok: false, code: -32601 }],
    ]);
  });

  it('a throwing instrumentation does not fail the request', async () => {
    const { client } = await setup({
      onRequest() {
        return {
          end() {
            throw new Error('broken end');
          },
        };
      },
    });
    await expect(client.call('look', [])).resolves.toBe('ok');
    const broken = await setup({
      onRequest() {
        throw new Error('broken start');
      },
    });
    await expect(broken.client.call('look', [])).resolves.toBe('ok');
  });

  it('is told of a request dispatched directly with header metadata', async () => {
    const outcomes: RequestOutcome[] = [];
    const server = createServer({
      methods: { ping2: () => 1 },
      instrumentation: { onRequest: () => ({ end: (outcome) => outcomes.push(outcome) }) },
    });
    const context: IncomingContext = { transport: 'test', metadata: { traceparent: TRACEPARENT } };
    await server.dispatcher.handleText('{"jsonrpc":"2.0","id":1,"method":"ping2"}', context);
    expect(outcomes).toEqual([{ ok: true }]);
    await server.close();
  });
});
