/** JSON-RPC 2.0 standard error codes and resilient-rpc's server-error range (-32000 to -32099). */
export const ErrorCodes = {
  /** Invalid JSON was received. */
  ParseError: -32700,
  /** The JSON sent is not a valid Request object. */
  InvalidRequest: -32600,
  /** The method does not exist or is not available. */
  MethodNotFound: -32601,
  /** Invalid method parameters. */
  InvalidParams: -32602,
  /** Internal JSON-RPC error (a handler threw something that is not an RpcError). */
  InternalError: -32603,
  /** The caller's deadline passed before or while the handler ran. Processing may have started. */
  DeadlineExceeded: -32001,
  /** The server refused the request before dispatch because it is at capacity. Not processed. */
  Overloaded: -32002,
  /** The server is shutting down and takes no new requests. Not processed. */
  Draining: -32003,
  /** Credentials are missing or invalid. Not processed. */
  Unauthenticated: -32004,
  /** The caller may not call this method. Not processed. */
  Forbidden: -32005,
  /** The message is larger than the server accepts. Not processed. */
  MessageTooLarge: -32006,
  /** The batch has more entries than the server accepts. Not processed. */
  BatchTooLarge: -32007,
  /** The server aborted the request while shutting down. It may have been processed. */
  Aborted: -32008,
} as const;

/** Any of the codes in {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Codes whose meaning is "the server did not process this request": safe to retry anywhere. */
export const NOT_PROCESSED_CODES: ReadonlySet<number> = new Set([ErrorCodes.Overloaded, ErrorCodes.Draining]);
