import type { HeartbeatOptions } from '../detection/heartbeat.js';
import { LatencyTracker } from '../detection/latency-tracker.js';
import { OutlierDetector } from '../detection/outlier-detector.js';
import {
  CancelledError,
  ConnectionLostError,
  NotSentError,
  OverloadedError,
  ProtocolError,
  RejectedError,
  RemoteError,
  RetriesExhaustedError,
  TimeoutError,
  toRpcError,
} from '../errors/kinds.js';
import { RpcError } from '../errors/rpc-error.js';
import { TypedEmitter } from '../events/emitter.js';
import type { ClientEventListener, ClientEventName } from '../events/types.js';
import { ErrorCodes, NOT_PROCESSED_CODES } from '../protocol/codes.js';
import type { JsonRpcParams, JsonRpcRequest, JsonRpcResponse, WireMetadata } from '../protocol/types.js';
import { backoffDelay } from '../recovery/backoff.js';
import { type Balancer, createBalancer } from '../recovery/balancer.js';
import { Bulkhead } from '../recovery/bulkhead.js';
import { RetryBudget } from '../recovery/retry-budget.js';
import { type ClientTransport, type ConnectOptions, schemeOf } from '../transport.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { defaultRandom, type Random } from '../util/random.js';
import { ClientDefaults } from './defaults.js';
import { Endpoint } from './endpoint.js';
import { EndpointDiscovery } from './endpoint-discovery.js';
import { type ApiProxy, createProxy } from './proxy.js';
import type {
  BatchCall,
  BatchResult,
  CallOptions,
  ClientOptions,
  ClientStats,
  EndpointConfig,
  HedgingOptions,
  RetryOptions,
  StallDetectionOptions,
} from './types.js';

/** A resilient JSON-RPC client over one or more endpoints. */
export interface RpcClient {
  /**
   * Calls `method` and resolves with its result, or rejects with an {@link RpcError} whose `kind`
   * says how it failed (a {@link RetriesExhaustedError} carries every attempt's error).
   */
  call<Result = unknown>(method: string, params?: JsonRpcParams, options?: CallOptions): Promise<Result>;
  /** Sends a notification (no answer, not retried once handed to the network). */
  notify(
    method: string,
    params?: JsonRpcParams,
    options?: Pick<CallOptions, 'signal' | 'deadlineMs'>,
  ): Promise<void>;
  /** Sends several calls as one JSON-RPC batch to one endpoint; results come in call order. */
  batch(
    calls: readonly BatchCall[],
    options?: Pick<CallOptions, 'signal' | 'deadlineMs'>,
  ): Promise<BatchResult[]>;
  /** A typed proxy: `client.proxy<Api>().add(1, 2)` calls `add` with params `[1, 2]`. */
  proxy<Api extends object>(options?: CallOptions): ApiProxy<Api>;
  on<K extends ClientEventName>(name: K, listener: ClientEventListener<K>): () => void;
  stats(): ClientStats;
  addEndpoint(endpoint: string | EndpointConfig): void;
  /** Removes an endpoint: no new calls go there; its in-flight calls finish, then its connection closes. */
  removeEndpoint(url: string): void;
  readonly endpoints: readonly string[];
  /** Stops heartbeats and the resolver, closes every connection and transport. */
  close(): Promise<void>;
}

interface ResolvedPolicies {
  retry: RetryOptions | undefined;
  stall: StallDetectionOptions | undefined;
  hedging: HedgingOptions | undefined;
  heartbeat: Partial<HeartbeatOptions> | undefined;
}

/** The per-call state shared by its attempts. */
interface CallState {
  readonly callId: number;
  readonly method: string;
  readonly params: JsonRpcParams | undefined;
  readonly idempotent: boolean;
  readonly deadlineAt: number;
  readonly attemptTimeoutMs: number | undefined;
  readonly signal: AbortSignal;
  readonly traceId: string | undefined;
  readonly maxAttempts: number;
  readonly hedge: boolean;
  endpoint: Endpoint | undefined;
  attempts: number;
  /** Set by the running attempts: called right after the call's signal aborts (no event listener needed). */
  onAbort: (() => void) | undefined;
  /** Aborts attempts still running once the call has its answer. */
  cancelRest: (() => void) | undefined;
}

const EMPTY: ReadonlySet<Endpoint> = new Set();
/** The message of the cancellation a hedge's loser gets. */
const HEDGE_LOST = 'another attempt answered first';
/** A maintenance timer this late (ms) means the client's own event loop stalled. */
const LOCAL_STALL_TOLERANCE_MS = 250;

