import type { WireMetadata } from '../protocol/types.js';

/** What the server tells an instrumentation about a request before it runs. */
export interface InstrumentedRequest {
  /** The method name as called (also for an unknown method). */
  readonly method: string;
  /** Sanitised call metadata, `traceparent`/`tracestate` included. */
  readonly metadata: WireMetadata;
  /** The transport's name (`http`, `ws`, `nats`, `memory`). */
  readonly transport: string;
  readonly remoteAddress: string | undefined;
  /** A notification: no answer is sent, so its outcome is always `ok`. */
  readonly notification: boolean;
}

/** How a request ended: `ok`, or the JSON-RPC error code it was answered with. */
export interface RequestOutcome {
  readonly ok: boolean;
  /** The JSON-RPC error code of a failed request. */
  readonly code?: number;
}

/** The per-request side of a {@link ServerInstrumentation}. */
export interface RequestObservation {
  /**
   * Runs the request (authentication, handler, answer mapping); a tracer makes its span current
   * here so that the handler's own spans nest under it. Optional.
   */
  run?<T>(request: () => T): T;
  /** The request was answered (or, for a notification, finished). Called exactly once. */
  end(outcome: RequestOutcome): void;
}

/**
 * A hook that sees every request the server admits past validation (`createServer({
 * instrumentation })`); `@resilient-rpc/opentelemetry` provides one. Without it the server pays
 * nothing. A hook that throws is ignored (the request still runs).
 */
export interface ServerInstrumentation {
  onRequest(request: InstrumentedRequest): RequestObservation | undefined;
}
