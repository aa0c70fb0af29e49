import { RpcError } from '../errors/rpc-error.js';
import { ErrorCodes } from '../protocol/codes.js';
import {
  errorResponse,
  isNotification,
  parseJson,
  successResponse,
  validateRequest,
} from '../protocol/messages.js';
import { sanitizeMetadata } from '../protocol/metadata.js';
import type { JsonRpcFailure, JsonRpcRequest, JsonRpcResponse, WireMetadata } from '../protocol/types.js';
import {
  type ClientTransport,
  type Dispatcher,
  type DispatcherLimits,
  type IncomingContext,
  type IncomingCredentials,
  type ServerListener,
  schemeOf,
} from '../transport.js';
import { type Clock, systemClock } from '../util/clock.js';
import { MethodRegistry, type RegisteredMethod } from './method-registry.js';
import { RequestScope } from './request-scope.js';
import type { HandlerContext, MethodDefinition, MethodHandler, MethodTable } from './types.js';

/** Server defaults, resolved once. */
export const ServerDefaults = {
  /** Largest message accepted: 1 MiB. */
  maxMessageBytes: 1024 * 1024,
  /** Most requests in one batch. */
  maxBatchSize: 100,
  /** Most requests handled at once across all transports; more are answered -32002 Overloaded. */
  maxInFlight: 10_000,
  /** How long `drain()` waits for in-flight requests before aborting them: 30 s. */
  drainTimeoutMs: 30_000,
} as const;

/** The result of an `authenticate` hook that refuses a request. */
export interface AuthenticationFailure {
  /** `unauthenticated` (missing/invalid credentials, HTTP 401) or `forbidden` (HTTP 403). */
  reason: 'unauthenticated' | 'forbidden';
  message?: string;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  methods?: MethodTable;
  /**
   * Transports whose `listen(url)` creates the listener for a listen URL of their schemes, so that
   * `server.listen('http://0.0.0.0:3000/rpc')` needs no transport-specific code: register the
   * installed transports once (`[httpTransport(), wsTransport(), natsTransport()]`) and take the
   * listen URLs from configuration. Default: none (pass listener objects to `listen`).
   */
  transports?: readonly ClientTransport[];
  /** Default {@link ServerDefaults.maxMessageBytes}. */
  maxMessageBytes?: number;
  /** Default {@link ServerDefaults.maxBatchSize}. */
  maxBatchSize?: number;
  /** Default {@link ServerDefaults.maxInFlight}. */
  maxInFlight?: number;
  /**
   * Called before every request is dispatched with the transport's credentials. Return a
   * principal (handlers see it as `context.auth`), or throw / return an
   * {@link AuthenticationFailure} via {@link refuse} to refuse: the request is never dispatched.
   */
  authenticate?: (credentials: IncomingCredentials | undefined, request: AuthenticationRequest) => unknown;
  /** Send handler error details (stack, cause) to clients. Default false: they go to `onError` only. */
  exposeErrorDetails?: boolean;
  /** Sees every handler error with its full detail (log it). */
  onError?: (error: unknown, context: { method: string; transport: string }) => void;
  /** Time source for deadlines. Default: the system clock. */
  clock?: Clock;
}

/** What the `authenticate` hook learns about the request. */
export interface AuthenticationRequest {
  readonly method: string;
  readonly transport: string;
  readonly remoteAddress: string | undefined;
}

const REFUSAL = Symbol.for('resilient-rpc.refusal');

/** Returns a refusal for the `authenticate` hook: `return refuse('forbidden', 'admins only')`. */
export function refuse(reason: AuthenticationFailure['reason'], message?: string): AuthenticationFailure {
  const failure = { reason, ...(message !== undefined && { message }) } as AuthenticationFailure;
  (failure as unknown as Record<symbol, boolean>)[REFUSAL] = true;
  return failure;
}

function isRefusal(value: unknown): value is AuthenticationFailure {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[REFUSAL] === true;
}

