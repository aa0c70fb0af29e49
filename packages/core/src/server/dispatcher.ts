import { ErrorCodes } from '../protocol/codes.js';
import { errorResponse, requestError } from '../protocol/messages.js';
import { isSanitized, sanitizeMetadata } from '../protocol/metadata.js';
import type {
  JsonRpcFailure,
  JsonRpcId,
  JsonRpcRequest,
  JsonRpcResponse,
  WireMetadata,
} from '../protocol/types.js';
import type {
  Dispatcher,
  DispatcherLimits,
  DispatchOptions,
  DispatchResult,
  DispatchStatus,
  IncomingContext,
} from '../transport.js';
import type { InFlightLimit } from './in-flight-limit.js';
import type { Answer, RequestHandler } from './request-handler.js';

/** One message's answer: one response, a batch of them, or nothing. */
type MessageAnswer = JsonRpcResponse | JsonRpcResponse[] | undefined;

/** What {@link MessageDispatcher} needs from the server's options, resolved. */
export interface MessageDispatcherOptions {
  readonly limits: DispatcherLimits;
  /** Caller deadlines beyond this are clamped to it. */
  readonly maxDeadlineMs: number;
  readonly onError: ((error: unknown, context: { method: string; transport: string }) => void) | undefined;
}

const EMPTY_METADATA: WireMetadata = Object.freeze({});
const NO_CONTENT: DispatchResult = Object.freeze({ body: undefined, status: 'no-content' });
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * The server's one entry point for transports: a message in (text or UTF-8 bytes), the body to
 * send back and its {@link DispatchStatus} out. It owns the size limit, parsing, validation,
 * batching, the in-flight limits (through {@link RequestHandler}), metadata sanitising and the
 * deadline clamp, and serialisation (a result JSON cannot encode becomes -32603 for its entry).
 */
export class MessageDispatcher implements Dispatcher {
  readonly limits: DispatcherLimits;
  private readonly tooLarge: DispatchResult;

  constructor(
    private readonly requests: RequestHandler,
    private readonly options: MessageDispatcherOptions,
  ) {
    this.limits = options.limits;
    this.tooLarge = Object.freeze({
      body: JSON.stringify(
        errorResponse(null, ErrorCodes.MessageTooLarge, 'message too large', {
          maxMessageBytes: options.limits.maxMessageBytes,
        }),
      ),
      status: 'too-large',
    });
  }

  get accepting(): boolean {
    return this.requests.accepting;
  }

  get inFlight(): number {
    return this.requests.inFlight;
  }

  dispatch(
    message: string | Uint8Array,
    context: IncomingContext,
    options?: DispatchOptions,
  ): Promise<DispatchResult> {
    const result = this.dispatchNow(message, context, options);
    return result instanceof Promise ? result : Promise.resolve(result);
  }

  dispatchNow(
    message: string | Uint8Array,
    context: IncomingContext,
    options?: DispatchOptions,
  ): DispatchResult | Promise<DispatchResult> {
    let text: string;
    if (typeof message === 'string') {
      if (utf8LengthExceeds(message, this.limits.maxMessageBytes)) return this.tooLarge;
      text = message;
    } else if (message instanceof Uint8Array) {
      if (message.byteLength > this.limits.maxMessageBytes) return this.tooLarge;
      try {
        text = utf8.decode(message);
      } catch {
        return badRequest(ErrorCodes.ParseError, 'Parse error', 'the message is not valid UTF-8');
      }
    } else {
      return badRequest(ErrorCodes.InvalidRequest, 'Invalid Request', 'message must be text');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return badRequest(ErrorCodes.ParseError, 'Parse error', (error as Error).message);
    }
    const answer = this.answer(value, context, options, true);
    if (answer instanceof Promise) return answer.then((settled) => this.serialise(settled, context));
    return this.serialise(answer, context);
  }

  handleText(text: string, context: IncomingContext): Promise<string | undefined> {
    return this.dispatch(text, context).then(bodyOf);
  }

  async handleMessage(message: unknown, context: IncomingContext): Promise<MessageAnswer> {
    return this.answer(message, context, undefined);
  }

  /**
   * The answer to one parsed message, synchronously when every handler it runs is synchronous.
   * `shared`: the answer is serialised at once and never given out, so the -32600 answers
   * without an id may be the shared frozen ones ({@link sharedInvalidRequest}).
   */
  private answer(
    value: unknown,
    context: IncomingContext,
    options: DispatchOptions | undefined,
    shared = false,
  ): MessageAnswer | Promise<MessageAnswer> {
    const metadata = this.metadataOf(context.metadata);
    if (!Array.isArray(value)) return this.one(value, context, metadata, options?.limit, shared);
    if (value.length === 0) return invalidRequest(null, 'empty batch');
    if (value.length > this.limits.maxBatchSize) return this.batchTooLarge(value, options);
    let pending = false;
    const answers: Array<Answer | Promise<Answer>> = new Array(value.length);
    for (let index = 0; index < value.length; index++) {
      const answer = this.one(value[index], context, metadata, options?.limit, shared);
      if (answer instanceof Promise) pending = true;
      answers[index] = answer;
    }
    return pending ? Promise.all(answers).then(present) : present(answers as Answer[]);
  }

