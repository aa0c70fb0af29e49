import {
  type Context,
  context,
  isSpanContextValid,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type {
  BatchCall,
  BatchOptions,
  CallOptions,
  JsonRpcParams,
  RpcClient,
  RpcError,
} from '@resilient-rpc/core';
import { Attributes, addressOf, RPC_SYSTEM } from './attributes.js';
import { formatTraceContext } from './trace-context.js';

/** The method name the client's events carry for a batch. */
const BATCH_METHOD = 'rpc.batch';

/** One call being traced: its span, and the spans of its attempts still running. */
class TracedCall {
  callId: number | undefined;
  readonly attempts = new Map<number, Span>();
  constructor(
    readonly span: Span,
    readonly spanContext: Context,
  ) {}
}

/**
 * Traces a client: `call`, `notify` and `batch` (and the proxy) of the returned client start a
 * CLIENT span per call as a child of the active context and send its W3C trace context with every
 * attempt, so that the server span continues the trace; each attempt is an INTERNAL child span
 * (endpoint, attempt number, hedge, failure kind), and retries, failovers, hedges, budget refusals
 * and the give-up are events on the call span. Returns the traced client and the function that
 * detaches the event listeners.
 *
 * A call's events are tied to its span by the call id of the first event the call emits while
 * `call` runs (the first attempt is sent synchronously). A call that waits in the client's
 * admission queue (`bulkhead.maxQueue`) emits its first event later: it gets its call span, but no
 * attempt spans or span events.
 */
export function traceClient<Client extends RpcClient>(client: Client, tracer: Tracer): [Client, () => void] {
  const byCallId = new Map<number, TracedCall>();
  /** The call whose `call` is running (synchronously), not yet tied to a call id. */
  let starting: TracedCall | undefined;

  const find = (callId: number): TracedCall | undefined => {
    const traced = byCallId.get(callId);
    if (traced !== undefined) return traced;
    if (starting !== undefined && starting.callId === undefined) {
      starting.callId = callId;
      byCallId.set(callId, starting);
      return starting;
    }
    return undefined;
  };

  const unsubscribe = [
    client.on('attempt', (event) => {
      const traced = find(event.callId);
      if (traced === undefined) return;
      const attributes: Record<string, string | number | boolean> = {
        [Attributes.rpcSystem]: RPC_SYSTEM,
        [Attributes.rpcMethod]: event.method,
        [Attributes.endpoint]: event.endpoint,
        [Attributes.attempt]: event.attempt,
        [Attributes.hedge]: event.hedge,
      };
      const address = addressOf(event.endpoint);
      if (address !== undefined) {
        attributes[Attributes.serverAddress] = address.address;
        if (address.port !== undefined) attributes[Attributes.serverPort] = address.port;
      }
      const span = tracer.startSpan(
        `${event.method} attempt`,
        { kind: SpanKind.INTERNAL, attributes },
        traced.spanContext,
      );
      traced.attempts.set(event.attempt, span);
    }),
    client.on('attempt-result', (event) => {
      const traced = byCallId.get(event.callId);
      const span = traced?.attempts.get(event.attempt);
      if (traced === undefined || span === undefined) return;
      traced.attempts.delete(event.attempt);
      span.setAttribute(Attributes.outcome, event.outcome);
      if (event.outcome !== 'success') {
        span.setAttribute(Attributes.errorType, event.outcome);
        span.setStatus({ code: SpanStatusCode.ERROR, message: event.error?.message });
      }
      span.end();
    }),
    client.on('retry', (event) => {
      byCallId.get(event.callId)?.span.addEvent('retry', {
        [Attributes.attempt]: event.attempt,
        [Attributes.delayMs]: event.delayMs,
        [Attributes.errorType]: event.cause.kind,
      });
    }),
    client.on('failover', (event) => {
      find(event.callId)?.span.addEvent('failover', {
        [Attributes.attempt]: event.attempt,
        [Attributes.fromEndpoint]: event.from,
        [Attributes.endpoint]: event.to,
      });
    }),
    client.on('hedge', (event) => {
      byCallId.get(event.callId)?.span.addEvent('hedge', {
        [Attributes.attempt]: event.attempt,
        [Attributes.endpoint]: event.endpoint,
      });
    }),
    client.on('budget-exhausted', (event) => {
      find(event.callId)?.span.addEvent('budget-exhausted');
    }),
    client.on('give-up', (event) => {
      find(event.callId)?.span.addEvent('give-up', {
        [Attributes.attempts]: event.attempts,
        [Attributes.errorType]: event.cause.kind,
      });
    }),
    client.on('call', (event) => {
      const traced = find(event.callId);
      if (traced === undefined) return;
      byCallId.delete(event.callId);
      traced.span.setAttribute(Attributes.attempts, event.attempts);
      if (event.endpoint !== undefined) {
        traced.span.setAttribute(Attributes.endpoint, event.endpoint);
        const address = addressOf(event.endpoint);
        if (address !== undefined) {
          traced.span.setAttribute(Attributes.serverAddress, address.address);
          if (address.port !== undefined) traced.span.setAttribute(Attributes.serverPort, address.port);
        }
      }
      // Attempts that lost to another (hedges, rescues) end with the call.
      for (const span of traced.attempts.values()) {
        span.setAttribute(Attributes.outcome, 'abandoned');
        span.end();
      }
      traced.attempts.clear();
    }),
  ];

  /** Runs `send` with the call's span started and its trace context in the options. */
  function traced<Options extends CallOptions | BatchOptions, Result>(
    method: string,
    options: Options | undefined,
    send: (options: Options | undefined) => Promise<Result>,
  ): Promise<Result> {
    const parent = context.active();
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [Attributes.rpcSystem]: RPC_SYSTEM,
          [Attributes.rpcMethod]: method,
          [Attributes.rpcJsonrpcVersion]: '2.0',
        },
      },
      parent,
    );
    const spanContext = span.spanContext();
    let sent = options;
    // A caller's own traceparent wins; a non-recording no-op span (no SDK) has nothing to send.
    if (options?.traceparent === undefined && isSpanContextValid(spanContext))
      sent = { ...options, ...formatTraceContext(spanContext) } as Options;
    const record = new TracedCall(span, trace.setSpan(parent, span));
    const previous = starting;
    starting = record;
    let promise: Promise<Result>;
    try {
      promise = context.with(record.spanContext, () => send(sent));
    } catch (error) {
      end(span, error);
      throw error;
    } finally {
      starting = previous;
    }
    return promise.then(
      (result) => {
        end(span, undefined);
        return result;
      },
      (error: unknown) => {
        end(span, error);
        throw error;
      },
    );
  }

  const tracedClient = Object.create(client) as Client;
  Object.defineProperties(tracedClient, {
    call: {
      value: <Result>(method: string, params?: JsonRpcParams, options?: CallOptions) =>
        traced(method, options, (sent) => client.call<Result>(method, params, sent)),
    },
    notify: {
      value: (method: string, params?: JsonRpcParams, options?: BatchOptions) =>
        traced(method, options, (sent) => client.notify(method, params, sent)),
    },
    batch: {
      value: (calls: readonly BatchCall[], options?: BatchOptions) =>
        traced(BATCH_METHOD, options, (sent) => client.batch(calls, sent)),
    },
    proxy: {
      value: (options?: CallOptions) =>
        new Proxy(Object.create(null), {
          get(_target, property) {
            // `then` must stay undefined, or `await proxy` would call a remote method named "then".
            if (typeof property !== 'string' || property === 'then') return undefined;
            return (...args: unknown[]) => tracedClient.call(property, args, options);
          },
        }),
    },
  });
  return [
    tracedClient,
    () => {
      for (const stop of unsubscribe) stop();
    },
  ];
}

function end(span: Span, error: unknown): void {
  if (error !== undefined) {
    const kind = (error as Partial<RpcError> | null)?.kind;
    span.setAttribute(Attributes.errorType, typeof kind === 'string' ? kind : errorName(error));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    if (error instanceof Error) span.recordException(error);
  }
  span.end();
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
