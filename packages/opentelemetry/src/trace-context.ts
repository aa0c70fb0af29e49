import { createTraceState, type SpanContext, TraceFlags } from '@opentelemetry/api';

/**
 * Formats a span context as W3C `traceparent` and `tracestate` (what resilient-rpc's metadata
 * carries on every transport), independent of the globally registered propagator.
 */
export function formatTraceContext(spanContext: SpanContext): { traceparent: string; tracestate?: string } {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
  const tracestate = spanContext.traceState?.serialize();
  return tracestate === undefined || tracestate === '' ? { traceparent } : { traceparent, tracestate };
}

/**
 * The remote span context of a sanitised `traceparent` (and `tracestate`), or undefined. The core
 * checked the format already; this reads the fields.
 */
export function parseTraceContext(
  traceparent: string | undefined,
  tracestate: string | undefined,
): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const parts = traceparent.split('-');
  const traceId = parts[1];
  const spanId = parts[2];
  const flags = parts[3];
  if (traceId === undefined || spanId === undefined || flags === undefined) return undefined;
  const context: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  if (tracestate !== undefined) context.traceState = createTraceState(tracestate);
  return context;
}
