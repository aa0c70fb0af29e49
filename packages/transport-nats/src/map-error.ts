/**
 * Every failure of the NATS client side, as the core's failure kinds, in one place (an abort, and
 * params that are not JSON, are the core's `aborted` and `unserialisable`):
 *
 * | what happened | kind | may have been processed |
 * | --- | --- | --- |
 * | connection closed, not open in time, a connect attempt failed, publish threw, aborted before sending, params not JSON | `not-sent` (params: `protocol`) | no |
 * | the broker answered "no responders" (503) | `rejected` | no |
 * | no reply (or PONG) within the attempt's time, or the attempt was aborted after sending | `timeout` | maybe |
 * | disconnected from the broker, the connection or the transport closed with the request out, a ping failed | `connection-lost` | maybe |
 * | an empty or malformed reply, a batch reply to a single request | `protocol` | yes |
 */
import {
  ConnectionLostError,
  NotSentError,
  ProtocolError,
  RejectedError,
  RpcError,
  TimeoutError,
} from '@resilient-rpc/core';

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

export const connectFailed = (error: unknown) =>
  new NotSentError(`cannot connect to NATS: ${reason(error)}`, { cause: error });

export const connectionClosed = (endpoint: string | undefined, cause?: RpcError) =>
  new NotSentError('the NATS connection is closed', { endpoint, cause });

export const notOpenInTime = (endpoint: string, waitMs: number, status: string, last?: RpcError) =>
  new NotSentError(
    `the NATS connection was not open within ${waitMs} ms (status ${status})${last ? `: ${last.message}` : ''}`,
    { endpoint, cause: last },
  );

export const publishFailed = (error: unknown, endpoint: string) =>
  new NotSentError(`NATS publish failed: ${reason(error)}`, { endpoint, cause: error });

/** A waiting-for-open error of the shared connection (it names no endpoint), re-addressed to one endpoint. */
export const forEndpoint = (error: RpcError, endpoint: string) =>
  new NotSentError(error.message, { endpoint, cause: error.cause ?? error });

export const noResponders = (endpoint: string) =>
  new RejectedError('no responders: no service instance subscribes to this subject', { endpoint });

export const replyTimedOut = (subject: string, timeoutMs: number, endpoint: string) =>
  new TimeoutError(`no reply on ${subject} within ${timeoutMs} ms`, { endpoint });

export const disconnected = (server: string, endpoint?: string) =>
  new ConnectionLostError(`disconnected from NATS server ${server}`, { endpoint });

export const connectionEnded = (endpoint: string | undefined, error: unknown) =>
  new ConnectionLostError('the NATS connection closed', {
    endpoint,
    cause: error instanceof Error ? error : undefined,
  });

export const closedLocally = (endpoint: string, what: 'connection' | 'transport') =>
  new ConnectionLostError(`the ${what} was closed`, { endpoint });

export const pingTimedOut = (endpoint: string, timeoutMs?: number) =>
  new TimeoutError(
    timeoutMs === undefined ? 'ping aborted' : `no PONG from the NATS server within ${timeoutMs} ms`,
    { endpoint },
  );

export const pingFailed = (error: unknown, endpoint: string) =>
  new ConnectionLostError('the NATS connection failed the ping', { endpoint, cause: error });

const BAD_REPLY = { empty: 'empty reply', 'batch-for-single': 'a batch reply to a single request' };

export const badReply = (endpoint: string, what: keyof typeof BAD_REPLY | 'malformed', cause?: unknown) =>
  new ProtocolError(what === 'malformed' ? `malformed reply: ${reason(cause)}` : BAD_REPLY[what], {
    endpoint,
    cause,
  });

/** Whether a failure is the broker's "no responders" (the instance's subscription is gone). */
export const isNoResponders = (error: unknown) => RpcError.isInstance(error) && error.kind === 'rejected';
