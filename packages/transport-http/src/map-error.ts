import {
  CancelledError,
  ConnectionLostError,
  NotSentError,
  ProtocolError,
  RpcError,
  TimeoutError,
} from '@resilient-rpc/core';

const codes = (list: string) => new Set(list.split(' '));
/** The request could not reach the server at all. */
const UNREACHABLE = codes(
  'ECONNREFUSED ENOTFOUND EAI_AGAIN EHOSTUNREACH ENETUNREACH EHOSTDOWN ENETDOWN EADDRNOTAVAIL ERR_INVALID_URL',
);
/** An attempt timer (axios `timeout`, socket timeouts). */
const TIMEOUTS = codes('ECONNABORTED ETIMEDOUT ESOCKETTIMEDOUT');
/** The connection broke while the request or its response was on the wire. */
const LOST = codes(
  'ECONNRESET EPIPE ECONNABORTED ERR_STREAM_PREMATURE_CLOSE ERR_SOCKET_CLOSED ERR_STREAM_DESTROYED',
);

interface ErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly request?: { readonly writableFinished?: unknown } | null;
  readonly cause?: { readonly code?: unknown } | null;
}

/**
 * Maps an axios / Node.js failure of one HTTP attempt into an {@link RpcError} of the right
 * kind. The original error is kept as `cause`. "Written" means the whole request reached the
 * operating system's socket, i.e. the server may have received and processed it; a request that
 * never connected, or whose body was still buffered in the client, cannot have been processed.
 *
 * - aborted through the attempt's signal → the signal's reason (the core replaces it anyway);
 * - refused, unknown host, unreachable → `not-sent`;
 * - attempt timer fired → `not-sent` if the request was never written (connect timeout), else `timeout`;
 * - reset / hang-up → `connection-lost` once the request was written, `not-sent` before;
 * - a malformed HTTP response (`HPE_*`) → `protocol`;
 * - a response body over `maxResponseBytes` (axios `maxContentLength`) → `protocol`.
 */
export function mapHttpError(
  error: unknown,
  endpoint: string,
  signal?: AbortSignal,
  maxResponseBytes?: number,
): RpcError {
  if (RpcError.isInstance(error)) return error;
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (RpcError.isInstance(reason)) return reason;
    return new CancelledError('the call was cancelled', { cause: error, endpoint });
  }
  const candidate = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const own = candidate.code;
  const cause = candidate.cause;
  const code =
    typeof own === 'string'
      ? own
      : typeof cause === 'object' && typeof cause?.code === 'string'
        ? cause.code
        : undefined;
  const message = typeof candidate.message === 'string' ? candidate.message : String(error);
  const request = candidate.request;
  const written = typeof request === 'object' && request?.writableFinished === true;
  const options = { cause: error, endpoint };
  if (code === 'ERR_CANCELED') return new CancelledError('the request was cancelled', options);
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new NotSentError(`cannot reach ${endpoint}: ${message}`, options);
  }
  if (code !== undefined && TIMEOUTS.has(code) && /timeout/i.test(message)) {
    return written
      ? new TimeoutError(`no answer from ${endpoint} in time: ${message}`, options)
      : new NotSentError(`connecting to ${endpoint} timed out: ${message}`, options);
  }
  if (code === 'ERR_BAD_RESPONSE' && /maxContentLength size of \d+ exceeded/.test(message)) {
    // A hostile or broken server: reading stopped at the limit. Another attempt would get the same.
    const limit = maxResponseBytes ?? Number(/size of (\d+)/.exec(message)?.[1]);
    return new ProtocolError(
      `the response from ${endpoint} is larger than maxResponseBytes (${limit} bytes); reading stopped there`,
      options,
    );
  }
  if (code?.startsWith('HPE_')) {
    return new ProtocolError(`malformed HTTP response from ${endpoint}: ${message}`, options);
  }
  if ((code !== undefined && LOST.has(code)) || /socket hang up|aborted/i.test(message)) {
    return written
      ? new ConnectionLostError(`connection to ${endpoint} lost: ${message}`, options)
      : new NotSentError(`connection to ${endpoint} failed before the request was sent: ${message}`, options);
  }
  return written
    ? new ConnectionLostError(`request to ${endpoint} failed: ${message}`, options)
    : new NotSentError(`request to ${endpoint} failed before it was sent: ${message}`, options);
}
