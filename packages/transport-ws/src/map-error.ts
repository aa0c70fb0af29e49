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

/** Not the socket library's: the same for every connection that stays open (the core's). */
export { aborted, notOpen, peerSilent, timedOut, unserialisable } from '@resilient-rpc/core/transport';

/** The socket buffers more than `maxBufferedBytes` (a slow peer): the call is refused locally. */
export function bufferFull(endpoint: string, buffered: number, bound: number): OverloadedError {
  return new OverloadedError(`the socket has ${buffered} bytes buffered (bound ${bound})`, { endpoint });
}

/** `ws` threw on send (the socket is closing). */
export function sendFailed(endpoint: string, error: unknown): NotSentError {
  return new NotSentError('the socket refused the message', { endpoint, cause: error });
}

export function upgradeRefused(endpoint: string, httpStatus: number): NotSentError {
  const message = `the server refused the WebSocket upgrade with HTTP ${httpStatus}`;
  return new NotSentError(message, { endpoint, data: { httpStatus } });
}

/** A cause for the core's `connectFailed`. */
export function closedDuringHandshake(code: number): Error {
  return new Error(`closed during the handshake (${code})`);
}

export function socketClosed(endpoint: string, closeCode: number, closeReason: string): ConnectionLostError {
  const message = `the connection closed (${closeCode}${closeReason ? ` ${closeReason}` : ''})`;
  return new ConnectionLostError(message, { endpoint, data: { closeCode } });
}

/** `ping()` got no pong in time (`timeoutMs`), or was aborted. */
export function noPong(endpoint: string, timeoutMs?: number): TimeoutError {
  const message = timeoutMs === undefined ? 'the ping was aborted' : `no pong within ${timeoutMs} ms`;
  return new TimeoutError(message, { endpoint });
}

/** A response with our id that is not a valid JSON-RPC response. */
export function malformedResponse(endpoint: string, error: unknown): RpcError {
  return RpcError.isInstance(error)
    ? error
    : new ProtocolError('malformed response', { endpoint, cause: error });
}
