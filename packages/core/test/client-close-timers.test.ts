import { describe, expect, it } from 'vitest';
import { createClient } from '../src/client/create-client.js';
import { createServer } from '../src/server/index.js';
import { ManualClock } from '../src/testing/manual-clock.js';
import { MemoryNetwork, memoryTransport } from '../src/testing/memory-transport.js';
import { seededRandom } from '../src/util/random.js';

describe('client.close()', () => {
  it('leaves no timer of the shared deadline timer armed once every call settled', async () => {
    const clock = new ManualClock(1_000);
    const network = new MemoryNetwork(clock);
    const server = createServer({ clock, methods: { echo: (params: unknown) => params } });
    const listener = await server.listen(network.listener('close-timers'));
    const client = createClient({
      transports: [memoryTransport(network)],
      endpoints: listener.urls,
      clock,
      random: seededRandom(1),
      heartbeat: false,
    });
    await expect(client.call('echo', [1])).resolves.toEqual([1]);
    // The call's deadline timer is still armed for the (settled) call's deadline.
    await client.close();
    expect(clock.pendingTimers).toBe(0);
    await server.close();
  });
});
