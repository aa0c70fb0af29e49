import { ErrorCodes, type JsonRpcResponse } from '@resilient-rpc/core';

/**
 * The HTTP status for a JSON-RPC answer. Batches are always 200. A single error response gets
 * the status that tells HTTP clients and proxies what happened without reading the body:
 *
 * | JSON-RPC error | status |
 * | --- | --- |
 * | -32700 Parse error, -32600 Invalid Request | 400 |
 * | -32004 Unauthenticated | 401 (with `WWW-Authenticate: Bearer`) |
 * | -32005 Forbidden | 403 |
 * | -32006 Message too large, -32007 Batch too large | 413 |
 * | -32002 Overloaded, -32003 Draining | 503 (with `Retry-After`) |
 * | anything else (method not found, handler errors, deadline) | 200 |
 */
export function statusFor(response: JsonRpcResponse | JsonRpcResponse[]): number {
  if (Array.isArray(response) || !('error' in response)) return 200;
  switch (response.error.code) {
    case ErrorCodes.ParseError:
    case ErrorCodes.InvalidRequest:
      return 400;
    case ErrorCodes.Unauthenticated:
      return 401;
    case ErrorCodes.Forbidden:
      return 403;
    case ErrorCodes.MessageTooLarge:
    case ErrorCodes.BatchTooLarge:
      return 413;
    case ErrorCodes.Overloaded:
    case ErrorCodes.Draining:
      return 503;
    default:
      return 200;
  }
}
