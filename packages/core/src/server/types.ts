import type { JsonRpcParams, WireMetadata } from '../protocol/types.js';
import type { IncomingCredentials } from '../transport.js';

/** What a method handler receives besides its params. */
export interface HandlerContext {
  /** The method name as called. */
  readonly method: string;
  /**
   * Aborts when the caller's deadline passes, the caller's connection is gone or the server
   * closes without waiting. Pass it to anything slow the handler starts. Created on first read:
   * on Node 20 one AbortSignal costs a few microseconds of CPU, more than the rest of the
   * request's server-side cost (docs/benchmarks.md, "Server dispatch"); a handler that answers at
   * once need not read it.
   */
  readonly signal: AbortSignal;
  /** Sanitised call metadata (deadline, idempotency, attempt, trace id). */
  readonly metadata: WireMetadata;
  /** Milliseconds until the caller's deadline; `Infinity` when the caller sent none. */
  remainingMs(): number;
  /** The transport the request came on. */
  readonly transport: string;
  readonly remoteAddress: string | undefined;
  readonly credentials: IncomingCredentials | undefined;
  /** Whatever the server's `authenticate` hook returned for this request (the principal). */
  readonly auth: unknown;
}

/** A method handler. Its return value (or resolved value) is the JSON-RPC result. */
export type MethodHandler<Params = any, Result = unknown> = (
  params: Params,
  context: HandlerContext,
) => Result | Promise<Result>;

/** A method with options. */
export interface MethodDefinition<Params = any, Result = unknown> {
  handler: MethodHandler<Params, Result>;
  /**
   * Parameter names in positional order. When given, params sent by name are turned into an
   * array in this order (a missing or unknown name is -32602), so the handler always gets an array.
   */
  paramNames?: readonly string[];
  /**
   * The handler takes its params by position only, as `client.proxy<Api>()` sends them: absent
   * params become `[]`, and params by name are -32602 unless `paramNames` maps them. Set by
   * `implement<Api>()`. Default false: the handler gets params as they came.
   */
  positional?: boolean;
}

/** The method table given to `createServer`. */
export type MethodTable = Record<string, MethodHandler | MethodDefinition>;

/** Raw params as they came on the wire. */
export type RawParams = JsonRpcParams | undefined;
