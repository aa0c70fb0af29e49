import { ProtocolError } from '../errors/kinds.js';
import { ErrorCodes } from './codes.js';
import type {
  JsonRpcErrorObject,
  JsonRpcFailure,
  JsonRpcId,
  JsonRpcParams,
  JsonRpcRequest,
  JsonRpcResponse,
  JsonRpcSuccess,
} from './types.js';

const hasOwn = (object: object, key: string): boolean => Object.hasOwn(object, key);

/** Builds a request (`id` given) or a notification (`id` undefined). */
export function createRequest(
  method: string,
  params: JsonRpcParams | undefined,
  id?: JsonRpcId,
): JsonRpcRequest {
  const request: JsonRpcRequest = { jsonrpc: '2.0', method };
  if (params !== undefined) request.params = params;
  if (id !== undefined) request.id = id;
  return request;
}

export function successResponse(id: JsonRpcId, result: unknown): JsonRpcSuccess {
  return { jsonrpc: '2.0', id, result: result === undefined ? null : result };
}

export function errorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcFailure {
  const error: JsonRpcErrorObject = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', id, error };
}

/** The result of {@link parseJson}: the value, or a ready-made -32700 response. */
export type ParseResult = { ok: true; value: unknown } | { ok: false; response: JsonRpcFailure };

/** Parses JSON text; invalid JSON yields a -32700 Parse error response with id null. */
export function parseJson(text: string): ParseResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return {
      ok: false,
      response: errorResponse(null, ErrorCodes.ParseError, 'Parse error', {
        reason: (error as Error).message,
      }),
    };
  }
}

/** The result of {@link validateRequest}: a request, or an error response to send back. */
export type ValidationResult =
  | { ok: true; request: JsonRpcRequest }
  | { ok: false; response: JsonRpcFailure };

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

/**
 * Strictly checks one parsed value as a JSON-RPC 2.0 request or notification, in place: returns
 * the -32600 Invalid Request response for anything else (with the id when one could be read), or
 * `undefined` when the value is a valid request and can be used as a {@link JsonRpcRequest}
 * without a copy (the server's hot path does so; unknown extra members are then ignored).
 * `invalid` makes the -32600 response from the id (null when none could be read) and the reason.
 */
export function requestError(
  value: unknown,
  invalid: (id: JsonRpcId, reason: string) => JsonRpcFailure = invalidRequest,
): JsonRpcFailure | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid(null, 'request must be an object');
  }
  const candidate = value as Record<string, unknown>;
  const hasId = hasOwn(candidate, 'id');
  if (hasId && !isValidId(candidate.id)) return invalid(null, 'id must be a string, a number or null');
  const id = hasId ? (candidate.id as JsonRpcId) : null;
  if (candidate.jsonrpc !== '2.0') return invalid(id, 'jsonrpc must be exactly "2.0"');
  if (typeof candidate.method !== 'string' || candidate.method.length === 0) {
    return invalid(id, 'method must be a non-empty string');
  }
  if (hasOwn(candidate, 'params')) {
    const params = candidate.params;
    if (typeof params !== 'object' || params === null)
      return invalid(id, 'params must be an array or an object');
  }
  return undefined;
}

/**
 * Strictly validates one parsed value as a JSON-RPC 2.0 request or notification and copies its
 * known members. Anything else yields a -32600 Invalid Request response (see {@link requestError}).
 */
export function validateRequest(value: unknown): ValidationResult {
  const error = requestError(value);
  if (error !== undefined) return { ok: false, response: error };
  const candidate = value as Record<string, unknown>;
  const request: JsonRpcRequest = { jsonrpc: '2.0', method: candidate.method as string };
  if (hasOwn(candidate, 'params')) request.params = candidate.params as JsonRpcParams;
  if (hasOwn(candidate, 'id')) request.id = candidate.id as JsonRpcId;
  if (hasOwn(candidate, 'meta')) request.meta = candidate.meta as JsonRpcRequest['meta'];
  return { ok: true, request };
}

function invalidRequest(id: JsonRpcId, reason: string): JsonRpcFailure {
  return errorResponse(id, ErrorCodes.InvalidRequest, 'Invalid Request', { reason });
}

/** True if the request is a notification (no `id` member): the server sends no response. */
export function isNotification(request: JsonRpcRequest): boolean {
  return !hasOwn(request, 'id');
}

/**
 * Validates one parsed value as a JSON-RPC response, as a client receives it. Throws a
 * {@link ProtocolError} for anything that is not one.
 */
export function validateResponse(value: unknown): JsonRpcResponse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('response is not a JSON-RPC object');
  }
  const candidate = value as Record<string, unknown>;
  if (candidate.jsonrpc !== '2.0') throw new ProtocolError('response lacks jsonrpc "2.0"');
  if (!hasOwn(candidate, 'id') || !isValidId(candidate.id))
    throw new ProtocolError('response has no valid id');
  const hasResult = hasOwn(candidate, 'result');
  const hasError = hasOwn(candidate, 'error');
  if (hasResult === hasError) throw new ProtocolError('response must have exactly one of result and error');
  if (hasError) {
    const error = candidate.error as Record<string, unknown> | null;
    if (
      typeof error !== 'object' ||
      error === null ||
      typeof error.code !== 'number' ||
      !Number.isInteger(error.code) ||
      typeof error.message !== 'string'
    ) {
      throw new ProtocolError('response error must have an integer code and a string message');
    }
  }
  return candidate as unknown as JsonRpcResponse;
}

/** Parses a response body as the client receives it: one response or a batch of them. */
export function parseResponseText(text: string): JsonRpcResponse | JsonRpcResponse[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError('response is not valid JSON', { cause: error });
  }
  if (Array.isArray(value)) return value.map(validateResponse);
  return validateResponse(value);
}

/** Encodes a message as JSON text. */
export function encodeMessage(message: unknown): string {
  return JSON.stringify(message);
}
