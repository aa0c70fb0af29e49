import type { StallSuspicion } from '../detection/stall-suspicion.js';
import type { TypedEmitter } from '../events/emitter.js';
import type { Bulkhead } from '../recovery/bulkhead.js';
import type { DeadlineTimer } from '../recovery/deadline.js';
import type { EndpointSelector } from '../recovery/failover.js';
import type { HedgingPolicy } from '../recovery/hedging.js';
import type { RescuePolicy } from '../recovery/rescue.js';
import type { RetryPolicy } from '../recovery/retry-policy.js';
import type { Clock } from '../util/clock.js';
import type { Endpoint } from './endpoint.js';
import type { CallTotals } from './types.js';

/**
 * The policies every call goes through, composed in this one place, outermost first. Each lives
 * in a file of its own; a {@link Call} consults them at fixed points of its life:
 *
 * 1. **deadline** (`recovery/deadline.ts`) — the whole call, every attempt and hedge, ends by its
 *    deadline; one shared timer serves every pending call, and each attempt carries the time left;
 * 2. **bulkhead** (`recovery/bulkhead.ts`) — admission: calls in flight for the whole client;
 * 3. **retry** (`recovery/retry-policy.ts`, with the budget `recovery/retry-budget.ts` and the
 *    backoff `recovery/backoff.ts`) — after a failed attempt: retry or give up, and when;
 * 4. **hedging** (`recovery/hedging.ts`) — extra copies of a slow idempotent call;
 * 5. **rescue** (`recovery/rescue.ts`) — an extra copy when the endpoint a call waits on turns bad;
 * 6. **failover and balancing** (`recovery/failover.ts`) — the endpoint of each attempt: usable
 *    endpoints the call has not failed on, under the per-endpoint in-flight limit, by the balancer;
 * 7. **circuit breaker** (`recovery/circuit-breaker.ts`, one per endpoint) — a permit per attempt;
 * 8. **stall suspicion** (`detection/stall-suspicion.ts`) — watches attempts in flight, probes to
 *    corroborate, and feeds the endpoint's health; its sweep also applies the **overtaken rule**: an
 *    idempotent call whose request was lost on an endpoint that answers its later calls is rescued.
 *
 * Every attempt's outcome goes to its endpoint (`Endpoint.recordOutcome`): latency, breaker,
 * outlier detection and the health state machine. `call`, `notify` and `batch` all go through
 * the same pipeline.
 */
export interface CallPipeline {
  readonly clock: Clock;
  readonly deadline: DeadlineTimer;
  readonly bulkhead: Bulkhead | undefined;
  readonly retry: RetryPolicy;
  readonly hedging: HedgingPolicy | undefined;
  readonly rescue: RescuePolicy;
  readonly selector: EndpointSelector;
  readonly stall: StallSuspicion | undefined;
  /**
   * Endpoints removed from the set with attempts still waiting on them: stall suspicion and the
   * overtaken rule keep watching them until their last attempt settles (then they close).
   */
  readonly retired: Set<Endpoint>;
  readonly events: TypedEmitter;
  readonly totals: CallTotals;
  /** The next JSON-RPC request id. */
  nextRequestId(): number;
}
