import {
  context,
  type MeterProvider,
  metrics,
  type Attributes as OtelAttributes,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { RequestObservation, ServerInstrumentation } from '@resilient-rpc/core';
import {
  Attributes,
  DURATION_BUCKETS_SECONDS,
  INSTRUMENTATION_NAME,
  INSTRUMENTATION_VERSION,
  OTHER_METHOD,
  RPC_SYSTEM,
} from './attributes.js';
import { parseTraceContext } from './trace-context.js';

/** JSON-RPC "method not found": its method name is the caller's, not the server's (unbounded). */
const METHOD_NOT_FOUND = -32601;
/** Longest method name used as a span name (a caller chooses it). */
const MAX_SPAN_NAME_LENGTH = 128;

/** Options of {@link serverInstrumentation}. */
export interface ServerInstrumentationOptions {
  /** Default: the global tracer provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Default: the global meter provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Record spans. Default true. */
  traces?: boolean;
  /** Record metrics. Default true. */
  metrics?: boolean;
}

/**
 * The server's OpenTelemetry instrumentation, one line:
 * `createServer({ methods, instrumentation: serverInstrumentation() })`.
 *
 * Traces: a SERVER span per request named after the method, the child of the caller's span when
 * the request carries a W3C `traceparent` (HTTP and NATS headers, the WebSocket `meta` member);
 * the handler runs with it as the active span, so its own spans nest under it. Failed requests get
 * status ERROR, `error.type` and `rpc.jsonrpc.error_code`.
 *
 * Metrics: `rpc.server.requests` (counter) and `rpc.server.call.duration` (histogram, seconds), by
 * `rpc.method`, `resilient_rpc.transport` and `resilient_rpc.outcome` (`ok` or the JSON-RPC error
 * code). An unknown method is recorded as `_OTHER`, so that callers cannot grow the label set.
 */
export function serverInstrumentation(options: ServerInstrumentationOptions = {}): ServerInstrumentation {
  const tracer =
    options.traces === false
      ? undefined
      : (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
          INSTRUMENTATION_NAME,
          INSTRUMENTATION_VERSION,
        );
  const meter =
    options.metrics === false
      ? undefined
      : (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
          INSTRUMENTATION_NAME,
          INSTRUMENTATION_VERSION,
        );
  const requests = meter?.createCounter('rpc.server.requests', {
    description: 'Requests answered, by method and outcome.',
    unit: '{request}',
  });
  const duration = meter?.createHistogram('rpc.server.call.duration', {
    description: 'Duration of requests, from dispatch to answer.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
  });

  return {
    onRequest(request): RequestObservation {
      const startedAt = performance.now();
      let parent = ROOT_CONTEXT;
      const remote = parseTraceContext(request.metadata.traceparent, request.metadata.tracestate);
      if (remote !== undefined) parent = trace.setSpanContext(parent, remote);
      const spanAttributes: OtelAttributes = {
        [Attributes.rpcSystem]: RPC_SYSTEM,
        [Attributes.rpcMethod]: request.method,
        [Attributes.rpcJsonrpcVersion]: '2.0',
        [Attributes.transport]: request.transport,
      };
      if (request.remoteAddress !== undefined)
        spanAttributes[Attributes.clientAddress] = request.remoteAddress;
      if (request.metadata.attempt !== undefined)
        spanAttributes[Attributes.attempt] = request.metadata.attempt;
      const span = tracer?.startSpan(
        request.method.slice(0, MAX_SPAN_NAME_LENGTH),
        { kind: SpanKind.SERVER, attributes: spanAttributes },
        parent,
      );
      const active = span === undefined ? undefined : trace.setSpan(parent, span);
      return {
        run: active === undefined ? undefined : (inner) => context.with(active, inner),
        end(outcome) {
          const outcomeLabel = outcome.ok ? 'ok' : String(outcome.code);
          if (span !== undefined) {
            span.setAttribute(Attributes.outcome, outcomeLabel);
            if (!outcome.ok) {
              span.setAttribute(Attributes.errorType, outcomeLabel);
              if (outcome.code !== undefined) span.setAttribute(Attributes.rpcJsonrpcErrorCode, outcome.code);
              span.setStatus({ code: SpanStatusCode.ERROR });
            }
            span.end();
          }
          if (requests !== undefined && duration !== undefined) {
            const attributes: OtelAttributes = {
              [Attributes.rpcSystem]: RPC_SYSTEM,
              [Attributes.rpcMethod]: outcome.code === METHOD_NOT_FOUND ? OTHER_METHOD : request.method,
              [Attributes.transport]: request.transport,
              [Attributes.outcome]: outcomeLabel,
            };
            requests.add(1, attributes);
            duration.record((performance.now() - startedAt) / 1000, attributes);
          }
        },
      };
    },
  };
}
