/**
 * Every failure of the NATS client side, as the core's failure kinds, in one place:
 *
 * | what happened | kind | may have been processed |
 * | --- | --- | --- |
 * | connection closed, not open in time, a connect attempt failed, publish threw, aborted before sending, params not JSON | `not-sent` (params: `protocol`) | no |
 * | the broker answered "no responders" (503) | `rejected` | no |
 * | no reply within the attempt's time, or the attempt was aborted after sending | `timeout` | maybe |
 * | disconnected from the broker, the connection or the transport closed with the request out | `connection-lost` | maybe |
 * | an empty or malformed reply, a batch reply to a single request | `protocol` | yes |
 */
import {
  ConnectionLostError,
  NotSentError,
  ProtocolError,
  RejectedError,
  type RpcError,
  TimeoutError,
} from '@resilient-rpc/core';

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** nats.js refused to connect (a failed first-connect attempt). */
export function connectFailed(error: unknown): NotSentError {
  return new NotSentError(`cannot connect to NATS: ${reason(error)}`, { cause: error });
}

/** A call on a connection that is closed (or whose transport closed). */
export function connectionClosed(endpoint: string | undefined, cause?: RpcError): NotSentError {
  return new NotSentError('the NATS connection is closed', {
    ...(endpoint !== undefined && { endpoint }),
    ...(cause !== undefined && { cause }),
  });
}

/** The connection did not open within the call's wait (`connectWaitMs`). */
export function notOpenInTime(
  endpoint: string,
  waitMs: number,
  status: string,
  last?: RpcError,
): NotSentError {
  return new NotSentError(
    `the NATS connection was not open within ${waitMs} ms (status ${status})${last ? `: ${last.message}` : ''}`,
    { endpoint, ...(last && { cause: last }) },
  );
}

/** A call (or ping) aborted before anything was published. */
export function abortedBeforeSending(endpoint: string): NotSentError {
  return new NotSentError('aborted before sending', { endpoint });
}

/** nats.js threw on publish: nothing left this process. */
export function publishFailed(error: unknown, endpoint: string): NotSentError {
  return new NotSentError(`NATS publish failed: ${reason(error)}`, { endpoint, cause: error });
}

/** The request's params cannot be written as JSON (a BigInt, a cycle): no retry can send them. */
export function unserialisable(cause: unknown, endpoint: string): ProtocolError {
  return new ProtocolError(`the request cannot be serialised as JSON: ${reason(cause)}`, { endpoint, cause });
}

/** A waiting-for-open error of the shared connection, re-addressed to one endpoint. */
export function forEndpoint(error: RpcError, endpoint: string): RpcError {
  return error.endpoint === undefined
    ? new NotSentError(error.message, { endpoint, cause: error.cause ?? error })
    : error;
}

/** The broker's "no responders" status (503): no instance subscribes, nothing was processed. */
export function noResponders(endpoint: string): RejectedError {
  return new RejectedError('no responders: no service instance subscribes to this subject', { endpoint });
}

/** No reply within the attempt's time. */
export function replyTimedOut(subject: string, timeoutMs: number, endpoint: string): TimeoutError {
  return new TimeoutError(`no reply on ${subject} within ${timeoutMs} ms`, { endpoint });
}

/** The attempt's signal aborted after the request was handed to nats.js. */
export function attemptAborted(endpoint: string): TimeoutError {
  return new TimeoutError('the attempt was aborted', { endpoint });
}

/** nats.js reported a disconnect: replies to requests in flight cannot come back. */
export function disconnected(server: string, endpoint?: string): ConnectionLostError {
  return new ConnectionLostError(
    `disconnected from NATS server ${server}`,
    endpoint === undefined ? undefined : { endpoint },
  );
}

/** The nats.js connection closed for good (`nc.closed()` resolved), with its error if any. */
export function connectionEnded(endpoint: string | undefined, error: unknown): ConnectionLostError {
  const cause = error instanceof Error ? error : undefined;
  return new ConnectionLostError('the NATS connection closed', {
    ...(endpoint !== undefined && { endpoint }),
    ...(cause && { cause }),
  });
}

/** The endpoint connection or the transport was closed while the request was out. */
export function closedLocally(endpoint: string, what: 'connection' | 'transport'): ConnectionLostError {
  return new ConnectionLostError(`the ${what} was closed`, { endpoint });
}

/** The broker did not answer a PING (flush) in time, or the ping was aborted. */
export function pingTimedOut(endpoint: string, timeoutMs?: number): TimeoutError {
  return new TimeoutError(
    timeoutMs === undefined ? 'ping aborted' : `no PONG from the NATS server within ${timeoutMs} ms`,
    { endpoint },
  );
}

/** The connection failed while a PING (flush) was out. */
export function pingFailed(error: unknown, endpoint: string): ConnectionLostError {
  return new ConnectionLostError('the NATS connection failed the ping', { endpoint, cause: error });
}

/** A reply that is not a JSON-RPC response (or batch), or the wrong shape for the request. */
export function badReply(
  endpoint: string,
  what: 'empty' | 'batch-for-single' | 'malformed',
  cause?: unknown,
): ProtocolError {
  const message =
    what === 'empty'
      ? 'empty reply'
      : what === 'batch-for-single'
        ? 'a batch reply to a single request'
        : `malformed reply: ${reason(cause)}`;
  return new ProtocolError(message, { endpoint, ...(cause !== undefined && { cause }) });
}
