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
      const head = headText(request.method, params !== undefined);
      const id = (shape & ID) === 0 || wireId !== undefined ? '' : idText(request.id);
      const body = params === undefined ? head + id + meta : head + params + id + meta;
      return wireId === undefined ? `{${body}}` : `{"id":${wireId},${body}}`;
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

/** Members of plain metadata, as the digits of {@link plainMetaText}'s key order. */
const DEADLINE = 1;
const ATTEMPT = 2;
const IDEMPOTENT = 3;

/**
 * The plain metadata last written and its text: a call's attempts mostly carry the same deadline,
 * attempt number and idempotency as the call before, and the text is then reused.
 */
let lastOrder = -1;
let lastDeadline: number | undefined;
let lastAttempt: number | undefined;
let lastIdempotent: boolean | undefined;
let lastMetaText = '';

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
  // The members set, in their order, as base-4 digits (at most one of each).
  let order = 0;
  let deadline: number | undefined;
  let attempt: number | undefined;
  let idempotent: boolean | undefined;
  for (const key in metadata) {
    if (key === 'deadlineMs' || key === 'attempt') {
      const value = key === 'attempt' ? metadata.attempt : metadata.deadlineMs;
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
      if (key === 'attempt') {
        attempt = value;
        order = order * 4 + ATTEMPT;
      } else {
        deadline = value;
        order = order * 4 + DEADLINE;
      }
    } else if (key === 'idempotent') {
      const value = metadata.idempotent;
      if (value === undefined) continue;
      if (typeof value !== 'boolean') return undefined;
      idempotent = value;
      order = order * 4 + IDEMPOTENT;
    } else if (key === 'traceId' || key === 'traceparent' || key === 'tracestate') continue;
    else return undefined;
  }
  if (
    order === lastOrder &&
    deadline === lastDeadline &&
    attempt === lastAttempt &&
    idempotent === lastIdempotent
  )
    return lastMetaText;
  let text = '';
  for (let rest = order; rest > 0; rest = Math.floor(rest / 4)) {
    const digit = rest % 4;
    const member =
      digit === DEADLINE
        ? `"deadlineMs":${deadline}`
        : digit === ATTEMPT
          ? `"attempt":${attempt}`
          : `"idempotent":${idempotent}`;
    text = text === '' ? member : `${member},${text}`;
  }
  lastOrder = order;
  lastDeadline = deadline;
  lastAttempt = attempt;
  lastIdempotent = idempotent;
  lastMetaText = text === '' ? '' : `,"meta":{${text}}`;
  return lastMetaText;
}

/** The `,"id":…` member as `JSON.stringify` writes it (undefined: none). */
function idText(id: unknown): string {
  return id === undefined
    ? ''
    : `,"id":${typeof id === 'number' && Number.isFinite(id) ? id : JSON.stringify(id)}`;
}

/** The method name last written, and the request's text up to it (and to its params). */
let lastMethod = '';
let lastHead = '"jsonrpc":"2.0","method":""';
let lastHeadWithParams = '"jsonrpc":"2.0","method":"","params":';

/** `"jsonrpc":"2.0","method":…` (with `,"params":` after it), reused while the method repeats. */
function headText(method: string, params: boolean): string {
  if (method !== lastMethod) {
    const head = `"jsonrpc":"2.0","method":${JSON.stringify(method)}`;
    lastHead = head;
    lastHeadWithParams = `${head},"params":`;
    lastMethod = method;
  }
  return params ? lastHeadWithParams : lastHead;
}
