import { type FailureKind, RpcError, type RpcErrorOptions } from './rpc-error.js';

/** The request never left this process (connection refused, socket not open, breaker open). */
export class NotSentError extends RpcError {
  declare readonly kind: 'not-sent';
  constructor(message: string, options?: RpcErrorOptions) {
    super('not-sent', message, options);
    this.name = 'NotSentError';
  }
}

/** The server (or broker) refused the request before processing it: draining, overloaded, no responders. */
export class RejectedError extends RpcError {
  declare readonly kind: 'rejected';
  constructor(message: string, options?: RpcErrorOptions) {
    super('rejected', message, options);
    this.name = 'RejectedError';
  }
}

/**
 * Local admission control refused the call (bulkhead full, socket buffer over its bound). Nothing
 * was sent; its kind is `not-sent` and `local` is true (it says nothing about the peer's health).
 */
export class OverloadedError extends NotSentError {
  constructor(message: string, options?: RpcErrorOptions) {
    super(message, { ...options, local: true });
    this.name = 'OverloadedError';
  }
}

/** The call's deadline or an attempt timeout passed before an answer came. */
export class TimeoutError extends RpcError {
  declare readonly kind: 'timeout';
  constructor(message: string, options?: RpcErrorOptions) {
    super('timeout', message, options);
    this.name = 'TimeoutError';
  }
}

/** The connection closed while the request was in flight; it may or may not have been processed. */
export class ConnectionLostError extends RpcError {
  declare readonly kind: 'connection-lost';
  constructor(message: string, options?: RpcErrorOptions) {
    super('connection-lost', message, options);
    this.name = 'ConnectionLostError';
  }
}

/** The server processed the request and answered with a JSON-RPC error. */
export class RemoteError extends RpcError {
  declare readonly kind: 'remote';
  constructor(message: string, options?: RpcErrorOptions) {
    super('remote', message, options);
    this.name = 'RemoteError';
  }
}

/** The answer could not be understood (not JSON, not JSON-RPC, wrong id). */
export class ProtocolError extends RpcError {
  declare readonly kind: 'protocol';
  constructor(message: string, options?: RpcErrorOptions) {
    super('protocol', message, options);
    this.name = 'ProtocolError';
  }
}

/** The caller aborted the call. */
export class CancelledError extends RpcError {
  declare readonly kind: 'cancelled';
  constructor(message = 'the call was cancelled', options?: RpcErrorOptions) {
    super('cancelled', message, options);
    this.name = 'CancelledError';
  }
}

/**
 * Every error a call can end with, as a union discriminated by `kind`: `switch (error.kind)`
 * narrows to the class of that kind.
 */
export type RpcFailure =
  | NotSentError
  | RejectedError
  | TimeoutError
  | ConnectionLostError
  | RemoteError
  | ProtocolError
  | CancelledError;

/** The error class of a failure kind. */
export type RpcFailureOf<K extends FailureKind> = Extract<RpcFailure, { readonly kind: K }>;

const CLASS_OF_KIND: {
  readonly [K in FailureKind]: new (
    message: string,
    options?: RpcErrorOptions,
  ) => RpcFailureOf<K>;
} = {
  'not-sent': NotSentError,
  rejected: RejectedError,
  timeout: TimeoutError,
  'connection-lost': ConnectionLostError,
  remote: RemoteError,
  protocol: ProtocolError,
  cancelled: CancelledError,
};

/**
 * Whether `value` is a resilient-rpc error (of `kind`, when given), narrowing its type: after
 * `isRpcError(error, 'timeout')` it is a {@link TimeoutError}; after `isRpcError(error)`,
 * `switch (error.kind)` narrows each case. Works across duplicate installs of the package.
 */
export function isRpcError(value: unknown): value is RpcFailure;
export function isRpcError<K extends FailureKind>(value: unknown, kind: K): value is RpcFailureOf<K>;
export function isRpcError(value: unknown, kind?: FailureKind): boolean {
  return RpcError.isInstance(value) && (kind === undefined || value.kind === kind);
}

/** Creates the error of `kind` (the class of that kind: `TimeoutError` for `timeout`…). */
export function rpcErrorOfKind<K extends FailureKind>(
  kind: K,
  message: string,
  options?: RpcErrorOptions,
): RpcFailureOf<K> {
  return new CLASS_OF_KIND[kind](message, options) as RpcFailureOf<K>;
}

/**
 * The error of a call that made more than one attempt and failed: an error of the last attempt's
 * kind and class (a call that ran out of attempts on timeouts is a {@link TimeoutError}), whose
 * `attempts` holds every attempt's error in order and whose `cause` is the last one. `detail`
 * says why no further attempt was made, when the last error does not already say it.
 */
export function retriesExhausted(attempts: readonly RpcError[], detail?: string): RpcFailure {
  const last = attempts[attempts.length - 1];
  if (last === undefined) return new NotSentError('the call failed before any attempt was made');
  const count = attempts.length;
  const message = `the call failed after ${count} attempt${count === 1 ? '' : 's'}${detail ? ` (${detail})` : ''}: ${last.message}`;
  return rpcErrorOfKind(last.kind, message, {
    cause: last,
    attempts,
    retryable: last.retryable,
    local: last.local,
    ...(last.code !== undefined && { code: last.code }),
    ...(last.data !== undefined && { data: last.data }),
    ...(last.endpoint !== undefined && { endpoint: last.endpoint }),
    ...(last.retryAfterMs !== undefined && { retryAfterMs: last.retryAfterMs }),
  });
}

/** Wraps any thrown value as an {@link RpcError} of `fallbackKind`, keeping it as the cause. */
export function toRpcError(error: unknown, fallbackKind: FailureKind = 'protocol'): RpcFailure {
  if (RpcError.isInstance(error)) return error as RpcFailure;
  const message = error instanceof Error ? error.message : String(error);
  return rpcErrorOfKind(fallbackKind, message, { cause: error });
}
