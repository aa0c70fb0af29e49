import { RpcError } from '../errors/rpc-error.js';
import { ErrorCodes } from '../protocol/codes.js';
import { errorResponse, successResponse } from '../protocol/messages.js';
import type { JsonRpcFailure, JsonRpcRequest, JsonRpcResponse, WireMetadata } from '../protocol/types.js';
import { DeadlineTimer } from '../recovery/deadline.js';
import type { IncomingContext } from '../transport.js';
import type { Clock } from '../util/clock.js';
import { type Authenticate, isRefusal, refuse } from './authentication.js';
import type { InFlightLimit } from './in-flight-limit.js';
import type { RequestObservation, RequestOutcome, ServerInstrumentation } from './instrumentation.js';
import type { MethodRegistry, RegisteredMethod } from './method-registry.js';
import { ConnectionWatch, RequestScope, type ScopeOwner, serverClosedError } from './request-scope.js';

/** What {@link RequestHandler} needs from the server's options, resolved. */
export interface RequestHandlerOptions {
  readonly clock: Clock;
  readonly maxInFlight: number;
  readonly registry: MethodRegistry;
  readonly authenticate: Authenticate | undefined;
  readonly exposeErrorDetails: boolean;
  readonly onError: ((error: unknown, context: { method: string; transport: string }) => void) | undefined;
  readonly instrumentation?: ServerInstrumentation | undefined;
}

/** One request's answer: a response, or `undefined` for a notification. */
export type Answer = JsonRpcResponse | undefined;

/**
 * Runs one validated request: admission (the server's in-flight limit and the connection's), the
 * `authenticate` hook, the method lookup, params, the caller's deadline, the handler, and the
 * mapping of whatever the handler did to a response. A synchronous handler is answered
 * synchronously (no promise on the hot path); nothing here throws or rejects.
 */
