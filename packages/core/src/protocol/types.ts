/** A JSON-RPC request or notification id. */
export type JsonRpcId = string | number | null;

/** Positional or named parameters. */
export type JsonRpcParams = readonly unknown[] | Record<string, unknown>;

/** A JSON-RPC 2.0 request (with `id`) or notification (without). */
export interface JsonRpcRequest {
  jsonrpc: '2.0';
  method: string;
  params?: JsonRpcParams;
  /** Absent for notifications. */
  id?: JsonRpcId;
  /**
   * resilient-rpc's metadata extension member, used only where the transport has no headers
   * (WebSocket). Other JSON-RPC peers ignore it. See docs/protocol.md.
   */
  meta?: WireMetadata;
}

/** The error object of a JSON-RPC error response. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcSuccess {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: unknown;
}

export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: JsonRpcId;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;

/**
 * Call metadata as it travels on the wire. HTTP and NATS carry it in headers
 * (`rpc-deadline-ms`, `rpc-idempotent`, `rpc-attempt`, `rpc-trace-id`, and the W3C Trace Context
 * headers `traceparent` and `tracestate`); WebSocket carries it in the request's `meta` member
 * with the same fields.
 */
export interface WireMetadata {
  /** Milliseconds left until the caller's deadline when the request was sent. */
  deadlineMs?: number;
  /** The caller declared the call idempotent. */
  idempotent?: boolean;
  /** 1 for the first attempt, 2 for the first retry or hedge, and so on. */
  attempt?: number;
  /** An opaque id that ties the attempts of one call together in logs. */
  traceId?: string;
  /**
   * W3C Trace Context `traceparent` (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`), so
   * that a server span continues the caller's trace. Malformed values are dropped.
   */
  traceparent?: string;
  /** W3C Trace Context `tracestate` (vendor `key=value` list, at most 32 entries and 512 characters). */
  tracestate?: string;
}
