import {
  ErrorCodes,
  type JsonRpcResponse,
  ProtocolError,
  parseResponseText,
  RejectedError,
} from '@resilient-rpc/core';
import { parseRetryAfter } from './retry-after.js';

/** The parts of an HTTP response the client looks at. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly retryAfter: unknown;
}

/** Statuses that mean "not processed, try again (elsewhere or later)". */
export function isRejectedStatus(status: number): boolean {
  return status === 503 || status === 429;
}

function tryParse(body: string): JsonRpcResponse | JsonRpcResponse[] | undefined {
  try {
    return parseResponseText(body);
  } catch {
    return undefined;
  }
}

/** Builds the `rejected` error for a 503/429 answer, with the server's Retry-After and error code. */
export function rejectedError(answer: HttpAnswer, endpoint: string): RejectedError {
  const parsed = answer.body.length > 0 ? tryParse(answer.body) : undefined;
  const single = Array.isArray(parsed) ? parsed[0] : parsed;
  const error = single !== undefined && 'error' in single ? single.error : undefined;
  const retryAfterMs = parseRetryAfter(answer.retryAfter);
  const reason =
    error?.code === ErrorCodes.Draining
      ? 'server is draining'
      : error?.code === ErrorCodes.Overloaded
        ? 'server is overloaded'
        : answer.status === 429
          ? 'too many requests'
          : 'service unavailable';
  return new RejectedError(`${endpoint} refused the request: ${reason} (HTTP ${answer.status})`, {
    endpoint,
    ...(error !== undefined && { code: error.code }),
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });
}

function protocolError(answer: HttpAnswer, endpoint: string, what: string, cause?: unknown): ProtocolError {
  const preview = answer.body.length > 80 ? `${answer.body.slice(0, 80)}…` : answer.body;
  return new ProtocolError(`${endpoint} answered HTTP ${answer.status} ${what}: ${JSON.stringify(preview)}`, {
    endpoint,
    ...(cause !== undefined && { cause }),
  });
}

function parseOrThrow(answer: HttpAnswer, endpoint: string): JsonRpcResponse | JsonRpcResponse[] {
  try {
    return parseResponseText(answer.body);
  } catch (error) {
    throw protocolError(answer, endpoint, 'with a body that is not a JSON-RPC response', error);
  }
}

/**
 * Interprets the answer to a single request. 503/429 → `rejected`; any other status carrying a
 * JSON-RPC response → that response (a JSON-RPC error becomes a `remote` error in the core);
 * anything else → `protocol`. An error response with id `null` (the server could not read the
 * request, e.g. 413) is attributed to this request.
 */
export function readSingle(
  answer: HttpAnswer,
  endpoint: string,
  id: JsonRpcResponse['id'] | undefined,
): JsonRpcResponse | undefined {
  if (isRejectedStatus(answer.status)) throw rejectedError(answer, endpoint);
  if (id === undefined) {
    // A notification: 204 (or any 2xx) means it was handed over.
    if (answer.status >= 200 && answer.status < 300) return undefined;
    if (answer.body.length === 0) throw protocolError(answer, endpoint, 'to a notification');
    const parsed = parseOrThrow(answer, endpoint);
    if (Array.isArray(parsed)) throw protocolError(answer, endpoint, 'with a batch to a notification');
    return parsed;
  }
  if (answer.body.length === 0) throw protocolError(answer, endpoint, 'with an empty body');
  const parsed = parseOrThrow(answer, endpoint);
  if (Array.isArray(parsed)) throw protocolError(answer, endpoint, 'with a batch to a single request');
  if (parsed.id === id) return parsed;
  if (parsed.id === null && 'error' in parsed) return { ...parsed, id };
  throw protocolError(
    answer,
    endpoint,
    `with id ${JSON.stringify(parsed.id)} instead of ${JSON.stringify(id)}`,
  );
}

/** Interprets the answer to a batch; a single error for the whole batch is copied to every request. */
export function readBatch(
  answer: HttpAnswer,
  endpoint: string,
  ids: readonly JsonRpcResponse['id'][],
): JsonRpcResponse[] {
  if (isRejectedStatus(answer.status)) throw rejectedError(answer, endpoint);
  if (answer.body.length === 0) {
    if (answer.status >= 200 && answer.status < 300 && ids.length === 0) return [];
    throw protocolError(answer, endpoint, 'with an empty body to a batch');
  }
  const parsed = parseOrThrow(answer, endpoint);
  if (Array.isArray(parsed)) return parsed;
  if ('error' in parsed && parsed.id === null) return ids.map((id) => ({ ...parsed, id }));
  return [parsed];
}
