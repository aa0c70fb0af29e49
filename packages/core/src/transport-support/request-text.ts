import type { JsonRpcRequest, WireMetadata } from '../protocol/types.js';
import { requestMeta } from './request-meta.js';

/**
 * A request as the JSON text a client adapter writes, with the call's metadata in its `meta`
 * member: the text `JSON.stringify` writes of the request with
 * - `meta` set to {@link requestMeta} of the request's own `meta` and `metadata` (in its place,
 *   or last), unless `metadata` holds nothing a server reads there; `metadata` undefined writes
 *   the request's own `meta` as it is, null leaves the member out (plain JSON-RPC 2.0);
 * - with `wireId`, the request's id replaced by it and written first (an adapter that matches
 *   responses by ids of its own; undefined for a notification, which has none).
 * Every other member is written as given, in its order (a malformed request too: the server
 * judges it). Throws if params cannot be serialised (a BigInt, a cycle). Used by the WebSocket
 * and NATS clients.
 *
 * The request of the core's own shape (`jsonrpc: '2.0'`, `method`, then `params` and `id` if
 * present, no `meta`) with the core's plain metadata (numbers and a boolean, no trace fields) is
 * written by hand around its params' JSON: the same text, at about two thirds of the cost of
 * serialising the whole object.
 */
export function requestText(
  request: JsonRpcRequest,
  metadata: WireMetadata | null | undefined,
  wireId?: number,
): string {
  const meta = metadata == null ? '' : plainMetaText(metadata);
  if (meta !== undefined && request.jsonrpc === '2.0' && typeof request.method === 'string') {
    const shape = coreShape(request);
    if (shape !== undefined) {
      const params = (shape & PARAMS) === 0 ? undefined : JSON.stringify(request.params);
      const lead = wireId === undefined ? '{' : `{"id":${wireId},`;
      const id = (shape & ID) === 0 || wireId !== undefined ? '' : idText(request.id);
      return `${lead}"jsonrpc":"2.0","method":${methodText(request.method)}${params === undefined ? '' : `,"params":${params}`}${id}${meta}}`;
    }
  }
  return JSON.stringify(withMeta(request, metadata, wireId));
}

/**
 * The object {@link requestText} serialises: the request itself, or a copy renumbered with
 * `wireId` and with `meta` merged (last when the request has none) or left out.
 */
function withMeta(
  request: JsonRpcRequest,
  metadata: WireMetadata | null | undefined,
  wireId: number | undefined,
): JsonRpcRequest {
  const merged = metadata == null ? undefined : requestMeta(undefined, metadata);
  const dropMeta = metadata === null || (merged !== undefined && request.meta === undefined);
  if (wireId === undefined && merged === undefined && !(dropMeta && request.meta !== undefined))
    return request;
  const copy: Record<string, unknown> = wireId === undefined ? {} : { id: wireId };
  for (const key of Object.keys(request))
    if ((key !== 'id' || wireId === undefined) && (key !== 'meta' || !dropMeta))
      copy[key] = (request as unknown as Record<string, unknown>)[key];
  if (merged !== undefined) copy.meta = requestMeta(request.meta, metadata!);
  return copy as unknown as JsonRpcRequest;
}

/** Bits of {@link coreShape}. */
const PARAMS = 1;
const ID = 2;

/**
 * Whether the request's own members are `jsonrpc`, `method`, then `params` and `id` if present,
 * in that order and nothing else (the shape the core builds): which of the two it has (as
 * {@link PARAMS} | {@link ID}, a member holding undefined as absent), or undefined for any other shape.
 */
function coreShape(request: JsonRpcRequest): number | undefined {
  let at = 0;
  let shape = 0;
  for (const key in request) {
    if (at === 0 ? key !== 'jsonrpc' : at === 1 && key !== 'method') return undefined;
    if (at >= 2) {
      const bit = key === 'params' && at === 2 ? PARAMS : key === 'id' && (shape & ID) === 0 ? ID : 0;
      if (bit === 0) return undefined;
      if ((request as unknown as Record<string, unknown>)[key] !== undefined) shape |= bit;
      at = bit === PARAMS ? 3 : 4;
      continue;
    }
    at++;
  }
  return at >= 2 ? shape : undefined;
}

/**
 * The `,"meta":{…}` member of plain metadata (a finite deadline, an attempt number, idempotency;
 * '' when none is set), as `JSON.stringify` writes it, members in their order; undefined for
 * anything else (a trace field, a member of another name or type). The members are read by name:
 * reading them by key costs more than the rest of the request's text.
 */
function plainMetaText(metadata: WireMetadata): string | undefined {
  if (
    metadata.traceId !== undefined ||
    metadata.traceparent !== undefined ||
    metadata.tracestate !== undefined
  )
    return undefined;
  let text = '';
  for (const key in metadata) {
    let member: string;
    if (key === 'deadlineMs' || key === 'attempt') {
      const value = key === 'attempt' ? metadata.attempt : metadata.deadlineMs;
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
      member = key === 'attempt' ? `"attempt":${value}` : `"deadlineMs":${value}`;
    } else if (key === 'idempotent') {
      const value = metadata.idempotent;
      if (value === undefined) continue;
      if (typeof value !== 'boolean') return undefined;
      member = `"idempotent":${value}`;
    } else if (key === 'traceId' || key === 'traceparent' || key === 'tracestate') continue;
    else return undefined;
    text = text === '' ? member : `${text},${member}`;
  }
  return text === '' ? '' : `,"meta":{${text}}`;
}

/** The `,"id":…` member as `JSON.stringify` writes it (undefined: none). */
function idText(id: unknown): string {
  return id === undefined
    ? ''
    : `,"id":${typeof id === 'number' && Number.isFinite(id) ? id : JSON.stringify(id)}`;
}

/** The method name last written, and its JSON (calls mostly repeat the method before). */
let lastMethod = '';
let lastMethodText = '""';

function methodText(method: string): string {
  if (method !== lastMethod) {
    lastMethodText = JSON.stringify(method);
    lastMethod = method;
  }
  return lastMethodText;
}
