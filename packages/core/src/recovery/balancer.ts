import type { Random } from '../util/random.js';

/** What a balancer may know about an endpoint. The client implements it. */
export interface BalancerCandidate {
  readonly url: string;
  /** Calls in flight to this endpoint now. */
  readonly inFlight: number;
  /**
   * Peak-EWMA latency cost in ms (Finagle): jumps up to a slow observation at once, decays
   * towards faster ones; 0 when nothing was observed yet.
   */
  readonly latencyCost: number;
}

/**
 * Chooses one endpoint among already-filtered healthy candidates (the client filters out down,
 * ejected, circuit-open and already-failed endpoints). Returns undefined only for an empty list.
 */
export interface Balancer {
  readonly name: string;
  pick<C extends BalancerCandidate>(candidates: readonly C[], random: Random): C | undefined;
}

export type BalancerName = 'round-robin' | 'random' | 'p2c-least-pending' | 'p2c-peak-ewma';

/** The balancer names {@link createBalancer} accepts. */
export const BALANCER_NAMES: readonly BalancerName[] = [
  'round-robin',
  'random',
  'p2c-least-pending',
  'p2c-peak-ewma',
];

/** An index in [0, n) from a draw in [0, 1), safe against a source that returns 1 or garbage. */
function randomIndex(random: Random, n: number): number {
  const index = Math.floor(random() * n);
  return index >= 0 && index < n ? index : 0;
}

/** Cycles through candidates in order. Its position survives changes to the list. */
export function roundRobinBalancer(): Balancer {
  let next = 0;
  return {
    name: 'round-robin',
    pick<C extends BalancerCandidate>(candidates: readonly C[]): C | undefined {
      const n = candidates.length;
      if (n === 0) return undefined;
      const index = next % n;
      next = index + 1;
      return candidates[index];
    },
  };
}

/** Uniform random choice. */
export function randomBalancer(): Balancer {
  return {
    name: 'random',
    pick<C extends BalancerCandidate>(candidates: readonly C[], random: Random): C | undefined {
      const n = candidates.length;
      if (n === 0) return undefined;
      return candidates[n === 1 ? 0 : randomIndex(random, n)];
    },
  };
}

/**
 * Power of two choices over `load`: two distinct random candidates, the one with the lower load
 * (the first drawn on a tie, which is itself random). No allocation per pick.
 */
function p2c(name: string, load: (candidate: BalancerCandidate) => number): Balancer {
  return {
    name,
    pick<C extends BalancerCandidate>(candidates: readonly C[], random: Random): C | undefined {
      const n = candidates.length;
      if (n <= 1) return candidates[0];
      const i = randomIndex(random, n);
      let j = randomIndex(random, n - 1);
      if (j >= i) j++;
      const a = candidates[i] as C;
      const b = candidates[j] as C;
      return load(b) < load(a) ? b : a;
    },
  };
}

/** Power of two choices: two distinct random candidates, the one with fewer calls in flight. */
export function p2cLeastPendingBalancer(): Balancer {
  return p2c('p2c-least-pending', (candidate) => candidate.inFlight);
}

/**
 * Finagle's penalty for an endpoint with calls in flight but no latency observed yet: it may be a
 * hung new endpoint, so it ranks after every measured one (and among such endpoints, by calls in
 * flight).
 */
const UNMEASURED_PENALTY = Number.MAX_SAFE_INTEGER / 2;

/**
 * The peak-EWMA load of a candidate: latencyCost × (inFlight + 1). An endpoint never measured and
 * idle costs 0 (the cheapest, so new endpoints get traffic); never measured but busy costs
 * Finagle's penalty + inFlight, so one slow-to-answer new endpoint cannot soak up every call.
 */
export function peakEwmaLoad(candidate: BalancerCandidate): number {
  const cost = candidate.latencyCost;
  if (cost > 0) return cost * (candidate.inFlight + 1);
  return candidate.inFlight === 0 ? 0 : UNMEASURED_PENALTY + candidate.inFlight;
}

/**
 * Power of two choices by Finagle's peak-EWMA load: latencyCost × (inFlight + 1); candidates with
 * no latency observed yet count as the cheapest (so new endpoints get traffic).
 */
export function p2cPeakEwmaBalancer(): Balancer {
  return p2c('p2c-peak-ewma', peakEwmaLoad);
}

/** A balancer by name. */
export function createBalancer(name: BalancerName): Balancer {
  switch (name) {
    case 'round-robin':
      return roundRobinBalancer();
    case 'random':
      return randomBalancer();
    case 'p2c-least-pending':
      return p2cLeastPendingBalancer();
    case 'p2c-peak-ewma':
      return p2cPeakEwmaBalancer();
    default:
      throw new TypeError(
        `unknown balancer '${String(name)}' (expected one of ${BALANCER_NAMES.join(', ')})`,
      );
  }
}
