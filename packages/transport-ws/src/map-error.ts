/**
 * Every failure of the WebSocket client side, as the core's failure kinds, in one place:
 *
 * | what happened | kind | may have been processed |
 * | --- | --- | --- |
 * | closed, not open in time, connect or upgrade refused, reconnecting gave up, `ws` refused the frame, aborted before it was written | `not-sent` | no |
 * | too many calls queued for the connection, too many bytes buffered on the socket | `overloaded` (a `not-sent`) | no |
 * | no response within the attempt's time, aborted after it was written, no pong | `timeout` | maybe |
 * | the socket closed or the heartbeat found the peer silent with the request written | `connection-lost` | maybe |
 * | a response that is not JSON-RPC, params that are not JSON | `protocol` | — |
 */
import {
  ConnectionLostError,
  NotSentError,
  OverloadedError,
  ProtocolError,
  RpcError,
  TimeoutError,
} from '@resilient-rpc/core';

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A call or ping on a connection that is closed, or whose socket is not open. */
export function notOpen(
  endpoint: string,
  what: 'the connection is closed' | 'the socket is not open',
): NotSentError {
  return new NotSentError(what, { endpoint });
}

/** The client closed the connection: queued calls were never written. */
export function closedByClient(endpoint: string, written: boolean): RpcError {
  const message = 'the connection was closed by the client';
  return written ? new ConnectionLostError(message, { endpoint }) : new NotSentError(message, { endpoint });
}

/** The attempt's signal aborted: before the frame was written (not sent) or after (timeout). */
export function aborted(endpoint: string, written: boolean): RpcError {
  return written
    ? new TimeoutError('the call was aborted while waiting for its response', { endpoint })
    : new NotSentError('the call was aborted before it was sent', { endpoint });
}

/** The call's time ran out: no response to the written frame, or the socket never opened. */
export function timedOut(endpoint: string, written: boolean, timeoutMs: number): RpcError {
  return written
    ? new TimeoutError(`no response within ${timeoutMs} ms`, { endpoint })
    : new NotSentError(`the connection did not open within ${timeoutMs} ms`, { endpoint });
}

/** More calls wait for the connection to open than `maxQueued`. */
export function queueFull(endpoint: string, queued: number): OverloadedError {
  return new OverloadedError(`${queued} calls already wait for the connection to open`, { endpoint });
}

/** The socket buffers more than `maxBufferedBytes` (a slow peer): the call is refused locally. */
export function bufferFull(endpoint: string, buffered: number, bound: number): OverloadedError {
  return new OverloadedError(`the socket has ${buffered} bytes buffered (bound ${bound})`, { endpoint });
}

/** `ws` threw on send (the socket is closing). */
export function sendFailed(endpoint: string, error: unknown): NotSentError {
  return new NotSentError('the socket refused the message', { endpoint, cause: error });
}

/** The reconnect loop reached `reconnectMaxAttempts`. */
export function gaveUp(endpoint: string, last: RpcError | undefined): NotSentError {
  return new NotSentError(`reconnecting to ${endpoint} gave up`, { endpoint, cause: last });
}

/** A connect attempt failed (DNS, refused, TLS, handshake): nothing was written. */
export function connectFailed(endpoint: string, error: unknown): RpcError {
  if (RpcError.isInstance(error)) return error;
  return new NotSentError(`could not connect: ${reason(error)}`, { endpoint, cause: error });
}

/** The server answered the upgrade request with an HTTP status instead of 101. */
export function upgradeRefused(endpoint: string, httpStatus: number): NotSentError {
  const message = `the server refused the WebSocket upgrade with HTTP ${httpStatus}`;
  return new NotSentError(message, { endpoint, data: { httpStatus } });
}

/** The socket closed during the opening handshake (a cause for {@link connectFailed}). */
export function closedDuringHandshake(code: number): Error {
  return new Error(`closed during the handshake (${code})`);
}

/** The open socket closed: calls written on it may or may not have been processed. */
export function socketClosed(endpoint: string, closeCode: number, closeReason: string): ConnectionLostError {
  const message = `the connection closed (${closeCode}${closeReason ? ` ${closeReason}` : ''})`;
  return new ConnectionLostError(message, { endpoint, data: { closeCode } });
}

/** The heartbeat's ping went unanswered past its timeout. */
export function peerSilent(endpoint: string, silentMs: number, timeoutMs: number): ConnectionLostError {
  return new ConnectionLostError(
    `the peer was silent for ${Math.round(silentMs)} ms (heartbeat timeout ${timeoutMs} ms)`,
    { endpoint },
  );
}

/** `ping()` got no pong in time, or was aborted. */
export function noPong(endpoint: string, timeoutMs?: number): TimeoutError {
  const message = timeoutMs === undefined ? 'the ping was aborted' : `no pong within ${timeoutMs} ms`;
  return new TimeoutError(message, { endpoint });
}

/** `ws` threw on ping. */
export function pingFailed(endpoint: string, error: unknown): NotSentError {
  return new NotSentError('the ping could not be sent', { endpoint, cause: error });
}

/** A response with our id that is not a valid JSON-RPC response. */
export function malformedResponse(endpoint: string, error: unknown): RpcError {
  return RpcError.isInstance(error)
    ? error
    : new ProtocolError('malformed response', { endpoint, cause: error });
}

/** The request's params cannot be written as JSON (a BigInt, a cycle): no retry can send them. */
export { unserialisable } from '@resilient-rpc/core/transport';
