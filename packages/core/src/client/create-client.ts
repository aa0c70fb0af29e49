import { LatencyTracker } from '../detection/latency-tracker.js';
import { OutlierDetector } from '../detection/outlier-detector.js';
import { StallSuspicion } from '../detection/stall-suspicion.js';
import { NotSentError } from '../errors/kinds.js';
import { TypedEmitter } from '../events/emitter.js';
import type { ClientEventListener, ClientEventName } from '../events/types.js';
import { parseTraceparent, parseTracestate } from '../protocol/metadata.js';
import type { JsonRpcParams, JsonRpcRequest } from '../protocol/types.js';
import { type Balancer, createBalancer } from '../recovery/balancer.js';
import { Bulkhead } from '../recovery/bulkhead.js';
import { DeadlineTimer, validateDeadlineMs } from '../recovery/deadline.js';
import { EndpointSelector } from '../recovery/failover.js';
import { HedgingPolicy } from '../recovery/hedging.js';
import { RescuePolicy } from '../recovery/rescue.js';
import { RetryBudget } from '../recovery/retry-budget.js';
import { RetryPolicy } from '../recovery/retry-policy.js';
import { type ClientConnection, type ClientTransport, type ConnectOptions, schemeOf } from '../transport.js';
import { type Clock, systemClock } from '../util/clock.js';
import { defaultRandom, type Random } from '../util/random.js';
import { BATCH_METHOD, Call, CallProfile, type CallShape, type TraceContext } from './call.js';
import { ClientDefaults } from './defaults.js';
import { Endpoint } from './endpoint.js';
import { EndpointDiscovery } from './endpoint-discovery.js';
import type { CallPipeline } from './pipeline.js';
import { type ApiProxy, createProxy } from './proxy.js';
import type {
  BatchCall,
  BatchOptions,
  BatchResult,
  CallOptions,
  CallTotals,
  ClientOptions,
  ClientStats,
  EndpointConfig,
  MethodOptions,
} from './types.js';

/** A resilient JSON-RPC client over one or more endpoints. */
export interface RpcClient {
  /**
   * Calls `method` and resolves with its result, or rejects with an {@link RpcError} whose `kind`
   * says how it failed (after several attempts, `attempts` holds every attempt's error). Invalid
   * options (a deadline that is not a positive finite number of ms…) reject with a TypeError.
   */
  call<Result = unknown>(method: string, params?: JsonRpcParams, options?: CallOptions): Promise<Result>;
  /**
   * Sends a notification (no answer) through the same policies as `call`; it is treated as not
   * idempotent, so it is retried only when it surely was not processed (`not-sent`, `rejected`).
   */
  notify(method: string, params?: JsonRpcParams, options?: BatchOptions): Promise<void>;
  /**
   * Sends several calls as one JSON-RPC batch to one endpoint, through the same policies as `call`
   * (not idempotent unless `options.idempotent`); results come in call order.
   */
  batch(calls: readonly BatchCall[], options?: BatchOptions): Promise<BatchResult[]>;
  /** A typed proxy: `client.proxy<Api>().add(1, 2)` calls `add` with params `[1, 2]`. */
  proxy<Api extends object>(options?: CallOptions): ApiProxy<Api>;
  /** Subscribes to a client event; returns the unsubscribe function. */
  on<K extends ClientEventName>(name: K, listener: ClientEventListener<K>): () => void;
  /** Counters and per-endpoint statistics. */
  stats(): ClientStats;
  /** Adds an endpoint (a URL or a configuration). */
  addEndpoint(endpoint: string | EndpointConfig): void;
  /** Removes an endpoint: no new calls go there; its in-flight calls finish, then its connection closes. */
  removeEndpoint(url: string): void;
  /** The URLs of the endpoints in use. */
  readonly endpoints: readonly string[];
  /** Stops heartbeats and the resolver, closes every connection and transport. */
  close(): Promise<void>;
}

const NO_OPTIONS: CallOptions = {};
/**
 * Every call option that gives a call a profile of its own (all but `idempotent`). The `satisfies`
 * clause and `Unlisted` below make a new {@link CallOptions} field a type error until it is listed
 * here, so that a call carrying it can never take a shared profile by mistake.
 */
export const OWN_PROFILE_OPTIONS = [
  'deadlineMs',
  'attemptTimeoutMs',
  'signal',
  'hedge',
  'maxAttempts',
  'traceId',
  'traceparent',
  'tracestate',
] as const satisfies ReadonlyArray<keyof CallOptions>;
type Unlisted = Exclude<keyof CallOptions, 'idempotent' | (typeof OWN_PROFILE_OPTIONS)[number]>;
const everyCallOptionListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyCallOptionListed;
/**
 * Whether `callOptions` sets any of {@link OWN_PROFILE_OPTIONS}: one named read each (a loop over
 * the list reads them by computed key, several times slower on the per-call path).
 */