  private one(
    item: unknown,
    context: IncomingContext,
    transportMetadata: WireMetadata,
    limit: InFlightLimit | undefined,
    shared: boolean,
  ): Answer | Promise<Answer> {
    const invalid = requestError(item, shared ? sharedInvalidRequest : invalidRequest);
    if (invalid !== undefined) return invalid;
    const request = item as JsonRpcRequest;
    // WebSocket carries metadata in the request's `meta` member; header transports in the context.
    const metadata = request.meta === undefined ? transportMetadata : this.metadataOf(request.meta);
    return this.requests.handle(request, context, metadata, limit);
  }

  /**
   * Sanitised metadata with the deadline clamped; one shared empty object when there is none.
   * Metadata the core sanitised already (a listener's `metadataFromHeaders`, see
   * {@link isSanitized}) is not sanitised again: it is the handler's as it is, or a copy when its
   * deadline is clamped (the listener's object keeps what the caller sent).
   */
  private metadataOf(raw: unknown): WireMetadata {
    if (typeof raw !== 'object' || raw === null) return EMPTY_METADATA;
    const source = raw as Record<string, unknown>;
    if (
      source.deadlineMs === undefined &&
      source.idempotent === undefined &&
      source.attempt === undefined &&
      source.traceId === undefined &&
      source.traceparent === undefined
    )
      return EMPTY_METADATA;
    const maxDeadlineMs = this.options.maxDeadlineMs;
    if (isSanitized(raw)) {
      const metadata = raw as WireMetadata;
      if (metadata.deadlineMs === undefined || metadata.deadlineMs <= maxDeadlineMs) return metadata;
      return { ...metadata, deadlineMs: maxDeadlineMs };
    }
    const metadata = sanitizeMetadata(raw);
    if (metadata.deadlineMs !== undefined && metadata.deadlineMs > maxDeadlineMs)
      metadata.deadlineMs = maxDeadlineMs;
    return metadata;
  }

  private batchTooLarge(batch: readonly unknown[], options: DispatchOptions | undefined): MessageAnswer {
    const data = { maxBatchSize: this.limits.maxBatchSize };
    if (options?.answerEachEntry) {
      const answers: JsonRpcResponse[] = [];
      for (const item of batch) {
        const id = readableId(item);
        if (id !== undefined)
          answers.push(errorResponse(id, ErrorCodes.BatchTooLarge, 'batch too large', data));
      }
      if (answers.length > 0) return answers;
    }
    return errorResponse(null, ErrorCodes.BatchTooLarge, 'batch too large', data);
  }

  private serialise(answer: MessageAnswer, context: IncomingContext): DispatchResult {
    if (answer === undefined) return NO_CONTENT;
    let body: string;
    try {
      body = Array.isArray(answer) ? stringifyBatch(answer) : (sharedText(answer) ?? responseText(answer));
    } catch (error) {
      this.options.onError?.(error, { method: '(serialise)', transport: context.transport });
      body = JSON.stringify(Array.isArray(answer) ? answer.map(serialisable) : serialisable(answer));
    }
    return { body, status: statusOf(answer) };
  }
}

/** The status of an answer; only a single error response (or a whole-message error) is not `ok`. */
export function statusOf(answer: JsonRpcResponse | JsonRpcResponse[]): DispatchStatus {
  if (Array.isArray(answer) || !('error' in answer)) return 'ok';
  switch (answer.error.code) {
    case ErrorCodes.ParseError:
    case ErrorCodes.InvalidRequest:
      return 'bad-request';
    case ErrorCodes.Unauthenticated:
      return 'unauthenticated';
    case ErrorCodes.Forbidden:
      return 'forbidden';
    case ErrorCodes.MessageTooLarge:
    case ErrorCodes.BatchTooLarge:
      return 'too-large';
    case ErrorCodes.Overloaded:
      return 'overloaded';
    case ErrorCodes.Draining:
      return 'draining';
    default:
      return 'ok';
  }
}

function bodyOf(result: DispatchResult): string | undefined {
  return result.body;
}

function badRequest(code: number, message: string, reason: string): DispatchResult {
  return { body: JSON.stringify(errorResponse(null, code, message, { reason })), status: 'bad-request' };
}

