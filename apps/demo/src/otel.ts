/**
 * `--otel console|prometheus`: the demo's client instrumented with `@resilient-rpc/opentelemetry`.
 *
 * - `console`: at the end, the metrics (OpenTelemetry's console exporter) and the traces of the
 *   first calls that needed a retry, a failover or a hedge, or failed, as trees (call span, its
 *   attempts, its events) — the whole trace of every call would be thousands of lines.
 * - `prometheus`: metrics served for scraping at `http://127.0.0.1:<port>/metrics` while the demo
 *   runs (port `OTEL_EXPORTER_PROMETHEUS_PORT`, default 9464); see docs/observability.md.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  ConsoleMetricExporter,
  MeterProvider,
  type MetricReader,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { RpcClient } from '@resilient-rpc/core';
import { instrumentClient } from '@resilient-rpc/opentelemetry';

export const OTEL_EXPORTS = ['console', 'prometheus'] as const;
export type OtelExport = (typeof OTEL_EXPORTS)[number];

export function isOtelExport(value: string): value is OtelExport {
  return (OTEL_EXPORTS as readonly string[]).includes(value);
}

/** Call traces printed at most by `--otel console`. */
const MAX_TRACES = 5;

/** Keeps the spans of the first calls worth showing (retried, failed over or failed). */
class InterestingTraces implements SpanProcessor {
  private readonly attempts = new Map<string, ReadableSpan[]>();
  readonly kept: Array<{ call: ReadableSpan; attempts: ReadableSpan[] }> = [];

  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    if (this.kept.length >= MAX_TRACES) return;
    const parent = span.parentSpanContext?.spanId;
    if (span.kind === SpanKind.INTERNAL && parent !== undefined) {
      const list = this.attempts.get(parent) ?? [];
      list.push(span);
      this.attempts.set(parent, list);
      return;
    }
    if (span.kind !== SpanKind.CLIENT) return;
    const attempts = this.attempts.get(span.spanContext().spanId) ?? [];
    this.attempts.delete(span.spanContext().spanId);
    // Hedges are routine with hedging on; a retry, a failover or an error is the story worth printing.
    const recovered = span.events.some((event) => event.name !== 'hedge');
    if (recovered || span.status.code === SpanStatusCode.ERROR) this.kept.push({ call: span, attempts });
    // Attempts of calls not kept are dropped (only their own call's spans are ever looked up).
    if (this.attempts.size > 10_000) this.attempts.clear();
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}

  render(): string {
    const lines: string[] = [
      `\nOpenTelemetry: the first ${this.kept.length} calls with retries, failovers or errors\n`,
    ];
    for (const { call, attempts } of this.kept) {
      const t0 = hrMs(call.startTime);
      lines.push(
        `trace ${call.spanContext().traceId}\n${call.name}  ${show(call.attributes, ['error.type', 'resilient_rpc.attempts'])}  ${round(hrMs(call.duration))} ms`,
      );
      const rows: Array<[number, string]> = [];
      for (const attempt of attempts)
        rows.push([
          hrMs(attempt.startTime) - t0,
          `├─ ${attempt.name}  ${show(attempt.attributes, ['resilient_rpc.attempt', 'resilient_rpc.endpoint', 'resilient_rpc.hedge', 'resilient_rpc.outcome'])}  ${round(hrMs(attempt.duration))} ms`,
        ]);
      for (const event of call.events)
        rows.push([
          hrMs(event.time) - t0,
          `│  · ${event.name}  ${show(event.attributes ?? {}, Object.keys(event.attributes ?? {}))}`,
        ]);
      rows.sort((a, b) => a[0] - b[0]);
      for (const [at, text] of rows) lines.push(`${text}  (+${round(at)} ms)`);
      lines.push('');
    }
    return `${lines.join('\n')}\n`;
  }
}

const hrMs = ([seconds, nanos]: [number, number]) => seconds * 1_000 + nanos / 1e6;
const round = (value: number) => Math.round(value * 10) / 10;
const show = (attributes: Record<string, unknown>, keys: readonly string[]) =>
  keys
    .filter((key) => attributes[key] !== undefined)
    .map((key) => `${key.replace('resilient_rpc.', '')}=${String(attributes[key])}`)
    .join(' ');

/** The telemetry of one demo: `instrument` wraps the client; `finish` prints or stops exporting. */
export function setupTelemetry(kind: OtelExport, log: (text: string) => void) {
  const traces = new InterestingTraces();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: kind === 'console' ? [traces] : [] });
  let reader: MetricReader;
  if (kind === 'prometheus') {
    const port = Number(process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464);
    reader = new PrometheusExporter({ port, host: '127.0.0.1' }, () =>
      log(`OpenTelemetry: Prometheus metrics at http://127.0.0.1:${port}/metrics while the demo runs`),
    );
  } else {
    reader = new PeriodicExportingMetricReader({
      exporter: new ConsoleMetricExporter(),
      exportIntervalMillis: 3_600_000,
    });
  }
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    instrument: (client: RpcClient): RpcClient => instrumentClient(client, { tracerProvider, meterProvider }),
    async finish(): Promise<void> {
      if (kind === 'console') {
        await meterProvider.forceFlush();
        log(traces.render());
      }
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}