export function hasOwnProfileOption(callOptions: CallOptions): boolean {
  return (
    callOptions.deadlineMs !== undefined ||
    callOptions.attemptTimeoutMs !== undefined ||
    callOptions.signal !== undefined ||
    callOptions.hedge !== undefined ||
    callOptions.maxAttempts !== undefined ||
    callOptions.traceId !== undefined ||
    callOptions.traceparent !== undefined ||
    callOptions.tracestate !== undefined
  );
}
/** Shared call profiles kept at most per cache (one per method; see `sharedProfiles`); then the cache restarts. */
const MAX_SHARED_PROFILES = 1_000;

/**
 * Creates a client: resolves the options, builds the policies of the {@link CallPipeline} and
 * wires the endpoints. Every call is a {@link Call} going through that pipeline; this function
 * holds no policy logic of its own. See {@link ClientOptions} for every policy and its default.
 */
export function createClient(options: ClientOptions): RpcClient {
  if (!options || !Array.isArray(options.transports) || options.transports.length === 0) {
    throw new TypeError('createClient needs at least one transport (e.g. transports: [httpTransport()])');
  }
  const clock: Clock = options.clock ?? systemClock;
  const random: Random = options.random ?? defaultRandom;
  const allowNoDeadline = options.allowNoDeadline === true;
  const defaultDeadlineMs = validateDeadlineMs(
    options.deadlineMs ?? ClientDefaults.deadlineMs,
    'deadlineMs',
    allowNoDeadline,
  );
  const defaultAttemptTimeoutMs =
    options.attemptTimeoutMs === undefined
      ? undefined
      : validateDeadlineMs(options.attemptTimeoutMs, 'attemptTimeoutMs', false);
  const methodOptions = new Map<string, MethodOptions>(Object.entries(options.methods ?? {}));
  for (const [method, perMethod] of methodOptions)
    if (perMethod.deadlineMs !== undefined)
      validateDeadlineMs(perMethod.deadlineMs, `methods.${method}.deadlineMs`, allowNoDeadline);

  const emitter = new TypedEmitter();
  const transports = new Map<string, ClientTransport>();
  for (const transport of options.transports)
    for (const scheme of transport.schemes) transports.set(scheme, transport);

  const retryOptions = options.retry === false ? undefined : { ...ClientDefaults.retry, ...options.retry };
  const bulkheadLimits =
    options.bulkhead === false
      ? ClientDefaults.bulkhead
      : { ...ClientDefaults.bulkhead, ...options.bulkhead };
  const outlier =
    options.outlierDetection === false
      ? undefined
      : new OutlierDetector(options.outlierDetection ?? {}, clock);
  const balancer: Balancer =
    typeof options.balancer === 'object'
      ? options.balancer
      : createBalancer(options.balancer ?? 'p2c-peak-ewma');
  /** Every endpoint's answers together: the hedge delay's percentile (kept only when hedging is on). */
  const allLatency = new LatencyTracker();
  const endpoints: Endpoint[] = [];
  const byUrl = new Map<string, Endpoint>();
  const totals: CallTotals = {
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
  const retired = new Set<Endpoint>();
  /** Shared call profiles by method: of calls without options, and of calls whose only option is `idempotent`. */
  const profiles = new Map<string, CallProfile>();
  const idempotentProfiles = new Map<string, CallProfile>();
  const notIdempotentProfiles = new Map<string, CallProfile>();
  /** The latest shared profile created, its method and its cache (a lookup saved when calls repeat a method). */
  let lastMethod: string | undefined;
  let lastProfile: CallProfile | undefined;
  let lastCache: Map<string, CallProfile> | undefined;

  /**
   * The cache of shared profiles a request with `callOptions` may use: any with no options or with
   * `idempotent` alone (what most calls pass), none with any other option.
   */
  function sharedProfiles(callOptions: CallOptions): Map<string, CallProfile> | undefined {
    if (callOptions === NO_OPTIONS) return profiles;
    if (hasOwnProfileOption(callOptions)) return undefined;
    const idempotent = callOptions.idempotent;
    if (idempotent === true) return idempotentProfiles;
    if (idempotent === false) return notIdempotentProfiles;
    return idempotent === undefined ? profiles : undefined;
  }
  let nextCallId = 0;
  let nextRequestId = 0;
  let closed = false;

  const stallOptions =
    options.stallDetection === false
      ? undefined
      : { ...ClientDefaults.stallDetection, ...options.stallDetection };
  const hedgingOptions =
    options.hedging === undefined || options.hedging === false
      ? undefined
      : { ...ClientDefaults.hedging, ...(options.hedging === true ? {} : options.hedging) };

  const pipeline: CallPipeline = {
    clock,
    deadline: new DeadlineTimer(clock),
    bulkhead: Number.isFinite(bulkheadLimits.maxInFlight)
      ? new Bulkhead({ maxConcurrent: bulkheadLimits.maxInFlight, maxQueue: bulkheadLimits.maxQueue })
      : undefined,
    retry: new RetryPolicy(
      retryOptions ?? ClientDefaults.retry,
      options.retryBudget === false ? undefined : new RetryBudget(options.retryBudget ?? {}, clock),
      random,
    ),
    hedging: hedgingOptions && new HedgingPolicy(hedgingOptions, allLatency),
    rescue: new RescuePolicy(options.rescue !== false),
    selector: new EndpointSelector(
      endpoints,
      balancer,
      random,
      outlier,
      bulkheadLimits.maxInFlightPerEndpoint,
    ),
    stall:
      stallOptions &&
      new StallSuspicion(
        stallOptions,
        clock,
        endpoints,
        retired,
        (endpoint, timeoutMs, signal) => ping(endpoint.connection, timeoutMs, signal),
        () => totals.inFlight > 0,
      ),
    retired,
    events: emitter,
    totals,
    nextRequestId: () => ++nextRequestId,
  };

  outlier?.onChange((url, ejected, reason) => byUrl.get(url)?.signal({ type: 'ejection', ejected, reason }));

  /** A liveness probe: the transport's own ping, else an `rpc.ping` call; any answer proves life. */
  function ping(connection: ClientConnection, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (connection.capabilities.ping && connection.ping) return connection.ping({ signal, timeoutMs });
    return connection
      .send(
        { jsonrpc: '2.0', method: 'rpc.ping', id: `ping-${++nextRequestId}` },
        { signal, timeoutMs, metadata: { deadlineMs: Math.floor(timeoutMs) } },
      )
      .then(() => undefined);
  }

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
    const headers = options.headers || config.headers ? { ...options.headers, ...config.headers } : undefined;
    return { clock, random, ...(headers && { headers }) };
  }

  function addEndpoint(config: EndpointConfig): void {
    const url = config.url;
    if (byUrl.has(url)) return;
    const connection = transportFor(url).connect(url, connectOptions(config));
    const endpoint = new Endpoint(
      url,
      connection,
      clock,
      outlier,
      (changed, from, to, reason) =>
        emitter.emit('endpoint-state', { at: clock.now(), endpoint: changed.url, from, to, reason }),
      options.circuitBreaker ?? {},
      (changed, to, from) =>
        emitter.emit('breaker-state', { at: clock.now(), endpoint: changed.url, from, to }),
    );
    // Only hedging reads it: without hedging, an answer is not recorded a third time.
    if (pipeline.hedging !== undefined) endpoint.sharedLatency = allLatency;
    endpoints.push(endpoint);
    byUrl.set(url, endpoint);
    outlier?.add(url);
    if (options.heartbeat !== false) {
      endpoint.startHeartbeat({ ...options.heartbeat }, (signal, timeoutMs) =>
        ping(connection, timeoutMs, signal),
      );
    }
    emitter.emit('endpoint-added', { at: clock.now(), endpoint: url });
  }

  function removeEndpoint(url: string): void {
    const endpoint = byUrl.get(url);
    if (endpoint === undefined) return;
    byUrl.delete(url);
    endpoints.splice(endpoints.indexOf(endpoint), 1);
    outlier?.remove(url);
    // Calls still waiting there stay watched (stall suspicion, the overtaken rule) until they
    // settle; idempotent ones are rescued elsewhere at once (retire).
    if (endpoint.inFlight > 0) retired.add(endpoint);
    endpoint.retire();
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

  /** Resolves the options of one call into a {@link Call}; throws a TypeError on invalid values. */
  function callOf(
    shape: CallShape,
    method: string,
    params: JsonRpcParams | undefined,
    batch: readonly JsonRpcRequest[] | undefined,
    callOptions: CallOptions,
  ): Call {
    // A request made without call options (or with `idempotent` alone) shares its method's
    // profile (no object per call).
    const cache = shape === 'request' ? sharedProfiles(callOptions) : undefined;
    if (cache !== undefined) {
      // The method called last is the one called next, usually: its profile is at hand.
      const shared = method === lastMethod && cache === lastCache ? lastProfile : cache.get(method);
      if (shared !== undefined) return new Call(++nextCallId, clock.now(), shared, params);
    }
    const perMethod = shape === 'batch' ? undefined : methodOptions.get(method);
    const deadlineMs = callOptions.deadlineMs ?? perMethod?.deadlineMs ?? defaultDeadlineMs;
    if (callOptions.deadlineMs !== undefined) validateDeadlineMs(deadlineMs, 'deadlineMs', allowNoDeadline);
    let attemptTimeoutMs = defaultAttemptTimeoutMs;
    if (callOptions.attemptTimeoutMs !== undefined)
      attemptTimeoutMs = validateDeadlineMs(callOptions.attemptTimeoutMs, 'attemptTimeoutMs', false);
    const idempotent = shape !== 'notification' && (callOptions.idempotent ?? perMethod?.idempotent ?? false);
    const maxAttempts = callOptions.maxAttempts ?? retryOptions?.maxAttempts ?? 1;
    if (!(maxAttempts >= 1) || !Number.isInteger(maxAttempts))
      throw new TypeError(`maxAttempts must be a whole number ≥ 1 (got ${String(maxAttempts)})`);
    const profile = new CallProfile(
      pipeline,
      shape,
      method,
      batch,
      idempotent,
      deadlineMs,
      attemptTimeoutMs,
      maxAttempts,
      shape === 'request' && idempotent && (callOptions.hedge ?? perMethod?.hedge ?? false),
      callOptions.traceId,
      callOptions.signal,
      callOptions.traceparent === undefined ? undefined : traceContextOf(callOptions),
    );
    if (cache !== undefined) {
      if (cache.size >= MAX_SHARED_PROFILES) cache.clear();
      cache.set(method, profile);
      lastMethod = method;
      lastProfile = profile;
      lastCache = cache;
    }
    return new Call(++nextCallId, clock.now(), profile, params);
  }

  function run(call: Call): Promise<unknown> {
    return call.start();
  }

  function call<Result>(
    method: string,
    params?: JsonRpcParams,
    callOptions: CallOptions = NO_OPTIONS,
  ): Promise<Result> {
    if (closed) return Promise.reject(new NotSentError('the client is closed'));
    let created: Call;
    try {
      if (typeof method !== 'string' || method.length === 0)
        throw new TypeError('method must be a non-empty string');
      created = callOf('request', method, params, undefined, callOptions);
    } catch (error) {
      return Promise.reject(error);
    }
    return run(created) as Promise<Result>;
  }

  async function notify(
    method: string,
    params?: JsonRpcParams,
    callOptions: BatchOptions = NO_OPTIONS,
  ): Promise<void> {
    if (closed) throw new NotSentError('the client is closed');
    if (typeof method !== 'string' || method.length === 0)
      throw new TypeError('method must be a non-empty string');
    await run(callOf('notification', method, params, undefined, callOptions));
  }

  async function batch(
    calls: readonly BatchCall[],
    callOptions: BatchOptions = NO_OPTIONS,
  ): Promise<BatchResult[]> {
    if (closed) throw new NotSentError('the client is closed');
    if (!Array.isArray(calls)) throw new TypeError('batch needs an array of calls');
    if (calls.length === 0) return [];
    const requests = calls.map((entry) => {
      const request: JsonRpcRequest = { jsonrpc: '2.0', method: entry.method };
      if (entry.params !== undefined) request.params = entry.params;
      if (!entry.notification) request.id = ++nextRequestId;
      return request;
    });
    return (await run(callOf('batch', BATCH_METHOD, undefined, requests, callOptions))) as BatchResult[];
  }

  return {
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
      pipeline.stall?.stop();
      stopResolver?.();
      configured.close();
      await Promise.allSettled([...endpoints, ...retired].map((endpoint) => endpoint.close()));
      retired.clear();
      await Promise.allSettled(options.transports.map((transport) => transport.close?.()));
      // The shared deadline timer stays armed after its last entry left (re-arming per call would
      // cost a platform timer per call); once closed, it goes as soon as no call is pending.
      pipeline.deadline.stopWhenIdle();
    },
  };
}

/** The validated W3C Trace Context of a call's options; a malformed value is a TypeError. */
function traceContextOf(callOptions: CallOptions): TraceContext {
  const traceparent = parseTraceparent(callOptions.traceparent);
  if (traceparent === undefined)
    throw new TypeError(`traceparent is not a W3C traceparent (got ${String(callOptions.traceparent)})`);
  let tracestate: string | undefined;
  if (callOptions.tracestate !== undefined) {
    tracestate = parseTracestate(callOptions.tracestate);
    if (tracestate === undefined)
      throw new TypeError(`tracestate is not a W3C tracestate (got ${String(callOptions.tracestate)})`);
  }
  return { traceparent, tracestate };
}
