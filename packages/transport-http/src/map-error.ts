import {
  CancelledError,
  ConnectionLostError,
  ErrorCodes,
  type JsonRpcResponse,
  NotSentError,
  ProtocolError,
  parseResponseText,
  RejectedError,
  RpcError,
  TimeoutError,
} from '@resilient-rpc/core';

const codes = (list: string) => new Set(list.split(' '));
/** The request could not reach the server at all. */
const UNREACHABLE = codes(
  'ECONNREFUSED ENOTFOUND EAI_AGAIN EHOSTUNREACH ENETUNREACH EHOSTDOWN ENETDOWN EADDRNOTAVAIL ERR_INVALID_URL',
);
/** An attempt timer (axios `timeout`, socket timeouts). */
const TIMEOUTS = codes('ECONNABORTED ETIMEDOUT ESOCKETTIMEDOUT');
/** The connection broke while the request or its response was on the wire. */
const LOST = codes(
  'ECONNRESET EPIPE ECONNABORTED ERR_STREAM_PREMATURE_CLOSE ERR_SOCKET_CLOSED ERR_STREAM_DESTROYED',
);

interface ErrorLike {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly request?: { readonly writableFinished?: unknown } | null;
  readonly cause?: { readonly code?: unknown } | null;
}

/**
 * Maps an axios / Node.js failure of one HTTP attempt into an {@link RpcError} of the right
 * kind. The original error is kept as `cause`. "Written" means the whole request reached the
 * operating system's socket, i.e. the server may have received and processed it; a request that
 * never connected, or whose body was still buffered in the client, cannot have been processed.
 *
 * - aborted through the attempt's signal → the signal's reason (the core replaces it anyway);
 * - refused, unknown host, unreachable → `not-sent`;
 * - attempt timer fired → `not-sent` if the request was never written (connect timeout), else `timeout`;
 * - reset / hang-up → `connection-lost` once the request was written, `not-sent` before;
 * - a malformed HTTP response (`HPE_*`) → `protocol`;
 * - a response body over `maxResponseBytes` (axios `maxContentLength`) → `protocol`.
 */
export function mapHttpError(
  error: unknown,
  endpoint: string,
  signal?: AbortSignal,
  maxResponseBytes?: number,
): RpcError {
  if (RpcError.isInstance(error)) return error;
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (RpcError.isInstance(reason)) return reason;
    return new CancelledError('the call was cancelled', { cause: error, endpoint });
  }
  const candidate = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const { code: own, cause, message: text, request } = candidate;
  const causeCode = typeof cause === 'object' ? cause?.code : undefined;
  const code = typeof own === 'string' ? own : typeof causeCode === 'string' ? causeCode : undefined;
  const message = typeof text === 'string' ? text : String(error);
  const written = typeof request === 'object' && request?.writableFinished === true;
  const options = { cause: error, endpoint };
  if (code === 'ERR_CANCELED') return new CancelledError('the request was cancelled', options);
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new NotSentError(`cannot reach ${endpoint}: ${message}`, options);
  }
  if (code !== undefined && TIMEOUTS.has(code) && /timeout/i.test(message)) {
    return written
      ? new TimeoutError(`no answer from ${endpoint} in time: ${message}`, options)
      : new NotSentError(`connecting to ${endpoint} timed out: ${message}`, options);
  }
  if (code === 'ERR_BAD_RESPONSE' && /maxContentLength size of \d+ exceeded/.test(message)) {
    // A hostile or broken server: reading stopped at the limit. Another attempt would get the same.
    const limit = maxResponseBytes ?? Number(/size of (\d+)/.exec(message)?.[1]);
    return new ProtocolError(
      `the response from ${endpoint} is larger than maxResponseBytes (${limit} bytes); reading stopped there`,
      options,
    );
  }
  if (code?.startsWith('HPE_')) {
    return new ProtocolError(`malformed HTTP response from ${endpoint}: ${message}`, options);
  }
  if ((code !== undefined && LOST.has(code)) || /socket hang up|aborted/i.test(message)) {
    return written
      ? new ConnectionLostError(`connection to ${endpoint} lost: ${message}`, options)
      : new NotSentError(`connection to ${endpoint} failed before the request was sent: ${message}`, options);
  }
  return written
    ? new ConnectionLostError(`request to ${endpoint} failed: ${message}`, options)
    : new NotSentError(`request to ${endpoint} failed before it was sent: ${message}`, options);
}

/** The parts of an HTTP response the client looks at. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly retryAfter: unknown;
}

type Parsed = JsonRpcResponse | JsonRpcResponse[];
const ok = (answer: HttpAnswer) => answer.status >= 200 && answer.status < 300;

/**
 * Parses an HTTP `Retry-After` value (delta seconds or an HTTP date) into milliseconds from now.
 * Returns `undefined` for a missing or malformed value; never a negative number.
 */
export function parseRetryAfter(value: unknown, now: () => number = Date.now): number | undefined {
  if (Array.isArray(value)) value = value[0];
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const seconds = Number(text);
    return Number.isFinite(seconds) ? Math.round(seconds * 1000) : undefined;
  }
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now());
}

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
