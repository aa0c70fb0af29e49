import type { Endpoint } from '../client/endpoint.js';
import type { OutlierDetector } from '../detection/outlier-detector.js';
import type { Random } from '../util/random.js';
import type { Balancer } from './balancer.js';

/** What an attempt needs from its endpoint beyond health: `batch`, a connection that sends JSON-RPC batches. */
export type EndpointNeed = 'any' | 'batch';

/**
 * Failover and balancing: picks the endpoint for an attempt. Among the usable endpoints (healthy
 * or probing, breaker admitting, not backing off, under the per-endpoint in-flight limit) that the
 * call has not failed on, the balancer chooses. When there is none (panic mode) the least bad
 * endpoint is chosen, so that a call is always attempted: a merely suspect endpoint before a down
 * one, an open breaker last.
 */
export class EndpointSelector {
  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly balancer: Balancer,
    private readonly random: Random,
    private readonly outlier: OutlierDetector | undefined,
    /** Calls in flight per endpoint at most (the per-endpoint bulkhead); a full endpoint is skipped. */
    private readonly maxInFlightPerEndpoint: number,
  ) {}

  /** Picks an endpoint at client time `now`, avoiding `exclude` (the endpoints the call failed on). */
  pick(exclude: ReadonlySet<Endpoint> | undefined, now: number, need: EndpointNeed): Endpoint | undefined {
    const endpoints = this.endpoints;
    let eligible = 0;
    for (let index = 0; index < endpoints.length; index++) {
      const endpoint = endpoints[index]!;
      const state = endpoint.state;
      if (state === 'ejected' && this.outlier !== undefined) this.outlier.isEjected(endpoint.url);
      else if (state === 'down') endpoint.signal({ type: 'tick', now });
      if (this.eligible(endpoint, exclude, now, need)) {
        endpoint.pickedAt = now;
        eligible++;
      }
    }
    // Usually every endpoint is eligible: the balancer then picks from the list itself, and no
    // scratch list is built (emptying one frees its backing store, so refilling it allocates).
    if (eligible === endpoints.length && eligible > 0) return this.balancer.pick(endpoints, this.random);
    if (eligible > 0) {
      const scratch: Endpoint[] = [];
      for (const endpoint of endpoints)
        if (this.eligible(endpoint, exclude, now, need)) scratch.push(endpoint);
      return this.balancer.pick(scratch, this.random);
    }
    let best: Endpoint | undefined;
    let bestRank = Number.POSITIVE_INFINITY;
    for (const endpoint of endpoints) {
      if (endpoint.inFlight >= this.maxInFlightPerEndpoint) continue;
      if (need === 'batch' && !sendsBatches(endpoint)) continue;
      const rank = panicRank(endpoint) + (exclude?.has(endpoint) ? 10 : 0);
      if (rank < bestRank || (rank === bestRank && best !== undefined && endpoint.inFlight < best.inFlight)) {
        best = endpoint;
        bestRank = rank;
      }
    }
    return best;
  }

  private eligible(
    endpoint: Endpoint,
    exclude: ReadonlySet<Endpoint> | undefined,
    now: number,
    need: EndpointNeed,
  ): boolean {
    return (
      endpoint.usableAt(now) &&
      endpoint.inFlight < this.maxInFlightPerEndpoint &&
      (exclude === undefined || !exclude.has(endpoint)) &&
      (need === 'any' || sendsBatches(endpoint))
    );
  }

  /** Whether a usable endpoint outside `exclude` exists (a retry there needs no backoff). */
  hasAlternative(exclude: ReadonlySet<Endpoint> | undefined, now: number): boolean {
    for (const endpoint of this.endpoints)
      if (endpoint.usableAt(now) && (exclude === undefined || !exclude.has(endpoint))) return true;
    return false;
  }
}

/** Whether the endpoint's transport sends JSON-RPC batches (its capability, and the method to do it). */
function sendsBatches(endpoint: Endpoint): boolean {
  return endpoint.connection.capabilities.batch && endpoint.connection.sendBatch !== undefined;
}

/** Lower is better in panic mode: a merely suspect endpoint beats a down one. */
function panicRank(endpoint: Endpoint): number {
  // An open breaker refuses the attempt locally, so it can never be the better choice.
  if (endpoint.breaker !== undefined && !endpoint.breaker.isAvailable()) return 5;
  switch (endpoint.state) {
    case 'healthy':
    case 'probing':
      return 0;
    case 'suspect':
      return 1;
    case 'ejected':
      return 2;
    default:
      return 3;
  }
}