export class RequestHandler implements ScopeOwner {
  readonly clock: Clock;
  readonly active = new Set<RequestScope>();
  readonly deadlines: DeadlineTimer;
  readonly connections = new ConnectionWatch();
  /** True once the server aborted every request in flight. */
  closed = false;
  /** False once the server drains: new requests are answered -32003. */
  accepting = true;
  /** Requests admitted and not yet answered, authentication included. */
  inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: RequestHandlerOptions) {
    this.clock = options.clock;
    // Unref'd: a handler's deadline does not keep the process alive (the listeners do).
    this.deadlines = new DeadlineTimer(options.clock, { keepAlive: false });
  }

  /** Answers one request; `metadata` is sanitised and clamped already. */
  handle(
    request: JsonRpcRequest,
    incoming: IncomingContext,
    metadata: WireMetadata,
    limit: InFlightLimit | undefined,
  ): Answer | Promise<Answer> {
    const instrumentation = this.options.instrumentation;
    if (instrumentation === undefined) return this.admit(request, incoming, metadata, limit);
    return this.observed(instrumentation, request, incoming, metadata, limit);
  }

  /** {@link handle} with the instrumentation told of the request and its outcome. */
  private observed(
    instrumentation: ServerInstrumentation,
    request: JsonRpcRequest,
    incoming: IncomingContext,
    metadata: WireMetadata,
    limit: InFlightLimit | undefined,
  ): Answer | Promise<Answer> {
    const notification = !Object.hasOwn(request, 'id');
    let observation: RequestObservation | undefined;
    try {
      observation = instrumentation.onRequest({
        method: request.method,
        metadata,
        transport: incoming.transport,
        remoteAddress: incoming.remoteAddress,
        notification,
      });
    } catch {
      // A broken instrumentation must not fail the request.
    }
    if (observation === undefined) return this.admit(request, incoming, metadata, limit);
    const observer = observation;
    const admit = () => this.admit(request, incoming, metadata, limit);
    let answer: Answer | Promise<Answer>;
    try {
      answer = observer.run === undefined ? admit() : observer.run(admit);
    } catch (error) {
      report(observer, { ok: false, code: ErrorCodes.InternalError });
      throw error;
    }
    if (isThenable(answer))
      return answer.then((settled) => {
        report(observer, outcomeOf(settled));
        return settled;
      });
    report(observer, outcomeOf(answer));
    return answer;
  }

  private admit(
    request: JsonRpcRequest,
    incoming: IncomingContext,
    metadata: WireMetadata,
    limit: InFlightLimit | undefined,
  ): Answer | Promise<Answer> {
    const notification = !Object.hasOwn(request, 'id');
    if (!this.accepting)
      return notification ? undefined : failure(request, ErrorCodes.Draining, 'server is draining');
    // The slot is reserved before any await (the authenticate hook included): checking here and
    // counting after an await would let every request of one tick pass the limit.
    if (this.inFlight >= this.options.maxInFlight)
      return notification ? undefined : failure(request, ErrorCodes.Overloaded, 'server is overloaded');
    if (limit !== undefined && !limit.tryAcquire()) {
      if (notification) return undefined;
      return failure(request, ErrorCodes.Overloaded, 'too many requests in flight on this connection', {
        maxInFlight: limit.maxInFlight,
      });
    }
    this.inFlight++;
    const authenticate = this.options.authenticate;
    if (authenticate !== undefined)
      return this.authenticated(request, incoming, metadata, authenticate, limit, notification);
    return this.invoke(request, incoming, metadata, undefined, limit, notification);
  }

  /** Resolves once no request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Aborts every handler in flight: their answers become -32008 whatever they do next. */
  abortAll(): void {
    this.closed = true;
    for (const scope of this.active) scope.abort(serverClosedError());
  }

  /**
   * The server is closed: the shared deadline timer is cancelled once no handler is timed by it
   * (at once if none is), so that a closed server leaves no timer behind.
   */
  stopTimers(): void {
    this.deadlines.stopWhenIdle();
  }

  private release(limit: InFlightLimit | undefined): void {
    limit?.release();
    this.inFlight--;
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }

  /** Releases the request's slots and returns its answer (none for a notification). */
  private settle(limit: InFlightLimit | undefined, notification: boolean, response: JsonRpcResponse): Answer {
    this.release(limit);
    return notification ? undefined : response;
  }

  private async authenticated(
    request: JsonRpcRequest,
    incoming: IncomingContext,
    metadata: WireMetadata,
    authenticate: Authenticate,
    limit: InFlightLimit | undefined,
    notification: boolean,
  ): Promise<Answer> {
    let auth: unknown;
    try {
      auth = await authenticate(incoming.credentials, {
        method: request.method,
        transport: incoming.transport,
        remoteAddress: incoming.remoteAddress,
      });
    } catch (error) {
      this.options.onError?.(error, { method: request.method, transport: incoming.transport });
      auth = refuse('unauthenticated');
    }
    if (isRefusal(auth)) {
      const forbidden = auth.reason === 'forbidden';
      const code = forbidden ? ErrorCodes.Forbidden : ErrorCodes.Unauthenticated;
      const message = auth.message ?? (forbidden ? 'forbidden' : 'unauthenticated');
      return this.settle(limit, notification, failure(request, code, message));
    }
    // Credentials are checked before the method lookup, so that an unauthenticated caller cannot
    // learn which methods exist or what params they take.
    return this.invoke(request, incoming, metadata, auth, limit, notification);
  }

  /**
   * Looks the method up, checks params and deadline, runs the handler and maps its outcome;
   * releases the request's slots when it is answered. Synchronous for a synchronous handler; one
   * promise reaction for an asynchronous one.
   */
  private invoke(
    request: JsonRpcRequest,
    incoming: IncomingContext,
    metadata: WireMetadata,
    auth: unknown,
    limit: InFlightLimit | undefined,
    notification: boolean,
  ): Answer | Promise<Answer> {
    const method = this.options.registry.get(request.method);
    if (method === undefined)
      return this.settle(
        limit,
        notification,
        failure(request, ErrorCodes.MethodNotFound, 'Method not found'),
      );
    const params = toArguments(method, request.params);
    if (params === INVALID)
      return this.settle(limit, notification, invalidParams(request, method, request.params));
    if (metadata.deadlineMs !== undefined && metadata.deadlineMs <= 0) {
      const expired = failure(request, ErrorCodes.DeadlineExceeded, 'deadline exceeded before dispatch');
      return this.settle(limit, notification, expired);
    }
    const scope = new RequestScope(this, request.method, metadata, incoming, auth);
    let result: unknown;
    try {
      result = method.handler(params, scope);
    } catch (error) {
      return this.settle(limit, notification, this.failed(request, scope, error));
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.settle(limit, notification, this.succeeded(request, scope, value)),
        (error: unknown) => this.settle(limit, notification, this.failed(request, scope, error)),
      );
    }
    return this.settle(limit, notification, this.succeeded(request, scope, result));
  }

  private succeeded(request: JsonRpcRequest, scope: RequestScope, result: unknown): JsonRpcResponse {
    scope.dispose();
    if (scope.closedByServer) return abortedByServer(request);
    if (scope.expired) return failure(request, ErrorCodes.DeadlineExceeded, 'deadline exceeded');
    return successResponse(request.id ?? null, result);
  }

  /**
   * Whatever a handler throws once its deadline or the server's shutdown ended it (its own
   * Error, a string, an AbortError, the signal's reason) is a consequence of that end: the
   * caller is answered -32001 or -32008, and nothing is reported to `onError`.
   */
  private failed(request: JsonRpcRequest, scope: RequestScope, error: unknown): JsonRpcFailure {
    scope.dispose();
    if (scope.closedByServer) return abortedByServer(request);
    if (scope.expired) return failure(request, ErrorCodes.DeadlineExceeded, 'deadline exceeded');
    return this.errorToResponse(request, error, scope.transport);
  }

  private errorToResponse(request: JsonRpcRequest, error: unknown, transport: string): JsonRpcFailure {
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
    this.options.onError?.(error, { method: request.method, transport });
    if (this.options.exposeErrorDetails) {
      const detail =
        error instanceof Error
          ? { name: error.name, message: error.message, stack: error.stack }
          : { value: String(error) };
      return failure(request, ErrorCodes.InternalError, 'Internal error', detail);
    }
    return failure(request, ErrorCodes.InternalError, 'Internal error');
  }
}