/** Options of {@link RpcServer.drain}. */
export interface DrainOptions {
  /** How long to wait for in-flight requests; then their signals abort. Default 30 s. */
  timeoutMs?: number;
}

/** A JSON-RPC server: one method table served on any number of transports. */
export interface RpcServer {
  /** Starts a transport listener with this server's methods; resolves once it listens. */
  listen<L extends ServerListener>(listener: L): Promise<L>;
  /**
   * Listens on a URL (`http://0.0.0.0:3000/rpc`, `ws://0.0.0.0:3001/rpc`,
   * `nats://127.0.0.1:4222/orders.rpc`): the transport registered in
   * {@link ServerOptions.transports} for the URL's scheme creates the listener. Rejects with a
   * TypeError naming the schemes there are when no registered transport can listen on it.
   */
  listen(url: string): Promise<ServerListener>;
  /** Client URLs of every listener. */
  readonly urls: readonly string[];
  /** The dispatcher transports call (exposed for custom transports and tests). */
  readonly dispatcher: Dispatcher;
  /** Registers another method at runtime. */
  addMethod(name: string, method: MethodHandler | MethodDefinition): void;
  /**
   * Graceful shutdown: stop accepting (new requests are rejected as not processed), finish
   * in-flight requests (aborting them after `timeoutMs`), then close every listener.
   */
  drain(options?: DrainOptions): Promise<void>;
  /** `drain({ timeoutMs: 0 })`: aborts in-flight handlers at once. */
  close(): Promise<void>;
  /** Requests being handled. */
  readonly inFlight: number;
}