/** Creates a client. See {@link ClientOptions} for every policy and its default. */
export function createClient(options: ClientOptions): RpcClient {
  if (!options || !Array.isArray(options.transports) || options.transports.length === 0) {
    throw new TypeError('createClient needs at least one transport (e.g. transports: [httpTransport()])');
  }
  const clock: Clock = options.clock ?? systemClock;
  const random: Random = options.random ?? defaultRandom;
  const emitter = new TypedEmitter();
  const transports = new Map<string, ClientTransport>();
  for (const transport of options.transports)
    for (const scheme of transport.schemes) transports.set(scheme, transport);

  const policies: ResolvedPolicies = {
    retry: options.retry === false ? undefined : { ...ClientDefaults.retry, ...options.retry },
    stall:
      options.stallDetection === false
        ? undefined
        : { ...ClientDefaults.stallDetection, ...options.stallDetection },
    hedging:
      options.hedging === undefined || options.hedging === false
        ? undefined
        : { ...ClientDefaults.hedging, ...(options.hedging === true ? {} : options.hedging) },
    heartbeat: options.heartbeat === false ? undefined : { ...options.heartbeat },
  };
  const defaultDeadlineMs = positiveOrThrow(options.deadlineMs ?? ClientDefaults.deadlineMs, 'deadlineMs');
  const bulkheadLimits =
    options.bulkhead === false
      ? ClientDefaults.bulkhead
      : { ...ClientDefaults.bulkhead, ...options.bulkhead };
  const clientBulkhead = Number.isFinite(bulkheadLimits.maxInFlight)
    ? new Bulkhead({ maxConcurrent: bulkheadLimits.maxInFlight, maxQueue: bulkheadLimits.maxQueue })
    : undefined;
  const budget =
    options.retryBudget === false ? undefined : new RetryBudget(options.retryBudget ?? {}, clock);
  const balancer: Balancer =
    typeof options.balancer === 'object'
      ? options.balancer
      : createBalancer(options.balancer ?? 'p2c-peak-ewma');
  const outlier =
    options.outlierDetection === false
      ? undefined
      : new OutlierDetector(options.outlierDetection ?? {}, clock);
  const methodOptions = new Map(Object.entries(options.methods ?? {}));
  const globalHeaders = options.headers;
  const allLatency = new LatencyTracker();
  const rescueEnabled = options.rescue !== false;

  const endpoints: Endpoint[] = [];
  const byUrl = new Map<string, Endpoint>();
  const scratch: Endpoint[] = [];
  const totals = {
    calls: 0,
    succeeded: 0,
    failed: 0,
    inFlight: 0,
    attempts: 0,
    retries: 0,
    failovers: 0,
    hedges: 0,
    budgetExhausted: 0,
  };
  let nextCallId = 0;
  let nextRequestId = 0;
  let nextToken = 0;
  let closed = false;
  let maintenance: TimerHandle | undefined;
  let stallChecksResumeAt = Number.NEGATIVE_INFINITY;
  let hedgeDelayCache = { at: Number.NEGATIVE_INFINITY, value: 0 };

  outlier?.onChange((url, ejected, reason) => byUrl.get(url)?.setEjected(ejected, reason));

  function transportFor(url: string): ClientTransport {
    const transport = transports.get(schemeOf(url));
    if (transport === undefined) {
      throw new TypeError(
        `no transport for "${url}": this client has transports for ${[...transports.keys()].join(', ')}`,
      );
    }
    return transport;
  }

  function connectOptions(config: EndpointConfig): ConnectOptions {
    const headers = globalHeaders || config.headers ? { ...globalHeaders, ...config.headers } : undefined;
    return { clock, random, ...(headers && { headers }) };
  }

  function addEndpoint(config: EndpointConfig): void {
    const url = config.url;
    if (byUrl.has(url)) return;
    const transport = transportFor(url);
    const connection = transport.connect(url, connectOptions(config));
    const endpoint = new Endpoint(
      url,
      connection,
      clock,
      (changed, from, to, reason) =>
        emitter.emit('endpoint-state', { at: clock.now(), endpoint: changed.url, from, to, reason }),
      options.circuitBreaker ?? {},
      (changed, to, from) =>
        emitter.emit('breaker-state', { at: clock.now(), endpoint: changed.url, from, to }),
    );
    endpoints.push(endpoint);
    byUrl.set(url, endpoint);
    outlier?.add(url);
    if (policies.heartbeat) {
      endpoint.startHeartbeat(policies.heartbeat, (signal, timeoutMs) =>
        connection.ping
          ? connection.ping({ signal, timeoutMs })
          : connection
              .send(
                { jsonrpc: '2.0', method: 'rpc.ping', id: `ping-${++nextRequestId}` },
                { signal, timeoutMs, metadata: { deadlineMs: timeoutMs } },
              )
              .then(() => undefined),
      );
    }
    emitter.emit('endpoint-added', { at: clock.now(), endpoint: url });
  }

  function removeEndpoint(url: string): void {
    const endpoint = byUrl.get(url);
    if (endpoint === undefined) return;
    endpoint.removed = true;
    byUrl.delete(url);
    endpoints.splice(endpoints.indexOf(endpoint), 1);
    outlier?.remove(url);
    emitter.emit('endpoint-removed', { at: clock.now(), endpoint: url });
    if (endpoint.inFlight === 0) void endpoint.close().catch(() => {});
  }

  const configured = new EndpointDiscovery({
    transportFor,
    connectOptions,
    add: addEndpoint,
    remove: removeEndpoint,
  });
  for (const entry of options.endpoints ?? []) configured.add(entry);
  const stopResolver = options.resolver?.start((next) => {
    if (!closed) configured.replace(next);
  });

  /** Stall checks run while calls are in flight, and never keep an idle client busy. */
  function scheduleMaintenance(): void {
    const stall = policies.stall;
    if (maintenance !== undefined || stall === undefined || closed) return;
    const due = clock.now() + stall.checkIntervalMs;
    maintenance = clock.setTimeout(() => {
      maintenance = undefined;
      const now = clock.now();
      // A sweep that fires late means our own event loop was blocked: answers may be waiting
      // unread in socket buffers, so every endpoint would look stalled. Skip one interval.
      if (now - due > LOCAL_STALL_TOLERANCE_MS) stallChecksResumeAt = now + stall.checkIntervalMs;
      else checkStalls();
      if (totals.inFlight > 0) scheduleMaintenance();
    }, stall.checkIntervalMs);
  }

  function checkStalls(): void {
    const stall = policies.stall;
    if (stall === undefined) return;
    const now = clock.now();
    if (now < stallChecksResumeAt) return;
    for (const endpoint of endpoints) if (endpoint.awaitingAnswer) endpoint.checkStall(stall, now);
  }

  /**
   * Picks an endpoint for an attempt: a usable one this call has not failed on, chosen by the
   * balancer; failing that (panic mode) the least bad endpoint, so a call is always attempted.
   */
  function pick(exclude: ReadonlySet<Endpoint>): Endpoint | undefined {
    const maxPerEndpoint = bulkheadLimits.maxInFlightPerEndpoint;
    scratch.length = 0;
    const now = clock.now();
    for (const endpoint of endpoints) {
      if (endpoint.state === 'ejected' && outlier !== undefined) outlier.isEjected(endpoint.url);
      else if (endpoint.state === 'down') endpoint.expireRefusal(now);
      if (endpoint.usable && !exclude.has(endpoint) && endpoint.inFlight < maxPerEndpoint)
        scratch.push(endpoint);
    }
    if (scratch.length > 0) {
      const chosen = balancer.pick(scratch, random);
      scratch.length = 0;
      return chosen;
    }
    let best: Endpoint | undefined;
    let bestRank = Number.POSITIVE_INFINITY;
    for (const endpoint of endpoints) {
      if (endpoint.inFlight >= maxPerEndpoint) continue;
      const rank = panicRank(endpoint) + (exclude.has(endpoint) ? 10 : 0);
      if (rank < bestRank || (rank === bestRank && best !== undefined && endpoint.inFlight < best.inFlight)) {
        best = endpoint;
        bestRank = rank;
      }
    }
    return best;
  }

  function hasAlternative(exclude: ReadonlySet<Endpoint>): boolean {
    for (const endpoint of endpoints) if (endpoint.usable && !exclude.has(endpoint)) return true;
    return false;
  }

  function hedgeDelay(hedging: HedgingOptions): number {
    if (typeof hedging.delayMs === 'number') return hedging.delayMs;
    const now = clock.now();
    if (now - hedgeDelayCache.at > 100) {
      hedgeDelayCache = {
        at: now,
        value: allLatency.count > 0 ? allLatency.percentile(95) : hedging.minDelayMs,
      };
    }
    return Math.max(hedging.minDelayMs, hedgeDelayCache.value);
  }

  /** Sends one attempt to `endpoint` and feeds the outcome back into its health. */
  async function attempt(
    state: CallState,
    endpoint: Endpoint,
    attemptNumber: number,
    signal: AbortSignal,
    rescue: (() => void) | undefined,
  ): Promise<unknown> {
    const remaining = state.deadlineAt - clock.now();
    if (remaining <= 0)
      throw new TimeoutError('the deadline was spent before the attempt could be sent', {
        endpoint: endpoint.url,
      });
    const breaker = endpoint.breaker;
    if (breaker !== undefined && !breaker.tryAcquire()) {
      throw new NotSentError(`circuit breaker for ${endpoint.url} is ${breaker.state}`, {
        endpoint: endpoint.url,
      });
    }
    const token = ++nextToken;
    const startedAt = endpoint.begin(token, rescue);
    totals.attempts++;
    const id = ++nextRequestId;
    const request: JsonRpcRequest = { jsonrpc: '2.0', method: state.method, id };
    if (state.params !== undefined) request.params = state.params;
    const metadata: WireMetadata = { deadlineMs: Math.floor(remaining), attempt: attemptNumber };
    if (state.idempotent) metadata.idempotent = true;
    if (state.traceId !== undefined) metadata.traceId = state.traceId;
    const timeoutMs =
      state.attemptTimeoutMs === undefined ? remaining : Math.min(remaining, state.attemptTimeoutMs);
    let response: JsonRpcResponse | undefined;
    let failure: RpcError | undefined;
    try {
      response = await endpoint.connection.send(request, { signal, timeoutMs, metadata });
    } catch (error) {
      failure =
        signal.aborted && RpcError.isInstance(signal.reason) ? signal.reason : toRpcError(error, 'protocol');
    } finally {
      // A lost hedge or a timeout leaves without an answer: stall suspicion must still see it.
      endpoint.end(
        token,
        failure !== undefined && (failure.kind === 'timeout' || failure.message === HEDGE_LOST),
      );
      if (endpoint.removed && endpoint.inFlight === 0) void endpoint.close().catch(() => {});
    }
    const now = clock.now();
    const latencyMs = now - startedAt;
    let result: unknown;
    if (failure === undefined) {
      if (signal.aborted && RpcError.isInstance(signal.reason)) failure = signal.reason;
      else if (response === undefined || typeof response !== 'object')
        failure = new ProtocolError('no response for a call', { endpoint: endpoint.url });
      else if (response.id !== id)
        failure = new ProtocolError(`response id ${String(response.id)} does not match request id ${id}`, {
          endpoint: endpoint.url,
        });
      else if ('error' in response) failure = remoteFailure(response.error, endpoint.url);
      else result = response.result;
    }
    feedback(endpoint, failure, latencyMs, now);
    if (emitter.has('attempt-result')) {
      emitter.emit('attempt-result', {
        at: now,
        callId: state.callId,
        method: state.method,
        endpoint: endpoint.url,
        attempt: attemptNumber,
        outcome: failure === undefined ? 'success' : failure.kind,
        latencyMs,
        ...(failure && { error: failure }),
      });
    }
    if (failure !== undefined) throw failure;
    return result;
  }

  /** Feeds an attempt's outcome into the endpoint's latency, breaker, outlier detector and health. */
  function feedback(endpoint: Endpoint, failure: RpcError | undefined, latencyMs: number, now: number): void {
    const breaker = endpoint.breaker;
    if (failure === undefined) {
      endpoint.successes++;
      endpoint.latency.record(latencyMs, now);
      allLatency.record(latencyMs, now);
      endpoint.heard();
      breaker?.record(true);
      outlier?.record(endpoint.url, true);
      endpoint.consecutiveNotSent = 0;
      return;
    }
    endpoint.failures[failure.kind] = (endpoint.failures[failure.kind] ?? 0) + 1;
    switch (failure.kind) {
      case 'remote':
        endpoint.heard();
        // The server answered: it is alive. An error it marks retryable ("unavailable, try
        // elsewhere") still counts against its health, as Envoy counts a 503.
        breaker?.record(!failure.retryable);
        outlier?.record(endpoint.url, !failure.retryable);
        return;
      case 'rejected':
        // Not processed (draining, overloaded, NATS no responders): not proof that a replica
        // serves, so it is not a heartbeat. Down until the Retry-After hint or a short backoff.
        breaker?.release();
        endpoint.consecutiveNotSent++;
        endpoint.refuse(
          now + (failure.retryAfterMs ?? Math.min(5_000, 100 * 2 ** (endpoint.consecutiveNotSent - 1))),
          `rejected: ${failure.message}`,
        );
        return;
      case 'cancelled':
        breaker?.release();
        return;
      case 'not-sent': {
        // Local admission (a full socket buffer) says nothing about the peer's health.
        if (failure.name === 'OverloadedError') return;
        breaker?.record(false);
        outlier?.record(endpoint.url, false);
        // A refused connection is cheap to detect and cheap to avoid: down, then probed after a backoff.
        endpoint.consecutiveNotSent++;
        endpoint.refuse(
          now + Math.min(5_000, 100 * 2 ** (endpoint.consecutiveNotSent - 1)),
          `not sent: ${failure.message}`,
        );
        return;
      }
      default:
        breaker?.record(false);
        outlier?.record(endpoint.url, false);
    }
  }

  function isRetryable(error: RpcError, idempotent: boolean): boolean {
    if (error.kind === 'cancelled') return false;
    if (error.retryable) return true;
    // The server saw the caller's own deadline pass: there is no time left for another attempt.
    if (error.code === ErrorCodes.DeadlineExceeded) return false;
    return idempotent && (error.kind === 'timeout' || error.kind === 'connection-lost');
  }

  /** Runs the attempts of one call: retries with backoff and budget, failover, hedging. */
  function runAttempts(state: CallState): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const errors: RpcError[] = [];
      let failed: Set<Endpoint> | undefined;
      let active = 0;
      let done = false;
      let hedges = 0;
      let timer: TimerHandle | undefined;
      let hedgeTimer: TimerHandle | undefined;
      let controllers: AbortController[] | undefined;
      const hedging = state.hedge ? policies.hedging : undefined;
      const needsOwnSignal = hedging !== undefined || state.attemptTimeoutMs !== undefined;

      const finish = (ok: boolean, value: unknown) => {
        if (done) return;
        done = true;
        timer?.cancel();
        hedgeTimer?.cancel();
        state.onAbort = undefined;
        if (controllers)
          for (const controller of controllers) controller.abort(new CancelledError(HEDGE_LOST));
        // A rescue or hedge still running on the call's own signal loses now.
        if (active > 0) state.cancelRest?.();
        if (ok) resolve(value);
        else reject(value);
      };
      const giveUp = (reason: string) => {
        const error = errors.length === 1 ? errors[0]! : new RetriesExhaustedError(errors, reason);
        if (emitter.has('give-up')) {
          emitter.emit('give-up', {
            at: clock.now(),
            callId: state.callId,
            method: state.method,
            attempts: state.attempts,
            cause: error,
          });
        }
        finish(false, error);
      };
      const onAbort = () => {
        const reason = toRpcError(state.signal.reason, 'cancelled');
        if (errors.length === 0) finish(false, reason);
        else {
          errors.push(reason);
          giveUp(reason.kind === 'timeout' ? 'deadline exceeded' : 'cancelled');
        }
      };
      state.onAbort = onAbort;

      const launch = (isHedge: boolean): boolean => {
        const endpoint = pick(failed ?? EMPTY);
        if (endpoint === undefined) return false;
        const attemptNumber = ++state.attempts;
        const previous = state.endpoint;
        state.endpoint = endpoint;
        if (!isHedge && previous !== undefined && previous !== endpoint) {
          totals.failovers++;
          if (emitter.has('failover')) {
            emitter.emit('failover', {
              at: clock.now(),
              callId: state.callId,
              method: state.method,
              from: previous.url,
              to: endpoint.url,
              attempt: attemptNumber,
            });
          }
        }
        if (emitter.has('attempt')) {
          emitter.emit('attempt', {
            at: clock.now(),
            callId: state.callId,
            method: state.method,
            endpoint: endpoint.url,
            attempt: attemptNumber,
            hedge: isHedge,
          });
        }
        let signal = state.signal;
        if (needsOwnSignal) {
          const controller = new AbortController();
          const forward = () => controller.abort(state.signal.reason);
          state.signal.addEventListener('abort', forward, { once: true });
          (controllers ??= []).push(controller);
          signal = controller.signal;
          if (state.attemptTimeoutMs !== undefined) {
            const attemptTimer = clock.setTimeout(
              () =>
                controller.abort(
                  new TimeoutError(`attempt timeout of ${state.attemptTimeoutMs} ms exceeded`, {
                    endpoint: endpoint.url,
                  }),
                ),
              state.attemptTimeoutMs,
            );
            signal.addEventListener('abort', () => attemptTimer.cancel(), { once: true });
          }
          const cleanup = () => state.signal.removeEventListener('abort', forward);
          active++;
          attempt(state, endpoint, attemptNumber, signal, rescueOf(endpoint)).then(
            (value) => {
              cleanup();
              active--;
              finish(true, value);
            },
            (error: RpcError) => {
              cleanup();
              onFailure(endpoint, error);
            },
          );
        } else {
          active++;
          attempt(state, endpoint, attemptNumber, signal, rescueOf(endpoint)).then(
            (value) => {
              active--;
              finish(true, value);
            },
            (error: RpcError) => onFailure(endpoint, error),
          );
        }
        return true;
      };

      /**
       * Sends an extra copy of the call (a hedge or a rescue) to an endpoint other than `avoid`,
       * taking a retry-budget token; the first answer wins. False when there is no such endpoint
       * (`usableOnly`: none that is healthy) or no token.
       */
      const sendCopy = (avoid: Endpoint, usableOnly: boolean): boolean => {
        const exclude = new Set(failed);
        exclude.add(avoid);
        const target = pick(exclude);
        if (target === undefined || target === avoid || (usableOnly && !target.usable)) return false;
        if (budget !== undefined && !budget.tryWithdraw()) {
          totals.budgetExhausted++;
          emitter.emit('budget-exhausted', { at: clock.now(), callId: state.callId, method: state.method });
          return false;
        }
        totals.hedges++;
        if (emitter.has('hedge')) {
          emitter.emit('hedge', {
            at: clock.now(),
            callId: state.callId,
            method: state.method,
            endpoint: target.url,
            attempt: state.attempts + 1,
          });
        }
        failed ??= new Set();
        const added = !failed.has(avoid);
        failed.add(avoid);
        launch(true);
        if (added) failed.delete(avoid);
        return true;
      };

      /**
       * An idempotent call waiting on an endpoint that turns suspect or down is tried on another
       * usable endpoint at once (like a hedge, within the retry budget).
       */
      const rescueOf = (stalled: Endpoint) =>
        state.idempotent && rescueEnabled
          ? () => {
              if (!done) sendCopy(stalled, true);
            }
          : undefined;

      const scheduleHedge = () => {
        if (hedging === undefined || hedges >= hedging.maxHedges) return;
        hedgeTimer = clock.setTimeout(() => {
          if (done || active === 0 || state.endpoint === undefined) return;
          if (!sendCopy(state.endpoint, false)) return;
          hedges++;
          scheduleHedge();
        }, hedgeDelay(hedging));
      };

      const onFailure = (endpoint: Endpoint, error: RpcError) => {
        active--;
        if (done) return;
        if (error.kind === 'cancelled' && state.signal.aborted) return;
        errors.push(error);
        (failed ??= new Set()).add(endpoint);
        if (active > 0) return; // a hedge is still running; it may yet answer
        // Without a per-attempt timeout, an attempt is given the whole remaining deadline: its
        // timeout is the call's deadline, whichever timer fired first.
        if (error.kind === 'timeout' && state.attemptTimeoutMs === undefined)
          return giveUp('deadline exceeded');
        if (!isRetryable(error, state.idempotent))
          return giveUp(
            `${error.kind} is not retryable${state.idempotent ? '' : ' for a non-idempotent call'}`,
          );
        if (state.attempts >= state.maxAttempts) return giveUp(`${state.maxAttempts} attempts made`);
        const remaining = state.deadlineAt - clock.now();
        if (remaining <= 0) return giveUp('deadline exceeded');
        if (budget !== undefined && !budget.tryWithdraw()) {
          totals.budgetExhausted++;
          emitter.emit('budget-exhausted', { at: clock.now(), callId: state.callId, method: state.method });
          return giveUp('retry budget exhausted');
        }
        let delayMs = 0;
        if (error.kind === 'remote' || !hasAlternative(failed)) {
          delayMs = backoffDelay(state.attempts, policies.retry ?? ClientDefaults.retry, random);
          if (error.retryAfterMs !== undefined) delayMs = Math.max(delayMs, error.retryAfterMs);
        }
        delayMs = Math.min(delayMs, Math.max(0, remaining - 1));
        totals.retries++;
        if (emitter.has('retry')) {
          emitter.emit('retry', {
            at: clock.now(),
            callId: state.callId,
            method: state.method,
            attempt: state.attempts + 1,
            delayMs,
            cause: error,
          });
        }
        const retry = () => {
          timer = undefined;
          if (done) return;
          if (!launch(false)) giveUp('no endpoint to retry on');
          else scheduleHedge();
        };
        if (delayMs <= 0) retry();
        else timer = clock.setTimeout(retry, delayMs);
      };

      if (!launch(false)) {
        finish(false, new NotSentError('the client has no endpoints'));
        return;
      }
      scheduleHedge();
    });
  }

  async function call<Result>(
    method: string,
    params?: JsonRpcParams,
    callOptions: CallOptions = {},
  ): Promise<Result> {
    if (closed) throw new NotSentError('the client is closed');
    if (typeof method !== 'string' || method.length === 0)
      throw new TypeError('method must be a non-empty string');
    const perMethod = methodOptions.get(method);
    const deadlineMs = callOptions.deadlineMs ?? perMethod?.deadlineMs ?? defaultDeadlineMs;
    const callId = ++nextCallId;
    const startedAt = clock.now();
    const userSignal = callOptions.signal;
    if (userSignal?.aborted)
      throw new CancelledError('the call was cancelled before it started', { cause: userSignal.reason });
    const idempotent = callOptions.idempotent ?? perMethod?.idempotent ?? false;
    const controller = new AbortController();
    let state: CallState | undefined;
    const abortCall = (reason: RpcError) => {
      if (controller.signal.aborted) return;
      controller.abort(reason);
      state?.onAbort?.();
    };
    const deadlineTimer = clock.setTimeout(
      () => abortCall(new TimeoutError(`deadline of ${deadlineMs} ms exceeded`)),
      deadlineMs,
    );
    const onUserAbort = () =>
      abortCall(new CancelledError('the call was cancelled', { cause: userSignal?.reason }));
    userSignal?.addEventListener('abort', onUserAbort, { once: true });
    totals.calls++;
    totals.inFlight++;
    budget?.deposit();
    scheduleMaintenance();
    state = {
      callId,
      method,
      params,
      idempotent,
      deadlineAt: startedAt + deadlineMs,
      attemptTimeoutMs: callOptions.attemptTimeoutMs ?? options.attemptTimeoutMs,
      signal: controller.signal,
      traceId: callOptions.traceId,
      maxAttempts: callOptions.maxAttempts ?? policies.retry?.maxAttempts ?? 1,
      hedge: idempotent && (callOptions.hedge ?? perMethod?.hedge ?? false),
      endpoint: undefined,
      attempts: 0,
      onAbort: undefined,
      cancelRest: () => abortCall(new CancelledError(HEDGE_LOST)),
    };
    let admitted = clientBulkhead === undefined;
    try {
      if (!admitted) {
        admitted = await clientBulkhead!.acquire(controller.signal);
        if (!admitted)
          throw new OverloadedError(
            `the client has ${clientBulkhead!.inFlight} calls in flight (maxInFlight)`,
          );
      }
      checkStalls();
      const result = (await runAttempts(state)) as Result;
      totals.succeeded++;
      if (emitter.has('call')) {
        emitter.emit('call', {
          at: clock.now(),
          callId,
          method,
          ok: true,
          latencyMs: clock.now() - startedAt,
          attempts: state.attempts,
          endpoint: state.endpoint?.url,
        });
      }
      return result;
    } catch (thrown) {
      const error = toRpcError(
        controller.signal.aborted && !RpcError.isInstance(thrown) ? controller.signal.reason : thrown,
        'cancelled',
      );
      totals.failed++;
      if (emitter.has('call')) {
        emitter.emit('call', {
          at: clock.now(),
          callId,
          method,
          ok: false,
          latencyMs: clock.now() - startedAt,
          attempts: state.attempts,
          endpoint: state.endpoint?.url,
          error,
        });
      }
      throw error;
    } finally {
      totals.inFlight--;
      deadlineTimer.cancel();
      userSignal?.removeEventListener('abort', onUserAbort);
      if (admitted && clientBulkhead !== undefined) clientBulkhead.release();
    }
  }

  async function notify(
    method: string,
    params?: JsonRpcParams,
    callOptions: Pick<CallOptions, 'signal' | 'deadlineMs'> = {},
  ): Promise<void> {
    if (closed) throw new NotSentError('the client is closed');
    const deadlineMs = callOptions.deadlineMs ?? defaultDeadlineMs;
    const request: JsonRpcRequest = { jsonrpc: '2.0', method };
    if (params !== undefined) request.params = params;
    const tried = new Set<Endpoint>();
    const signal = linkedSignal(callOptions.signal, deadlineMs);
    try {
      for (;;) {
        const endpoint = pick(tried);
        if (endpoint === undefined || tried.has(endpoint))
          throw new NotSentError('no endpoint accepted the notification');
        tried.add(endpoint);
        try {
          await endpoint.connection.send(request, {
            signal: signal.signal,
            timeoutMs: deadlineMs,
            metadata: { deadlineMs },
          });
          return;
        } catch (error) {
          const failure = toRpcError(error, 'protocol');
          if (failure.kind !== 'not-sent' || signal.signal.aborted) throw failure;
        }
      }
    } finally {
      signal.dispose();
    }
  }

  async function batch(
    calls: readonly BatchCall[],
    callOptions: Pick<CallOptions, 'signal' | 'deadlineMs'> = {},
  ): Promise<BatchResult[]> {
    if (closed) throw new NotSentError('the client is closed');
    if (calls.length === 0) return [];
    const deadlineMs = callOptions.deadlineMs ?? defaultDeadlineMs;
    const ids: Array<number | undefined> = [];
    const requests = calls.map((entry) => {
      const request: JsonRpcRequest = { jsonrpc: '2.0', method: entry.method };
      if (entry.params !== undefined) request.params = entry.params;
      if (!entry.notification) request.id = ++nextRequestId;
      ids.push(request.id as number | undefined);
      return request;
    });
    const tried = new Set<Endpoint>();
    const signal = linkedSignal(callOptions.signal, deadlineMs);
    try {
      for (;;) {
        let endpoint = pick(tried);
        if (endpoint !== undefined && !endpoint.connection.sendBatch) {
          endpoint = endpoints.find((candidate) => candidate.connection.sendBatch && !tried.has(candidate));
        }
        if (endpoint === undefined || tried.has(endpoint) || !endpoint.connection.sendBatch) {
          throw new NotSentError('no endpoint accepted the batch');
        }
        tried.add(endpoint);
        let responses: JsonRpcResponse[];
        try {
          responses = await endpoint.connection.sendBatch(requests, {
            signal: signal.signal,
            timeoutMs: deadlineMs,
            metadata: { deadlineMs },
          });
        } catch (error) {
          const failure =
            signal.signal.aborted && RpcError.isInstance(signal.signal.reason)
              ? signal.signal.reason
              : toRpcError(error, 'protocol');
          if (failure.kind !== 'not-sent' || signal.signal.aborted) throw failure;
          continue;
        }
        const byId = new Map<unknown, JsonRpcResponse>();
        for (const response of responses ?? []) byId.set(response.id, response);
        return ids.map((id): BatchResult => {
          if (id === undefined) return { ok: true, result: undefined };
          const response = byId.get(id);
          if (response === undefined)
            return { ok: false, error: new ProtocolError(`the batch response has no entry for id ${id}`) };
          if ('error' in response) return { ok: false, error: remoteFailure(response.error, endpoint.url) };
          return { ok: true, result: response.result };
        });
      }
    } finally {
      signal.dispose();
    }
  }

  function linkedSignal(user: AbortSignal | undefined, deadlineMs: number) {
    const controller = new AbortController();
    const timer = clock.setTimeout(
      () => controller.abort(new TimeoutError(`deadline of ${deadlineMs} ms exceeded`)),
      deadlineMs,
    );
    const onAbort = () =>
      controller.abort(new CancelledError('the call was cancelled', { cause: user?.reason }));
    if (user?.aborted) onAbort();
    else user?.addEventListener('abort', onAbort, { once: true });
    return {
      signal: controller.signal,
      dispose() {
        timer.cancel();
        user?.removeEventListener('abort', onAbort);
      },
    };
  }

  const client: RpcClient = {
    call,
    notify,
    batch,
    proxy<Api extends object>(proxyOptions?: CallOptions) {
      return createProxy<Api>((method, args) => call(method, args, proxyOptions));
    },
    on(name, listener) {
      return emitter.on(name, listener);
    },
    stats() {
      return { ...totals, endpoints: endpoints.map((endpoint) => endpoint.stats()) };
    },
    addEndpoint(entry) {
      if (closed) throw new Error('the client is closed');
      configured.add(entry);
    },
    removeEndpoint(url) {
      configured.remove(url);
    },
    get endpoints() {
      return endpoints.map((endpoint) => endpoint.url);
    },
    async close() {
      if (closed) return;
      closed = true;
      maintenance?.cancel();
      stopResolver?.();
      configured.close();
      await Promise.allSettled(endpoints.map((endpoint) => endpoint.close()));
      await Promise.allSettled(options.transports.map((transport) => transport.close?.()));
    },
  };
  return client;
}