/** The entries of a batch that get an answer; `undefined` when none does. */
function present(answers: readonly Answer[]): JsonRpcResponse[] | undefined {
  const responses: JsonRpcResponse[] = [];
  for (const answer of answers) if (answer !== undefined) responses.push(answer);
  return responses.length === 0 ? undefined : responses;
}

/** An entry that cannot be serialised becomes -32603 on its own; the others go out as they are. */
function serialisable(response: JsonRpcResponse): JsonRpcResponse {
  try {
    JSON.stringify(response);
    return response;
  } catch {
    return errorResponse(response.id, ErrorCodes.InternalError, 'Internal error', {
      reason: 'result is not JSON-serialisable',
    });
  }
}

/** The id of a batch entry that has a usable one, for answering it alone. */
function readableId(item: unknown): JsonRpcId | undefined {
  if (typeof item !== 'object' || item === null || !Object.hasOwn(item, 'id')) return undefined;
  const id = (item as { id: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

function invalidRequest(id: JsonRpcId, reason: string): JsonRpcFailure {
  return errorResponse(id, ErrorCodes.InvalidRequest, 'Invalid Request', { reason });
}

/** The -32600 answers without an id, one per reason (a handful of fixed strings), deeply frozen. */
const invalidWithoutId = new Map<string, JsonRpcFailure>();
/** The JSON text of each answer in {@link invalidWithoutId}. */
const invalidWithoutIdText = new Map<JsonRpcResponse, string>();

/** The JSON text of a shared answer ({@link sharedInvalidRequest}); `undefined` for any other. */
function sharedText(answer: JsonRpcResponse): string | undefined {
  return answer.id === null ? invalidWithoutIdText.get(answer) : undefined;
}

/**
 * `JSON.stringify(response)`. A success of the shape the server builds (`jsonrpc`, `id`, `result`,
 * in that order, nothing else) with a number or null id and a result without a `toJSON` of its
 * own is written by hand around its result's JSON: the same text, without serialising the wrapper
 * (which costs more than a small result does).
 */
function responseText(response: JsonRpcResponse): string {
  if (response.jsonrpc === '2.0' && 'result' in response) {
    const id = response.id;
    const result: unknown = response.result;
    if (
      (id === null || (typeof id === 'number' && Number.isFinite(id))) &&
      (typeof result !== 'object' ||
        result === null ||
        typeof (result as { toJSON?: unknown }).toJSON !== 'function') &&
      isSuccessShape(response)
    ) {
      const json = JSON.stringify(result);
      if (json !== undefined) return `{"jsonrpc":"2.0","id":${id},"result":${json}}`;
    }
  }
  return JSON.stringify(response);
}

/** Whether the response's own members are `jsonrpc`, `id` and `result`, in that order. */
function isSuccessShape(response: JsonRpcResponse): boolean {
  let at = 0;
  for (const key in response) {
    if (key !== (at === 0 ? 'jsonrpc' : at === 1 ? 'id' : at === 2 ? 'result' : undefined)) return false;
    at++;
  }
  return at === 3;
}

/**
 * `JSON.stringify(answers)`, except that the shared answers' text is reused: a batch of invalid
 * id-less entries is not serialised entry by entry again.
 */
function stringifyBatch(answers: readonly JsonRpcResponse[]): string {
  let shared = false;
  for (const answer of answers) {
    if (answer.id === null && invalidWithoutIdText.has(answer)) {
      shared = true;
      break;
    }
  }
  if (!shared) return JSON.stringify(answers);
  let body = '[';
  for (let index = 0; index < answers.length; index++) {
    const answer = answers[index]!;
    if (index > 0) body += ',';
    body += sharedText(answer) ?? JSON.stringify(answer);
  }
  return `${body}]`;
}

/**
 * {@link invalidRequest}, except that an answer without an id is one shared frozen object per
 * reason: a flood of invalid id-less batch entries allocates no answer per entry.
 */
function sharedInvalidRequest(id: JsonRpcId, reason: string): JsonRpcFailure {
  if (id !== null) return invalidRequest(id, reason);
  let answer = invalidWithoutId.get(reason);
  if (answer === undefined) {
    const fresh = invalidRequest(null, reason);
    Object.freeze(fresh.error.data);
    Object.freeze(fresh.error);
    answer = Object.freeze(fresh);
    invalidWithoutId.set(reason, answer);
    invalidWithoutIdText.set(answer, JSON.stringify(answer));
  }
  return answer;
}

/** Whether `text` takes more than `maxBytes` bytes in UTF-8, encoding it only when it must. */
function utf8LengthExceeds(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true; // at least one byte per UTF-16 unit
  if (text.length * 3 <= maxBytes) return false; // at most three bytes per UTF-16 unit
  return encoder.encode(text).length > maxBytes;
}
