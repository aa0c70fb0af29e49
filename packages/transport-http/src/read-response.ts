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

type Parsed = JsonRpcResponse | JsonRpcResponse[];
const ok = (answer: HttpAnswer) => answer.status >= 200 && answer.status < 300;

/** Builds the `rejected` error for a 503/429 answer, with the server's Retry-After and error code. */
export function rejectedError(answer: HttpAnswer, endpoint: string): RejectedError {
  let parsed: Parsed | undefined;
  try {
    parsed = answer.body.length > 0 ? parseResponseText(answer.body) : undefined;
  } catch {}
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

/**
 * The JSON-RPC answer in the body: 503/429 → `rejected`; an empty body → `protocol` (`empty`
 * says to what); a body that is not JSON-RPC → `protocol`.
 */
function parse(answer: HttpAnswer, endpoint: string, empty: string): Parsed {
  if (answer.status === 503 || answer.status === 429) throw rejectedError(answer, endpoint);
  if (answer.body.length === 0) throw protocolError(answer, endpoint, empty);
  try {
    return parseResponseText(answer.body);
  } catch (error) {
    throw protocolError(answer, endpoint, 'with a body that is not a JSON-RPC response', error);
  }
}

/**
 * Interprets the answer to a single request. 503/429 → `rejected`; any other status carrying a
 * JSON-RPC response → that response (a JSON-RPC error becomes a `remote` error in the core);
 * anything else → `protocol`. A notification (`id` undefined) is handed over by a 2xx.
 */
export function readSingle(
  answer: HttpAnswer,
  endpoint: string,
  id: JsonRpcResponse['id'] | undefined,
): JsonRpcResponse | undefined {
  const notification = id === undefined;
  if (notification && ok(answer)) return undefined;
  const parsed = parse(answer, endpoint, notification ? 'to a notification' : 'with an empty body');
  if (Array.isArray(parsed)) {
    throw protocolError(
      answer,
      endpoint,
      `with a batch to a ${notification ? 'notification' : 'single request'}`,
    );
  }
  // An error with id null (the server could not read the request, e.g. 413) answers it (core).
  if (notification || parsed.id === id || (parsed.id === null && 'error' in parsed)) return parsed;
  throw protocolError(
    answer,
    endpoint,
    `with id ${JSON.stringify(parsed.id)} instead of ${JSON.stringify(id)}`,
  );
}

/**
 * Interprets the answer to a batch (`answered`: it has a request with an id). A single error with
 * id null for the whole batch is passed on as it is: the core gives it to every request.
 */
export function readBatch(answer: HttpAnswer, endpoint: string, answered: boolean): JsonRpcResponse[] {
  if (answer.body.length === 0 && ok(answer) && !answered) return [];
  const parsed = parse(answer, endpoint, 'with an empty body to a batch');
  return Array.isArray(parsed) ? parsed : [parsed];
}