/** Creates a server. Add transports with `server.listen(httpListener({ port: 0 }))`. */
export function createServer(options: ServerOptions = {}): RpcServer {
  const clock = options.clock ?? systemClock;
  const limits: DispatcherLimits = {
    maxMessageBytes: positive(options.maxMessageBytes, ServerDefaults.maxMessageBytes, 'maxMessageBytes'),
    maxBatchSize: positive(options.maxBatchSize, ServerDefaults.maxBatchSize, 'maxBatchSize'),
  };
  const maxInFlight = positive(options.maxInFlight, ServerDefaults.maxInFlight, 'maxInFlight');
  const transports = transportsByScheme(options.transports);
  const registry = new MethodRegistry(options.methods, { 'rpc.ping': () => 'pong' });
  const listeners: ServerListener[] = [];
  /** Scopes of the requests whose handlers run (the drain aborts them). */
  const active = new Set<RequestScope>();
  /** Requests admitted and not yet answered, authentication included. */
  let inFlight = 0;
  let accepting = true;
  let idleWaiters: Array<() => void> = [];
  let drainPromise: Promise<void> | undefined;

  const settleIdle = () => {
    if (inFlight === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const waiter of waiters) waiter();
    }
  };

  function failure(request: JsonRpcRequest, code: number, message: string, data?: unknown): JsonRpcFailure {
    return errorResponse(request.id ?? null, code, message, data);
  }

  function abortedByServer(request: JsonRpcRequest): JsonRpcFailure {
    return failure(request, ErrorCodes.Aborted, 'the server shut down before the request finished');
  }

  function errorToResponse(request: JsonRpcRequest, error: unknown, transport: string): JsonRpcFailure {
    if (RpcError.isInstance(error)) {
      const code = error.code ?? ErrorCodes.InternalError;
      let data = error.data;
      if (error.retryable && error.kind === 'remote') {
        data =
          typeof data === 'object' && data !== null && !Array.isArray(data)
            ? { ...data, retryable: true }
            : { retryable: true };
      }
      return failure(request, code, error.message, data);
    }
    options.onError?.(error, { method: request.method, transport });
    if (options.exposeErrorDetails) {
      const detail =
        error instanceof Error
          ? { name: error.name, message: error.message, stack: error.stack }
          : { value: String(error) };
      return failure(request, ErrorCodes.InternalError, 'Internal error', detail);
    }
    return failure(request, ErrorCodes.InternalError, 'Internal error');
  }

  function toArguments(
    method: RegisteredMethod,
    request: JsonRpcRequest,
  ): { ok: true; params: unknown } | { ok: false; reason: string } {
    const params = request.params;
    if (params === undefined || Array.isArray(params)) {
      return { ok: true, params: params ?? (method.paramNames || method.positional ? [] : undefined) };
    }
    if (method.paramNames === undefined) {
      if (!method.positional) return { ok: true, params };
      return { ok: false, reason: 'params must be an array: this method takes its params by position' };
    }
    const named = params as Record<string, unknown>;
    const allowed = method.paramNames;
    for (const key of Object.keys(named)) {
      if (!allowed.includes(key)) return { ok: false, reason: `unknown parameter "${key}"` };
    }
    const positional: unknown[] = [];
    for (const name of allowed) {
      if (!Object.hasOwn(named, name)) return { ok: false, reason: `missing parameter "${name}"` };
      positional.push(named[name]);
    }
    return { ok: true, params: positional };
  }

  async function handleOne(
    request: JsonRpcRequest,
    incoming: IncomingContext,
    metadata: WireMetadata,
  ): Promise<JsonRpcResponse | undefined> {
    const notification = isNotification(request);
    const respond = (response: JsonRpcResponse) => (notification ? undefined : response);
    if (!accepting) return respond(failure(request, ErrorCodes.Draining, 'server is draining'));
    // The slot is reserved before any await (the authenticate hook included): checking here and
    // counting after an await would let every request of one tick pass the limit.
    if (inFlight >= maxInFlight)
      return respond(failure(request, ErrorCodes.Overloaded, 'server is overloaded'));
    inFlight++;
    try {
      return await handleAdmitted(request, incoming, metadata, respond);
    } finally {
      inFlight--;
      settleIdle();
    }
  }

  async function handleAdmitted(
    request: JsonRpcRequest,
    incoming: IncomingContext,
    metadata: WireMetadata,
    respond: (response: JsonRpcResponse) => JsonRpcResponse | undefined,
  ): Promise<JsonRpcResponse | undefined> {
    let auth: unknown;
    if (options.authenticate) {
      try {
        auth = await options.authenticate(incoming.credentials, {
          method: request.method,
          transport: incoming.transport,
          remoteAddress: incoming.remoteAddress,
        });
      } catch (error) {
        options.onError?.(error, { method: request.method, transport: incoming.transport });
        auth = refuse('unauthenticated');
      }
      if (isRefusal(auth)) {
        const forbidden = auth.reason === 'forbidden';
        return respond(
          failure(
            request,
            forbidden ? ErrorCodes.Forbidden : ErrorCodes.Unauthenticated,
            auth.message ?? (forbidden ? 'forbidden' : 'unauthenticated'),
          ),
        );
      }
    }

    // Credentials are checked before the method lookup, so that an unauthenticated caller cannot
    // learn which methods exist or what params they take.
    const method = registry.get(request.method);
    if (method === undefined) return respond(failure(request, ErrorCodes.MethodNotFound, 'Method not found'));
    const args = toArguments(method, request);
    if (!args.ok)
      return respond(failure(request, ErrorCodes.InvalidParams, 'Invalid params', { reason: args.reason }));

    const deadlineMs = metadata.deadlineMs;
    if (deadlineMs !== undefined && deadlineMs <= 0) {
      return respond(failure(request, ErrorCodes.DeadlineExceeded, 'deadline exceeded before dispatch'));
    }
    const scope = new RequestScope(clock, deadlineMs, incoming.signal);
    active.add(scope);
    const context: HandlerContext = {
      method: request.method,
      get signal() {
        return scope.signal;
      },
      metadata,
      remainingMs: () => scope.remainingMs(),
      transport: incoming.transport,
      remoteAddress: incoming.remoteAddress,
      credentials: incoming.credentials,
      auth,
    };
    try {
      const result = await method.handler(args.params, context);
      if (scope.closedByServer) return respond(abortedByServer(request));
      if (scope.expired) return respond(failure(request, ErrorCodes.DeadlineExceeded, 'deadline exceeded'));
      return respond(successResponse(request.id ?? null, result));
    } catch (error) {
      if (scope.closedByServer) return respond(abortedByServer(request));
      if (scope.isDeadlineAbort(error) || (scope.expired && isAbortLike(error))) {
        return respond(failure(request, ErrorCodes.DeadlineExceeded, 'deadline exceeded'));
      }
      return respond(errorToResponse(request, error, incoming.transport));
    } finally {
      scope.dispose();
      active.delete(scope);
    }
  }

  async function handleMessage(
    message: unknown,
    incoming: IncomingContext,
  ): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
    const metadata = sanitizeMetadata(incoming.metadata);
    if (Array.isArray(message)) {
      if (message.length === 0) {
        return errorResponse(null, ErrorCodes.InvalidRequest, 'Invalid Request', { reason: 'empty batch' });
      }
      if (message.length > limits.maxBatchSize) {
        return errorResponse(null, ErrorCodes.BatchTooLarge, 'batch too large', {
          maxBatchSize: limits.maxBatchSize,
        });
      }
      const results = await Promise.all(
        message.map((item) => {
          const validated = validateRequest(item);
          if (!validated.ok) return validated.response;
          return handleOne(validated.request, incoming, requestMetadata(validated.request, metadata));
        }),
      );
      const responses = results.filter((response): response is JsonRpcResponse => response !== undefined);
      return responses.length === 0 ? undefined : responses;
    }
    const validated = validateRequest(message);
    if (!validated.ok) return validated.response;
    return handleOne(validated.request, incoming, requestMetadata(validated.request, metadata));
  }

  const dispatcher: Dispatcher = {
    async handleText(text, incoming) {
      if (typeof text !== 'string') {
        return JSON.stringify(
          errorResponse(null, ErrorCodes.InvalidRequest, 'Invalid Request', {
            reason: 'message must be text',
          }),
        );
      }
      if (utf8LengthExceeds(text, limits.maxMessageBytes)) {
        return JSON.stringify(
          errorResponse(null, ErrorCodes.MessageTooLarge, 'message too large', {
            maxMessageBytes: limits.maxMessageBytes,
          }),
        );
      }
      const parsed = parseJson(text);
      if (!parsed.ok) return JSON.stringify(parsed.response);
      const response = await handleMessage(parsed.value, incoming);
      if (response === undefined) return undefined;
      try {
        return JSON.stringify(response);
      } catch (error) {
        options.onError?.(error, { method: '(serialise)', transport: incoming.transport });
        return JSON.stringify(resultNotSerialisable(response));
      }
    },
    handleMessage,
    get accepting() {
      return accepting;
    },
    limits,
    get inFlight() {
      return inFlight;
    },
  };

  return {
    async listen<L extends ServerListener>(target: L | string): Promise<L | ServerListener> {
      if (!accepting) throw new Error('the server is draining; it cannot listen on new transports');
      const listener = typeof target === 'string' ? listenerFor(transports, target) : target;
      await listener.start(dispatcher);
      listeners.push(listener);
      return listener;
    },
    get urls() {
      return listeners.flatMap((listener) => listener.urls);
    },
    dispatcher,
    addMethod(name, method) {
      registry.add(name, method);
    },
    drain(drainOptions = {}) {
      drainPromise ??= (async () => {
        accepting = false;
        await Promise.allSettled(listeners.map((listener) => listener.stopAccepting()));
        const timeoutMs = drainOptions.timeoutMs ?? ServerDefaults.drainTimeoutMs;
        if (inFlight > 0) {
          await new Promise<void>((resolve) => {
            const timer = clock.setTimeout(() => {
              for (const scope of active)
                scope.abort(new RpcError('cancelled', 'the server closed', { code: ErrorCodes.Aborted }));
              resolve();
            }, timeoutMs);
            idleWaiters.push(() => {
              timer.cancel();
              resolve();
            });
          });
        }
        // The last handler has returned, but its answer is written by the transport a few
        // microtasks later: give it one macrotask before the listeners close their sockets.
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        await Promise.allSettled(listeners.map((listener) => listener.close()));
      })();
      return drainPromise;
    },
    close() {
      return this.drain({ timeoutMs: 0 });
    },
    get inFlight() {
      return inFlight;
    },
  };
}

