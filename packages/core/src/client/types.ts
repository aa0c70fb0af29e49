import type { HeartbeatOptions } from '../detection/heartbeat.js';
import type { OutlierDetectionOptions } from '../detection/outlier-detector.js';
import type { StallDetectionOptions } from '../detection/stall-suspicion.js';
import type { FailureKind } from '../errors/rpc-error.js';
import type { EndpointState } from '../events/types.js';
import type { JsonRpcParams } from '../protocol/types.js';
import type { BackoffOptions } from '../recovery/backoff.js';
import type { Balancer, BalancerName } from '../recovery/balancer.js';
import type { CircuitBreakerOptions } from '../recovery/circuit-breaker.js';
import type { HedgingOptions } from '../recovery/hedging.js';
import type { RetryBudgetOptions } from '../recovery/retry-budget.js';
import type { ClientTransport } from '../transport.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';

/** An endpoint with per-endpoint settings. */
export interface EndpointConfig {
  /** `http(s)://host:port/rpc`, `ws(s)://host:port/rpc`, `nats://host:port/<subject>`, `memory://name`. */
  url: string;
  /** Headers sent with every call to this endpoint (credentials, custom headers). */
  headers?: Record<string, string>;
}

/** Keeps the endpoint set current from outside the core (DNS, a registry, Kubernetes). */
export interface EndpointResolver {
  /** Starts watching; calls `update` with the full current set whenever it changes. Returns a stop function. */
  start(update: (endpoints: ReadonlyArray<string | EndpointConfig>) => void): () => void;
}

/** Retry policy options. */
export interface RetryOptions extends BackoffOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts: number;
}

export type { StallDetectionOptions } from '../detection/stall-suspicion.js';
export type { HedgingOptions } from '../recovery/hedging.js';

/** Admission limits. */
export interface BulkheadLimits {
  /** Calls in flight per endpoint; a full endpoint is skipped. Default Infinity. */
  maxInFlightPerEndpoint: number;
  /** Calls in flight for the whole client; more wait in the queue or fail with OverloadedError. Default Infinity. */
  maxInFlight: number;
  /** Calls that may wait for a client slot. Default 0. */
  maxQueue: number;
}

/** Per-method defaults. */
export interface MethodOptions {
  /** Safe to execute more than once. Default false. */
  idempotent?: boolean;
  /** Deadline for calls of this method, in ms. */
  deadlineMs?: number;
  /** Hedge calls of this method (only if idempotent). */
  hedge?: boolean;
}

/** Options of `createClient`. Every policy takes `false` to turn it off, or partial options over its defaults. */
export interface ClientOptions {
  /** The transports this client may use; each endpoint's URL scheme picks one. */
  transports: readonly ClientTransport[];
  endpoints?: ReadonlyArray<string | EndpointConfig>;
  resolver?: EndpointResolver;
  /**
   * Deadline for a whole call (all attempts and hedges), in ms: a finite number > 0, up to 365
   * days (long deadlines are timed exactly, never clamped). Default 10 000.
   */
  deadlineMs?: number;
  /**
   * Accept `deadlineMs: Infinity` (on the client, a method or a call) as "no deadline". Default
   * false: `Infinity`, like NaN, a negative number or a string, is a TypeError.
   */
  allowNoDeadline?: boolean;
  /** Per-attempt timeout, in ms. Default none (the deadline bounds each attempt). */
  attemptTimeoutMs?: number;
  retry?: Partial<RetryOptions> | false;
  retryBudget?: Partial<RetryBudgetOptions> | false;
  /** Default `'p2c-peak-ewma'`. */
  balancer?: BalancerName | Balancer;
  circuitBreaker?: Partial<CircuitBreakerOptions> | false;
  outlierDetection?: Partial<OutlierDetectionOptions> | false;
  heartbeat?: Partial<HeartbeatOptions> | false;
  stallDetection?: Partial<StallDetectionOptions> | false;
  /** Off by default. `true` uses the defaults. */
  hedging?: Partial<HedgingOptions> | boolean;
  bulkhead?: Partial<BulkheadLimits> | false;
  /**
   * Rescue: an idempotent call still waiting on an endpoint that turns suspect, down or ejected,
   * is removed, or whose request is presumed lost there (the overtaken rule, see
   * `stallDetection`), is sent at once to another healthy endpoint (within the retry budget;
   * first answer wins).
   * Default true. Turn it off for idempotent methods that are expensive to run twice.
   */
  rescue?: boolean;
  methods?: Record<string, MethodOptions>;
  /** Headers sent with every call to every endpoint. */
  headers?: Record<string, string>;
  clock?: Clock;
  random?: Random;
}

/** Options of one call. */
export interface CallOptions {
  /** Deadline for this call, in ms (validated as {@link ClientOptions.deadlineMs}). */
  deadlineMs?: number;
  /** Per-attempt timeout, in ms. */
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
  idempotent?: boolean;
  /** Hedge this call (only if idempotent). Default: the method's setting, else false. */
  hedge?: boolean;
  /** Attempts in all, overriding the retry policy (1 = no retry). */
  maxAttempts?: number;
  /** An opaque id sent with every attempt (`rpc-trace-id`), to tie the attempts together in logs. */
  traceId?: string;
  /**
   * W3C Trace Context `traceparent` sent with every attempt, so that the server continues the
   * caller's trace (`@resilient-rpc/opentelemetry` sets it). A malformed value is a TypeError.
   */
  traceparent?: string;
  /** W3C Trace Context `tracestate` sent with `traceparent` (ignored without it). A malformed value is a TypeError. */
  tracestate?: string;
}

/** Options of `client.notify` and `client.batch` (a notification is never idempotent). */
export type BatchOptions = Pick<
  CallOptions,
  | 'signal'
  | 'deadlineMs'
  | 'attemptTimeoutMs'
  | 'maxAttempts'
  | 'traceId'
  | 'traceparent'
  | 'tracestate'
  | 'idempotent'
>;

/** Per-endpoint statistics. */
export interface EndpointStats {
  url: string;
  state: EndpointState;
  breaker: 'closed' | 'open' | 'half-open' | 'off';
  inFlight: number;
  successes: number;
  failures: Partial<Record<FailureKind, number>>;
  latencyEwmaMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/** The client's counters, as `client.stats()` reports them. */
export interface CallTotals {
  calls: number;
  succeeded: number;
  failed: number;
  inFlight: number;
  attempts: number;
  retries: number;
  failovers: number;
  hedges: number;
  budgetExhausted: number;
}

/** `client.stats()`: the counters and every endpoint's figures. */
export interface ClientStats extends CallTotals {
  endpoints: EndpointStats[];
}

/** One entry of `client.batch`. */
export interface BatchCall {
  method: string;
  params?: JsonRpcParams;
  /** Send as a notification (no result). */
  notification?: boolean;
}

/** One result of `client.batch`, in the order of the calls. */
export type BatchResult =
  | { ok: true; result: unknown }
  | { ok: false; error: import('../errors/rpc-error.js').RpcError };
