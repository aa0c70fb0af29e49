import { ConnectionLostError, NotSentError, OverloadedError, TimeoutError } from '../errors/kinds.js';
import { RpcError } from '../errors/rpc-error.js';

/**
 * The failures of a client connection that stays open ({@link PersistentConnection}) that are
 * not its library's: the same for every such adapter (the WebSocket client's), each as the core's
 * failure kind that says whether the call may have been processed.
 */

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

/** The attempt's signal aborted: before the request was written (not sent) or after (timeout). */
export function aborted(endpoint: string, written: boolean): RpcError {
  return written
    ? new TimeoutError('the call was aborted while waiting for its response', { endpoint })
    : new NotSentError('the call was aborted before it was sent', { endpoint });
}

/** The call's time ran out: no response to the written request, or the connection never opened. */
export function timedOut(endpoint: string, written: boolean, timeoutMs: number): RpcError {
  return written
    ? new TimeoutError(`no response within ${timeoutMs} ms`, { endpoint })
    : new NotSentError(`the connection did not open within ${timeoutMs} ms`, { endpoint });
}

/** More calls wait for the connection to open than `maxQueued`. */
export function queueFull(endpoint: string, queued: number): OverloadedError {
  return new OverloadedError(`${queued} calls already wait for the connection to open`, { endpoint });
}

/** The reconnect loop reached its most attempts. */
export function gaveUp(endpoint: string, last: RpcError | undefined): NotSentError {
  return new NotSentError(`reconnecting to ${endpoint} gave up`, { endpoint, cause: last });
}

/** A connect attempt failed (DNS, refused, TLS, handshake): nothing was written. */
export function connectFailed(endpoint: string, error: unknown): RpcError {
  if (RpcError.isInstance(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new NotSentError(`could not connect: ${reason}`, { endpoint, cause: error });
}

/** The heartbeat's ping went unanswered past its timeout. */
export function peerSilent(endpoint: string, silentMs: number, timeoutMs: number): ConnectionLostError {
  return new ConnectionLostError(
    `the peer was silent for ${Math.round(silentMs)} ms (heartbeat timeout ${timeoutMs} ms)`,
    { endpoint },
  );
}