/** Turns a JSON-RPC error object into the right failure: not-processed codes are `rejected`. */
function remoteFailure(error: { code: number; message: string; data?: unknown }, endpoint: string): RpcError {
  const data = error.data;
  const retryAfterMs =
    typeof data === 'object' &&
    data !== null &&
    typeof (data as Record<string, unknown>).retryAfterMs === 'number'
      ? ((data as Record<string, unknown>).retryAfterMs as number)
      : undefined;
  if (NOT_PROCESSED_CODES.has(error.code)) {
    return new RejectedError(error.message, {
      code: error.code,
      data,
      endpoint,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    });
  }
  if (error.code === ErrorCodes.DeadlineExceeded) {
    return new TimeoutError(error.message, { code: error.code, data, endpoint });
  }
  // The server shut down mid-request: like a connection lost while waiting, it may have been processed.
  if (error.code === ErrorCodes.Aborted) {
    return new ConnectionLostError(error.message, { code: error.code, data, endpoint });
  }
  const retryable =
    typeof data === 'object' && data !== null && (data as Record<string, unknown>).retryable === true;
  return new RemoteError(error.message, { code: error.code, data, endpoint, retryable });
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

function positiveOrThrow(value: number, name: string): number {
  if (!(value > 0)) throw new RangeError(`${name} must be a positive number of milliseconds (got ${value})`);
  return value;
}
