import { type ClientTransport, createClient, createServer, type DiscoverOptions } from '@resilient-rpc/core';
import { MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { describe, expect, it } from 'vitest';

/** A memory transport whose `memory://service` URL stands for the instances a test announces. */
function discoveringTransport(network: MemoryNetwork) {
  const base = memoryTransport(network);
  let announce: DiscoverOptions['update'] | undefined;
  let stopped = 0;
  const transport: ClientTransport = {
    ...base,
    connect: base.connect.bind(base),
    discover(url, options) {
      if (url !== 'memory://service') return () => {};
      announce = options.update;
      return () => {
        stopped++;
      };
    },
  };
  return {
    transport,
    announce: (urls: string[]) => announce?.(urls),
    get stopped() {
      return stopped;
    },
  };
}

describe('endpoint discovery', () => {
  it('replaces a discovered URL by its instances as they join and leave, and falls back to it when none answer', async () => {
    const network = new MemoryNetwork();
    const seen: string[] = [];
    for (const name of ['service', 'a', 'b', 'c']) {
      const server = createServer({ methods: { who: () => name } });
      await server.listen(network.listener(name));
    }
    const discovery = discoveringTransport(network);
    const client = createClient({
      transports: [discovery.transport],
      endpoints: ['memory://service', 'memory://c'],
      heartbeat: false,
    });
    client.on('endpoint-added', (event) => seen.push(`+${event.endpoint}`));
    client.on('endpoint-removed', (event) => seen.push(`-${event.endpoint}`));
    expect(client.endpoints).toEqual(['memory://service', 'memory://c']);

    discovery.announce(['memory://a', 'memory://b']);
    expect([...client.endpoints].sort()).toEqual(['memory://a', 'memory://b', 'memory://c']);
    const answers = new Set<unknown>();
    for (let index = 0; index < 40; index++) answers.add(await client.call('who'));
    expect([...answers].sort()).toEqual(['a', 'b', 'c']);

    discovery.announce(['memory://b']);
    expect([...client.endpoints].sort()).toEqual(['memory://b', 'memory://c']);
    discovery.announce([]);
    expect([...client.endpoints].sort()).toEqual(['memory://c', 'memory://service']);
    expect(seen).toEqual([
      '-memory://service',
      '+memory://a',
      '+memory://b',
      '-memory://a',
      '-memory://b',
      '+memory://service',
    ]);

    client.removeEndpoint('memory://service');
    expect(discovery.stopped).toBe(1);
    expect(client.endpoints).toEqual(['memory://c']);
    await client.close();
  });
});