/** Registered transports by lower-case scheme, checked once at `createServer`. */
function transportsByScheme(given: readonly ClientTransport[] | undefined): Map<string, ClientTransport> {
  const byScheme = new Map<string, ClientTransport>();
  if (given === undefined) return byScheme;
  if (!Array.isArray(given))
    throw new TypeError('transports must be an array of transports (e.g. transports: [httpTransport()])');
  for (const transport of given) {
    if (typeof transport !== 'object' || transport === null || !Array.isArray(transport.schemes)) {
      throw new TypeError(
        `transports must hold transports such as httpTransport() (got ${describe(transport)})`,
      );
    }
    for (const scheme of transport.schemes) {
      // The first registration wins, as on the client: list a more specific transport first.
      if (!byScheme.has(scheme.toLowerCase())) byScheme.set(scheme.toLowerCase(), transport);
    }
  }
  return byScheme;
}

const LISTEN_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The listener the transport registered for `url`'s scheme creates; a TypeError when none can. */
function listenerFor(transports: ReadonlyMap<string, ClientTransport>, url: string): ServerListener {
  const listening = [...transports].filter(([, transport]) => typeof transport.listen === 'function');
  const available =
    listening.length === 0
      ? transports.size === 0
        ? 'no transports are registered: pass them as createServer({ transports: [httpTransport(), wsTransport()] })'
        : `none of the registered transports (${[...new Set([...transports.values()].map((t) => t.name))].join(', ')}) can listen`
      : `the registered transports listen on ${listening.map(([scheme]) => `${scheme}://`).join(', ')}`;
  // A listen URL names its scheme before "://"; `0.0.0.0:3000` or `localhost:80` would otherwise
  // read as schemes "0.0.0.0" and "localhost".
  const scheme = typeof url === 'string' && LISTEN_URL.test(url) ? schemeOf(url) : '';
  if (scheme === '')
    throw new TypeError(`listen URL "${url}" has no scheme (e.g. http://0.0.0.0:3000/rpc); ${available}`);
  const transport = transports.get(scheme);
  if (transport === undefined) throw new TypeError(`no transport listens on "${url}": ${available}`);
  if (typeof transport.listen !== 'function') {
    throw new TypeError(
      `the ${transport.name} transport cannot create a listener for "${url}" (it has no listen(url)): ${available}`,
    );
  }
  return transport.listen(url);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object without schemes' : typeof value;
}

