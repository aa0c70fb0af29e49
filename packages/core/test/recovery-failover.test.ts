import { createBalancer, seededRandom } from '@resilient-rpc/core';
import { ManualClock, MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { describe, expect, it } from 'vitest';
import { Endpoint } from '../src/client/endpoint.js';
import { EndpointSelector } from '../src/recovery/failover.js';

function endpoints(count: number) {
  const clock = new ManualClock(1_000);
  const transport = memoryTransport(new MemoryNetwork(clock));
  const list = Array.from(
    { length: count },
    (_, index) =>
      new Endpoint(
        `memory://f${index}`,
        transport.connect(`memory://f${index}`, { clock, random: seededRandom(1) }),
        clock,
        undefined,
        () => {},
        {},
        () => {},
      ),
  );
  return { clock, list };
}

describe('failover and balancing', () => {
  it('never picks an endpoint the call failed on while another is usable', () => {
    const { clock, list } = endpoints(3);
    const selector = new EndpointSelector(
      list,
      createBalancer('random'),
      seededRandom(5),
      undefined,
      Infinity,
    );
    const failed = new Set([list[0]!, list[1]!]);
    for (let index = 0; index < 20; index++) expect(selector.pick(failed, clock.now(), 'any')).toBe(list[2]);
  });

  it('in panic mode picks the least bad endpoint: suspect before down', () => {
    const { clock, list } = endpoints(2);
    list[0]!.signal({ type: 'failure', kind: 'not-sent', until: clock.now() + 1_000, reason: 'refused' });
    list[1]!.signal({ type: 'stall', stalled: true, reason: 'stalled' });
    const selector = new EndpointSelector(
      list,
      createBalancer('round-robin'),
      seededRandom(5),
      undefined,
      Infinity,
    );
    expect(selector.pick(undefined, clock.now(), 'any')).toBe(list[1]);
    expect(selector.hasAlternative(undefined, clock.now())).toBe(false);
  });

  it('skips an endpoint at its in-flight limit', () => {
    const { clock, list } = endpoints(2);
    list[0]!.inFlight = 1;
    const selector = new EndpointSelector(list, createBalancer('round-robin'), seededRandom(5), undefined, 1);
    for (let index = 0; index < 5; index++)
      expect(selector.pick(undefined, clock.now(), 'any')).toBe(list[1]);
  });
});
