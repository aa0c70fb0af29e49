import { RpcError, type RpcErrorOptions } from './rpc-error.js';

/** The request never left this process (connection refused, socket not open, breaker open). */
export class NotSentError extends RpcError {
  constructor(message: string, options?: RpcErrorOptions) {
    super('not-sent', message, options);
    this.name = 'NotSentError';
  }
}

/** The server (or broker) refused the request before processing it: draining, overloaded, no responders. */
export class RejectedError extends RpcError {
  constructor(message: string, options?: RpcErrorOptions) {
    super('rejected', message, options);
    this.name = 'RejectedError';
  }
}

/** Local admission control refused the call (bulkhead full, socket buffer over its bound). Nothing was sent. */
export class OverloadedError extends RpcError {
  constructor(message: string, options?: RpcErrorOptions) {
    super('not-sent', message, options);
    this.name = 'OverloadedError';
  }
}

/** The call's deadline or an attempt timeout passed before an answer came. */
export class TimeoutError extends RpcError {
  constructor(message: string, options?: RpcErrorOptions) {
    super('timeout', message, options);
    this.name = 'TimeoutError';
  }
}

/** The connection closed while the request was in flight; it may or may not have been processed. */
export class ConnectionLostError extends RpcError {
  constructor(message: string, options?: RpcErrorOptions) {
    super('connection-lost', message, options);
    this.name = 'ConnectionLostError';
  }
}

/** The server processed the request and answered with a JSON-RPC error. */
export class RemoteError extends RpcError {
  constructor(message: string, options?: RpcErrorOptions) {
    super('remote', message, options);
    this.name = 'RemoteError';
  }
}

/** The answer could not be understood (not JSON, not JSON-RPC, wrong id). */
export class ProtocolError extends RpcError {
  constructor(message: string, options?: RpcErrorOptions) {
    super('protocol', message, options);
    this.name = 'ProtocolError';
  }
}

/** The caller aborted the call. */
export class CancelledError extends RpcError {
  constructor(message = 'the call was cancelled', options?: RpcErrorOptions) {
    super('cancelled', message, options);
    this.name = 'CancelledError';
  }
}

/**
 * Every attempt failed (or the budget, deadline or policy allowed no more). `kind` and
 * `retryable` are those of the last attempt; `attempts` holds each attempt's error in order.
 */
export class RetriesExhaustedError extends RpcError {
  readonly attempts: readonly RpcError[];
  constructor(attempts: readonly RpcError[], reason: string) {
    const last = attempts[attempts.length - 1];
    super(
      last?.kind ?? 'not-sent',
      `call failed after ${attempts.length} attempt(s) (${reason})${last ? `: ${last.message}` : ''}`,
      {
        cause: last,
        ...(last?.code !== undefined && { code: last.code }),
        ...(last?.data !== undefined && { data: last.data }),
        ...(last?.endpoint !== undefined && { endpoint: last.endpoint }),
        retryable: last?.retryable ?? false,
      },
    );
    this.name = 'RetriesExhaustedError';
    this.attempts = attempts;
  }
}

/** Wraps any thrown value as an {@link RpcError} of `fallbackKind`, keeping it as the cause. */
export function toRpcError(error: unknown, fallbackKind: RpcError['kind'] = 'protocol'): RpcError {
  if (RpcError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RpcError(fallbackKind, message, { cause: error });
}
