import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BALANCER_NAMES,
  type BalancerCandidate,
  createBalancer,
  p2cLeastPendingBalancer,
  p2cPeakEwmaBalancer,
  peakEwmaLoad,
  randomBalancer,
  roundRobinBalancer,
} from '../src/recovery/balancer.js';
import { seededRandom } from '../src/util/random.js';

const endpoint = (url: string, inFlight = 0, latencyCost = 0): BalancerCandidate => ({
  url,
  inFlight,
  latencyCost,
});
const candidate = fc.record({
  url: fc.string(),
  inFlight: fc.nat({ max: 100 }),
  latencyCost: fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 10_000, noNaN: true })),
});

describe('balancers', () => {
  it('createBalancer builds each named balancer', () => {
    for (const name of BALANCER_NAMES) expect(createBalancer(name).name).toBe(name);
    expect(() => createBalancer('nope' as never)).toThrow(TypeError);
  });

  it('every balancer returns undefined for no candidates and the only one for one', () => {
    for (const name of BALANCER_NAMES) {
      const balancer = createBalancer(name);
      expect(balancer.pick([], Math.random)).toBeUndefined();
      const only = endpoint('a', 5, 100);
      expect(balancer.pick([only], Math.random)).toBe(only);
    }
  });

  it('round-robin cycles in order', () => {
    const balancer = roundRobinBalancer();
    const list = ['a', 'b', 'c'].map((url) => endpoint(url));
    const picks = Array.from({ length: 7 }, () => balancer.pick(list, Math.random)?.url);
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('round-robin keeps going when the list changes', () => {
    const balancer = roundRobinBalancer();
    const list = ['a', 'b', 'c', 'd'].map((url) => endpoint(url));
    expect(balancer.pick(list, Math.random)?.url).toBe('a');
    expect(balancer.pick(list, Math.random)?.url).toBe('b');
    expect(balancer.pick(list.slice(0, 2), Math.random)?.url).toBe('a');
    expect(balancer.pick(list, Math.random)?.url).toBe('b');
  });

  it('random spreads choices over every candidate', () => {
    const balancer = randomBalancer();
    const random = seededRandom(7);
    const list = ['a', 'b', 'c', 'd'].map((url) => endpoint(url));
    const counts = new Map<string, number>();
    for (let index = 0; index < 4_000; index++) {
      const url = balancer.pick(list, random)?.url ?? '';
      counts.set(url, (counts.get(url) ?? 0) + 1);
    }
    for (const item of list) expect(counts.get(item.url)).toBeGreaterThan(850);
  });

  it('p2c least-pending prefers the endpoint with fewer calls in flight', () => {
    const balancer = p2cLeastPendingBalancer();
    const busy = endpoint('busy', 10);
    const idle = endpoint('idle', 1);
    for (let seed = 0; seed < 50; seed++) expect(balancer.pick([busy, idle], seededRandom(seed))).toBe(idle);
  });

  it('p2c compares two distinct candidates: the worst of three is never chosen', () => {
    const balancer = p2cLeastPendingBalancer();
    const list = [endpoint('a', 1), endpoint('b', 2), endpoint('worst', 3)];
    const random = seededRandom(3);
    const picked = new Set<string>();
    for (let index = 0; index < 500; index++) picked.add(balancer.pick(list, random)?.url ?? '');
    expect(picked).toEqual(new Set(['a', 'b']));
  });

  it('p2c peak-EWMA weighs latency by load: latencyCost × (inFlight + 1)', () => {
    expect(peakEwmaLoad(endpoint('x', 3, 10))).toBe(40);
    const balancer = p2cPeakEwmaBalancer();
    const slow = endpoint('slow', 0, 100);
    const fastButBusy = endpoint('fast', 4, 10); // 50 < 100
    for (let seed = 0; seed < 20; seed++)
      expect(balancer.pick([slow, fastButBusy], seededRandom(seed))).toBe(fastButBusy);
    const fastAndSwamped = endpoint('fast', 19, 10); // 200 > 100
    for (let seed = 0; seed < 20; seed++)
      expect(balancer.pick([slow, fastAndSwamped], seededRandom(seed))).toBe(slow);
  });

  it('p2c peak-EWMA sends traffic to a new, unmeasured endpoint first', () => {
    const balancer = p2cPeakEwmaBalancer();
    const fresh = endpoint('new', 0, 0);
    const known = endpoint('known', 0, 1);
    for (let seed = 0; seed < 20; seed++)
      expect(balancer.pick([known, fresh], seededRandom(seed))).toBe(fresh);
  });

  it('p2c peak-EWMA does not pile calls onto an unmeasured endpoint that has not answered yet', () => {
    const balancer = p2cPeakEwmaBalancer();
    const pending = endpoint('new', 1, 0);
    const known = endpoint('known', 3, 50);
    for (let seed = 0; seed < 20; seed++)
      expect(balancer.pick([pending, known], seededRandom(seed))).toBe(known);
    expect(balancer.pick([endpoint('a', 2, 0), endpoint('b', 1, 0)], seededRandom(1))?.url).toBe('b');
  });

  it('property: every balancer picks one of the candidates', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...BALANCER_NAMES),
        fc.array(candidate, { minLength: 1, maxLength: 20 }),
        fc.integer(),
        (name, list, seed) => {
          const balancer = createBalancer(name);
          const random = seededRandom(seed);
          for (let index = 0; index < 5; index++)
            if (!list.includes(balancer.pick(list, random) as never)) return false;
          return true;
        },
      ),
    );
  });

  it('property: p2c never picks the strictly worse of two candidates', () => {
    fc.assert(
      fc.property(candidate, candidate, fc.integer(), fc.boolean(), (a, b, seed, leastPending) => {
        const balancer = leastPending ? p2cLeastPendingBalancer() : p2cPeakEwmaBalancer();
        const load = leastPending ? (c: BalancerCandidate) => c.inFlight : peakEwmaLoad;
        const picked = balancer.pick([a, b], seededRandom(seed));
        const other = picked === a ? b : a;
        return picked !== undefined && load(picked) <= load(other);
      }),
    );
  });

  it('property: round-robin picks each candidate exactly once per full cycle', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.nat({ max: 100 }), (size, warmup) => {
        const balancer = roundRobinBalancer();
        const list = Array.from({ length: size }, (_, index) => endpoint(`e${index}`));
        for (let index = 0; index < warmup; index++) balancer.pick(list, Math.random);
        const seen = new Set<BalancerCandidate>();
        for (let index = 0; index < size; index++)
          seen.add(balancer.pick(list, Math.random) as BalancerCandidate);
        return seen.size === size;
      }),
    );
  });
});