const OK: RequestOutcome = { ok: true };

function outcomeOf(answer: Answer): RequestOutcome {
  if (answer === undefined || !('error' in answer)) return OK;
  return { ok: false, code: answer.error.code };
}

function report(observation: RequestObservation, outcome: RequestOutcome): void {
  try {
    observation.end(outcome);
  } catch {
    // A broken instrumentation must not fail the request.
  }
}

const INVALID = Symbol('invalid params');

/**
 * The params a handler receives: as sent, except that a method with `paramNames` gets named
 * params as an array in that order, and a positional method (`implement<Api>()`) always gets an
 * array (`[]` for absent params). {@link INVALID} when named params do not fit.
 */
function toArguments(method: RegisteredMethod, params: unknown): unknown {
  if (params === undefined) return method.paramNames !== undefined || method.positional ? [] : undefined;
  if (Array.isArray(params)) return params;
  const allowed = method.paramNames;
  if (allowed === undefined) return method.positional ? INVALID : params;
  const named = params as Record<string, unknown>;
  for (const key of Object.keys(named)) if (!allowed.includes(key)) return INVALID;
  const positional: unknown[] = [];
  for (const name of allowed) {
    if (!Object.hasOwn(named, name)) return INVALID;
    positional.push(named[name]);
  }
  return positional;
}

/** The -32602 answer for params {@link toArguments} refused, saying why (off the hot path). */
function invalidParams(request: JsonRpcRequest, method: RegisteredMethod, params: unknown): JsonRpcFailure {
  const allowed = method.paramNames;
  let reason = 'params must be an array: this method takes its params by position';
  if (allowed !== undefined) {
    const named = params as Record<string, unknown>;
    const unknown = Object.keys(named).find((key) => !allowed.includes(key));
    const missing = allowed.find((name) => !Object.hasOwn(named, name));
    reason = unknown !== undefined ? `unknown parameter "${unknown}"` : `missing parameter "${missing}"`;
  }
  return failure(request, ErrorCodes.InvalidParams, 'Invalid params', { reason });
}

function failure(request: JsonRpcRequest, code: number, message: string, data?: unknown): JsonRpcFailure {
  return errorResponse(request.id ?? null, code, message, data);
}

function abortedByServer(request: JsonRpcRequest): JsonRpcFailure {
  return failure(request, ErrorCodes.Aborted, 'the server shut down before the request finished');
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
