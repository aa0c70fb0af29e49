import type { WireMetadata } from '../protocol/types.js';

/**
 * The `meta` member a client adapter writes into a request that carries its call metadata in the
 * body: the request's own `meta` with the call's `metadata` over it, or `undefined` when the
 * result holds nothing a server reads there (deadline, idempotency, attempt, trace id), so that
 * the member is left out. Used by the WebSocket and NATS clients.
 */
export function requestMeta(own: WireMetadata | undefined, metadata: WireMetadata): WireMetadata | undefined {
  const meta = own === undefined ? metadata : { ...own, ...metadata };
  return meta.deadlineMs === undefined &&
    meta.idempotent === undefined &&
    meta.attempt === undefined &&
    meta.traceId === undefined
    ? undefined
    : meta;
}
