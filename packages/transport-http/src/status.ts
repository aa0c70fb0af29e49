import type { DispatchStatus, JsonRpcResponse } from '@resilient-rpc/core';
import { dispatchStatusOf } from '@resilient-rpc/core/transport';

/**
 * The HTTP status of each {@link DispatchStatus}: what tells HTTP clients and proxies what
 * happened without reading the body. A 401 goes with `WWW-Authenticate: Bearer`, a 503 with
 * `Retry-After`.
 */
export const HttpStatusOf: Readonly<Record<DispatchStatus, number>> = Object.freeze({
  ok: 200,
  'no-content': 204,
  'bad-request': 400,
  unauthenticated: 401,
  forbidden: 403,
  'too-large': 413,
  overloaded: 503,
  draining: 503,
});

/**
 * The HTTP status for a JSON-RPC answer, as {@link HttpStatusOf} maps the dispatcher's status:
 * batches are 200; a single error response gets 400 (-32700, -32600), 401 (-32004), 403 (-32005),
 * 413 (-32006, -32007) or 503 (-32002, -32003); anything else (method errors, deadline) is 200.
 */
export function statusFor(response: JsonRpcResponse | JsonRpcResponse[]): number {
  return HttpStatusOf[dispatchStatusOf(response)];
}
