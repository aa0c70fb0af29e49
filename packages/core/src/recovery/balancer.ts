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

/** Cycles through candidates in order. Its position survives changes to the list. */
export function roundRobinBalancer(): Balancer {
  throw new Error('TODO');
}
/** Uniform random choice. */
export function randomBalancer(): Balancer {
  throw new Error('TODO');
}
/** Power of two choices: two distinct random candidates, the one with fewer calls in flight. */
export function p2cLeastPendingBalancer(): Balancer {
  throw new Error('TODO');
}
/**
 * Power of two choices by Finagle's peak-EWMA load: latencyCost × (inFlight + 1); candidates with
 * no latency observed yet count as the cheapest (so new endpoints get traffic).
 */
export function p2cPeakEwmaBalancer(): Balancer {
  throw new Error('TODO');
}
/** A balancer by name. */
export function createBalancer(name: BalancerName): Balancer {
  throw new Error('TODO');
}