const encoder = new TextEncoder();

/** Whether `text` takes more than `maxBytes` bytes in UTF-8, encoding it only when it must. */
function utf8LengthExceeds(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true; // at least one byte per UTF-16 unit
  if (text.length * 3 <= maxBytes) return false; // at most three bytes per UTF-16 unit
  return encoder.encode(text).length > maxBytes;
}

/** An AbortError-like rejection from something the handler passed its signal to. */
function isAbortLike(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as Error).name === 'AbortError' || RpcError.isInstance(error))
  );
}

function requestMetadata(request: JsonRpcRequest, transportMetadata: WireMetadata): WireMetadata {
  // WebSocket carries metadata in the request's `meta` member; header transports pass it in the context.
  return request.meta === undefined ? transportMetadata : sanitizeMetadata(request.meta);
}

function resultNotSerialisable(
  response: JsonRpcResponse | JsonRpcResponse[],
): JsonRpcResponse | JsonRpcResponse[] {
  const replace = (item: JsonRpcResponse): JsonRpcResponse => {
    try {
      JSON.stringify(item);
      return item;
    } catch {
      return errorResponse(item.id, ErrorCodes.InternalError, 'Internal error', {
        reason: 'result is not JSON-serialisable',
      });
    }
  };
  return Array.isArray(response) ? response.map(replace) : replace(response);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be a positive number (got ${value})`);
  return value;
}
