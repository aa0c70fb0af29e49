import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type DataPoint, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A metric reader collected on demand. */
class TestMetricReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

let contextManagerInstalled = false;

/** An SDK with in-memory span and metric exporters; the async-local-storage context manager is installed once. */
export function telemetry() {
  if (!contextManagerInstalled) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextManagerInstalled = true;
  }
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestMetricReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  /** The data points of metric `name`, as `{ attributes, value }`. */
  async function points(name: string): Promise<Array<DataPoint<unknown>>> {
    const { resourceMetrics } = await reader.collect();
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics)
        if (metric.descriptor.name === name) return metric.dataPoints as never;
    return [];
  }
  /** Sum of a counter's points whose attributes include `match`. */
  async function sum(name: string, match: Record<string, unknown> = {}): Promise<number> {
    let total = 0;
    for (const point of await points(name)) {
      if (Object.entries(match).every(([key, value]) => point.attributes[key] === value))
        total += point.value as number;
    }
    return total;
  }
  return {
    exporter,
    tracerProvider,
    meterProvider,
    points,
    sum,
    spans: () => exporter.getFinishedSpans(),
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}
