import { type MeterProvider, metrics, type TracerProvider, trace } from '@opentelemetry/api';
import type { RpcClient } from '@resilient-rpc/core';
import { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION } from './attributes.js';
import { instrumentClientMetrics } from './client-metrics.js';
import { traceClient } from './client-tracing.js';

/** Options of {@link instrumentClient}. */
export interface ClientInstrumentationOptions {
  /** Default: the global tracer provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Default: the global meter provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Record spans (and send the trace context). Default true. */
  traces?: boolean;
  /** Record metrics. Default true. */
  metrics?: boolean;
}

/**
 * Instruments a client with OpenTelemetry, one line:
 * `const client = instrumentClient(createClient({ ... }))`.
 *
 * Returns a client with the same interface whose `call`, `notify`, `batch` and `proxy` are traced
 * (see the package README for spans and attributes); metrics cover every call the client makes,
 * through the returned client or not. `close()` on the returned client also detaches the
 * instrumentation. The original client is not changed.
 */
export function instrumentClient<Client extends RpcClient>(
  client: Client,
  options: ClientInstrumentationOptions = {},
): Client {
  const detach: Array<() => void> = [];
  let instrumented = client;
  if (options.metrics !== false) {
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
      INSTRUMENTATION_NAME,
      INSTRUMENTATION_VERSION,
    );
    detach.push(instrumentClientMetrics(client, meter));
  }
  if (options.traces !== false) {
    const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
      INSTRUMENTATION_NAME,
      INSTRUMENTATION_VERSION,
    );
    const [traced, stop] = traceClient(client, tracer);
    instrumented = traced;
    detach.push(stop);
  } else {
    instrumented = Object.create(client) as Client;
  }
  Object.defineProperty(instrumented, 'close', {
    value: async () => {
      for (const stop of detach.splice(0)) stop();
      await client.close();
    },
  });
  return instrumented;
}
