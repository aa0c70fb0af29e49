import { type ClientTransport, createClient, createServer, type ServerListener } from '@resilient-rpc/core';
import { MemoryListener, MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

describe('server.listen(url): the transport chosen by the URL scheme', () => {
  it('creates the listener through the transport registered for the scheme and serves calls on it', async () => {
    const network = new MemoryNetwork();
    const transport = memoryTransport(network);
    const server = createServer({ transports: [transport], methods: { add: ([a, b]: number[]) => a! + b! } });
    closers.push(() => server.close());
    const listener = await server.listen('memory://orders');
    expect(listener).toBeInstanceOf(MemoryListener);
    expect(listener.transport).toBe('memory');
    expect(server.urls).toEqual(['memory://orders']);

    const client = createClient({ transports: [transport], endpoints: ['memory://orders'] });
    closers.push(() => client.close());
    expect(await client.call('add', [2, 3])).toBe(5);
  });

  it('picks among several transports by scheme, case-insensitively', async () => {
    const network = new MemoryNetwork();
    const created: string[] = [];
    const other: ClientTransport = {
      name: 'other',
      schemes: ['other', 'others'],
      connect: () => {
        throw new Error('not used');
      },
      listen: (url) => {
        created.push(url);
        return network.listener('from-other');
      },
    };
    const server = createServer({ transports: [memoryTransport(network), other] });
    closers.push(() => server.close());
    await server.listen('OTHERS://host/x');
    await server.listen('memory://a');
    expect(created).toEqual(['OTHERS://host/x']);
    expect(server.urls).toEqual(['memory://from-other', 'memory://a']);
  });

  it('keeps accepting a listener object', async () => {
    const network = new MemoryNetwork();
    const server = createServer({ methods: { ping: () => 'pong' } });
    closers.push(() => server.close());
    const listener = network.listener('direct');
    expect(await server.listen(listener)).toBe(listener);
    expect(server.urls).toEqual(['memory://direct']);
  });

  it('rejects a URL no registered transport serves with a TypeError naming the schemes there are', async () => {
    const network = new MemoryNetwork();
    const server = createServer({ transports: [memoryTransport(network)] });
    closers.push(() => server.close());
    const error = await server.listen('http://0.0.0.0:3000/rpc').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/"http:\/\/0\.0\.0\.0:3000\/rpc"/);
    expect((error as Error).message).toMatch(/memory/);
    expect(server.urls).toEqual([]);
  });

  it('rejects a URL when no transport is registered, saying how to register one', async () => {
    const server = createServer();
    const error = await server.listen('http://0.0.0.0:3000/rpc').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/transports: \[/);
  });

  it('rejects a URL without a scheme', async () => {
    const server = createServer({ transports: [memoryTransport(new MemoryNetwork())] });
    const error = await server.listen('0.0.0.0:3000').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/scheme/);
  });

  it('rejects a URL whose transport cannot create listeners, naming the schemes that can', async () => {
    const network = new MemoryNetwork();
    const clientOnly: ClientTransport = {
      name: 'client-only',
      schemes: ['co'],
      connect: () => {
        throw new Error('not used');
      },
    };
    const server = createServer({ transports: [clientOnly, memoryTransport(network)] });
    const error = await server.listen('co://x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/client-only/);
    expect((error as Error).message).toMatch(/listen/);
    expect((error as Error).message).toMatch(/memory/);
  });

  it('refuses a transports option that is not a list of transports', () => {
    expect(() => createServer({ transports: {} as unknown as ClientTransport[] })).toThrow(TypeError);
    expect(() => createServer({ transports: [{} as ClientTransport] })).toThrow(TypeError);
  });

  it('takes a URL object, and refuses what is neither a URL nor a listener with a TypeError', async () => {
    const server = createServer({ transports: [memoryTransport(new MemoryNetwork())] });
    closers.push(() => server.close());
    await server.listen(new URL('memory://from-url-object'));
    expect(server.urls).toEqual(['memory://from-url-object']);
    for (const bad of [undefined, 42, {}, { start: 1 }]) {
      const error = await server.listen(bad as unknown as string).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/listen URL .* or a listener/);
    }
  });

  it('rejects listen(url) once the server drains', async () => {
    const server = createServer({ transports: [memoryTransport(new MemoryNetwork())] });
    await server.close();
    await expect(server.listen('memory://late')).rejects.toThrow(/draining/);
  });
});

describe('memoryTransport(network).listen(url)', () => {
  it('creates a listener named by the URL', () => {
    const network = new MemoryNetwork();
    const listener = memoryTransport(network).listen?.('memory://svc') as ServerListener;
    expect(listener).toBeInstanceOf(MemoryListener);
    expect((listener as MemoryListener).name).toBe('svc');
  });

  it('refuses a URL that is not memory://<name>', () => {
    const transport = memoryTransport(new MemoryNetwork());
    expect(() => transport.listen?.('memory://')).toThrow(TypeError);
    expect(() => transport.listen?.('http://x')).toThrow(TypeError);
  });
});
