/**
 * The lean adapter under axios's request pipeline: interceptors and transforms still run, the body
 * arrives byte-exact (UTF-8 length), and its failures keep the stock adapter's shape so that the
 * transport maps both alike. Real node:http servers on 127.0.0.1 port 0.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, isRpcError, systemClock, TimeoutError } from '@resilient-rpc/core';
import { ManualClock } from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { httpTransport } from '../src/index.js';

const servers: Server[] = [];

async function serve(handler: Parameters<typeof createHttpServer>[1]): Promise<string> {
  const server = createHttpServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** An echo of `params` that also reports the request's headers and body length. */
const echo: Parameters<typeof createHttpServer>[1] = (request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    if (request.method !== 'POST') {
      response.end('{}'); // a health probe
      return;
    }
    const message = JSON.parse(body.toString('utf8')) as { id: number; params: unknown };
    response.setHeader('content-type', 'application/json');
    response.end(
      JSON.stringify({
        jsonrpc: '2.0',
        id: message.id,
        result: {
          params: message.params,
          length: Number(request.headers['content-length']),
          actual: body.length,
          marker: request.headers['x-marker'],
        },
      }),
    );
  });
};

describe('the lean axios adapter of the transport-created instance', () => {
  it('runs interceptors and sends a UTF-8 body with its byte length', async () => {
    const url = await serve(echo);
    const transport = httpTransport();
    transport.axios.interceptors.request.use((config) => {
      config.headers.set('x-marker', 'intercepted');
      return config;
    });
    const client = createClient({ transports: [transport], endpoints: [url] });
    try {
      const result = (await client.call('echo', { text: 'grüße ☃' })) as Record<string, unknown>;
      expect(result.params).toEqual({ text: 'grüße ☃' });
      expect(result.length).toBe(result.actual);
      expect(result.marker).toBe('intercepted');
    } finally {
      await client.close();
      await transport.close?.();
    }
  });

  it('skips the axios pipeline only while nothing is installed: defaults set later and response interceptors apply', async () => {
    const url = await serve(echo);
    const transport = httpTransport();
    const client = createClient({ transports: [transport], endpoints: [url], heartbeat: false });
    try {
      // Nothing installed: the direct path, byte-exact and with the transport's headers.
      const plain = (await client.call('echo', { text: 'grüße' })) as Record<string, unknown>;
      expect(plain.params).toEqual({ text: 'grüße' });
      expect(plain.length).toBe(plain.actual);
      expect(plain.marker).toBeUndefined();

      // A default header set on the instance afterwards reaches the server.
      transport.axios.defaults.headers.common['x-marker'] = 'from-defaults';
      const withDefaults = (await client.call('echo', [1])) as Record<string, unknown>;
      expect(withDefaults.marker).toBe('from-defaults');
    } finally {
      await client.close();
      await transport.close?.();
    }

    const second = httpTransport();
    const seen: number[] = [];
    second.axios.interceptors.response.use((response) => {
      seen.push(response.status);
      return response;
    });
    const other = createClient({ transports: [second], endpoints: [url], heartbeat: false });
    try {
      await other.call('echo', [2]);
      expect(seen).toEqual([200]);
    } finally {
      await other.close();
      await second.close?.();
    }
  });

  it('maps a response over maxResponseBytes to protocol and a refused port to not-sent', async () => {
    const url = await serve((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(`{"jsonrpc":"2.0","id":1,"result":"${'x'.repeat(10_000)}"}`);
    });
    const transport = httpTransport({ maxResponseBytes: 1_000 });
    const client = createClient({ transports: [transport], endpoints: [url], retry: false });
    try {
      const error = await client.call('big').catch((caught: unknown) => caught);
      expect(isRpcError(error, 'protocol'), String(error)).toBe(true);
    } finally {
      await client.close();
      await transport.close?.();
    }

    const refused = await serve(echo);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const second = httpTransport();
    const connection = second.connect(refused, {
      clock: systemClock,
      random: Math.random,
    });
    const failure = await connection
      .send(
        { jsonrpc: '2.0', id: 1, method: 'echo' },
        { signal: new AbortController().signal, timeoutMs: 2_000, metadata: {} },
      )
      .catch((caught: unknown) => caught);
    expect(isRpcError(failure, 'not-sent'), String(failure)).toBe(true);
    await connection.close();
    await second.close?.();
  });

  it('answers a timeout with timeout once the request was written', async () => {
    const url = await serve(() => {
      // never answers
    });
    const transport = httpTransport();
    const connection = transport.connect(url, {
      clock: systemClock,
      random: Math.random,
    });
    const started = performance.now();
    const failure = await connection
      .send(
        { jsonrpc: '2.0', id: 1, method: 'echo' },
        { signal: new AbortController().signal, timeoutMs: 200, metadata: {} },
      )
      .catch((caught: unknown) => caught);
    expect(isRpcError(failure, 'timeout'), String(failure)).toBe(true);
    // The attempt's timeout plus a margin for a loaded machine.
    expect(performance.now() - started).toBeLessThan(200 + 1_500);
    await connection.close();
    await transport.close?.();
  });

  it('reads the attempt signal only of a request still unanswered after a while, and aborts it then', async () => {
    let slow = false;
    const url = await serve((request, response) => {
      if (slow) return; // never answers
      echo(request, response);
    });
    const transport = httpTransport();
    // A manual clock: "a while" passes only when the test says so, however slow the machine.
    const clock = new ManualClock();
    const connection = transport.connect(url, { clock, random: Math.random });
    // SendOptions as the core hands them: the signal is made when first read.
    const options = () => {
      const controller = new AbortController();
      const made = { reads: 0, controller };
      return {
        made,
        options: {
          get signal() {
            made.reads++;
            return controller.signal;
          },
          timeoutMs: 5_000,
          metadata: {},
        },
      };
    };
    const fast = options();
    await connection.send({ jsonrpc: '2.0', id: 1, method: 'echo', params: [1] }, fast.options);
    expect(fast.made.reads).toBe(0);

    slow = true;
    const waiting = options();
    const started = performance.now();
    const failure = connection
      .send({ jsonrpc: '2.0', id: 2, method: 'echo' }, waiting.options)
      .catch((caught: unknown) => caught);
    expect(waiting.made.reads).toBe(0);
    clock.advance(10); // the lean path's watch delay
    expect(waiting.made.reads).toBeGreaterThan(0);
    waiting.made.controller.abort(new TimeoutError('deadline exceeded'));
    const error = await failure;
    // The core's reason, long before the 5 s attempt timeout.
    expect(isRpcError(error, 'timeout'), String(error)).toBe(true);
    expect((error as Error).message).toBe('deadline exceeded');
    expect(waiting.made.reads).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(1_500);
    await connection.close();
    await transport.close?.();
  });

  it('sends the fixed headers, Host and the metadata once each, a fixed header of another case replacing the default', async () => {
    const seen: string[][] = [];
    const url = await serve((request, response) => {
      seen.push(request.rawHeaders);
      echo(request, response);
    });
    const metadata = { deadlineMs: 1_000, idempotent: true, attempt: 2 };
    const send = async (headers: Record<string, string>) => {
      const transport = httpTransport({ headers });
      const connection = transport.connect(url, { clock: systemClock, random: Math.random });
      const options = { signal: new AbortController().signal, timeoutMs: 5_000, metadata };
      const answer = await connection.send({ jsonrpc: '2.0', id: 1, method: 'echo', params: [1] }, options);
      await connection.close();
      await transport.close?.();
      expect(answer).toMatchObject({ id: 1, result: { params: [1] } });
      const raw = seen.at(-1)!;
      const values = new Map<string, string[]>();
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!.toLowerCase();
        values.set(name, [...(values.get(name) ?? []), raw[i + 1]!]);
      }
      return values;
    };
    const port = new URL(url).port;
    // The list path: the fixed headers (a Content-Type given in another case replaces ours).
    const listed = await send({ 'Content-Type': 'application/json; charset=utf-8', 'x-marker': 'm' });
    expect(Object.fromEntries(listed)).toMatchObject({
      host: [`127.0.0.1:${port}`],
      'content-type': ['application/json; charset=utf-8'],
      accept: ['application/json'],
      'x-marker': ['m'],
      'rpc-deadline-ms': ['1000'],
      'rpc-idempotent': ['1'],
      'rpc-attempt': ['2'],
      'content-length': ['53'],
    });
    // A fixed header named like a metadata header: the object path, the call's metadata replaces it.
    const object = await send({ 'rpc-attempt': '9' });
    expect(object.get('rpc-attempt')).toEqual(['2']);
    expect(object.get('host')).toEqual([`127.0.0.1:${port}`]);
  });
});
