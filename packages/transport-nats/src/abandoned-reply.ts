import { ErrorCodes, errorResponse, type JsonRpcResponse } from '@resilient-rpc/core';

const decoder = new TextDecoder();

/**
 * The reply to a request the listener gives up on at close (its handler did not end in time):
 * -32603 `server-closed` for every entry with an id, by id, or `undefined` when none needs an
 * answer. Over TCP the socket would close; NATS has no connection to drop, so the caller is told.
 * The only answer the NATS listener builds itself (read again from the request, off the hot path).
 */
export function abandonedReply(data: Uint8Array): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  const responses: JsonRpcResponse[] = [];
  for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
    if (typeof item !== 'object' || item === null || !('id' in item)) continue;
    const id = (item as { id: unknown }).id;
    responses.push(
      errorResponse(
        typeof id === 'string' || typeof id === 'number' ? id : null,
        ErrorCodes.InternalError,
        'the server closed while handling the request',
        { reason: 'server-closed' },
      ),
    );
  }
  if (responses.length === 0) return undefined;
  return JSON.stringify(Array.isArray(parsed) ? responses : responses[0]);
}
