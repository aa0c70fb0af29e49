/**
 * The cost of `@resilient-rpc/opentelemetry` per call: one client and one server over the memory
 * transport (no network, so the instrumentation's share is as large as it can be), sequential
 * calls of a synchronous `echo`, CPU time per call. Variants, interleaved in every repeat so that
 * load drifting during the run hits them alike:
 *
 * - `off`: no instrumentation (the core's path: one `=== undefined` check per request on the
 *   server, none on the client);
 * - `on, no SDK`: `instrumentClient` and `serverInstrumentation` with the API's no-op providers
 *   (a library instrumented but the application has no OpenTelemetry SDK);
 * - `on, SDK`: the OpenTelemetry SDK recording every span (sampled, dropped by a no-op processor)
 *   and every metric (an in-memory reader, never collected) — the full cost of tracing and metrics.
 *
 * A full GC runs before each measurement (the process's CPU time counts the GC threads, which
 * would otherwise charge one variant's garbage to the next). `over off` is the median of the per-repeat differences with `off`.
 */
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createClient, createServer, type RpcClient, type RpcServer } from '@resilient-rpc/core';
import { MemoryNetwork, memoryTransport } from '@resilient-rpc/core/testing';
import { instrumentClient, serverInstrumentation } from '@resilient-rpc/opentelemetry';
import { fullGc, median, round } from './fixtures/stats.js';

export type BenchResult = { group: string; name: string; values: Record<string, number | string> };

class IdleReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

interface Variant {
  name: string;
  client: RpcClient;
  server: RpcServer;
  samples: number[];
}

async function variant(
  name: string,
  network: MemoryNetwork,
  telemetry: 'off' | 'noop' | 'sdk',
): Promise<Variant> {
  const providers =
    telemetry === 'sdk'
      ? {
          tracerProvider: new BasicTracerProvider({ spanProcessors: [new NoopSpanProcessor()] }),
          meterProvider: new MeterProvider({ readers: [new IdleReader()] }),
        }
      : { tracerProvider: trace.getTracerProvider(), meterProvider: metrics.getMeterProvider() };
  const server = createServer({
    methods: { echo: (params: unknown) => params },
    instrumentation: telemetry === 'off' ? undefined : serverInstrumentation(providers),
  });
  const url = (await server.listen(network.listener(`otel-${telemetry}`))).urls[0]!;
  const plain = createClient({ transports: [memoryTransport(network)], endpoints: [url], heartbeat: false });
  const client = telemetry === 'off' ? plain : instrumentClient(plain, providers);
  return { name, client, server, samples: [] };
}

/** CPU ns per call over `count` sequential calls. */
async function measure(client: RpcClient, count: number): Promise<number> {
  const params = [1, 'two', { three: 3 }];
  // The SDK variant's garbage must not be collected (on GC threads, counted as CPU) during the next run.
  fullGc();
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) await client.call('echo', params);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1_000) / count;
}

export async function run({ quick }: { quick: boolean }): Promise<BenchResult[]> {
  const count = quick ? 5_000 : 20_000;
  const repeats = quick ? 3 : 7;
  const network = new MemoryNetwork();
  const variants = [
    await variant('off', network, 'off'),
    await variant('on, no SDK', network, 'noop'),
    await variant('on, SDK (spans and metrics recorded)', network, 'sdk'),
  ];
  try {
    for (const each of variants) await measure(each.client, Math.min(count, 2_000)); // warm-up
    for (let r = 0; r < repeats; r++)
      for (const each of variants) each.samples.push(await measure(each.client, count));
    const off = variants[0]!;
    return variants.map((each) => ({
      group: 'otel',
      name: `memory transport, sequential calls: ${each.name}`,
      values: {
        'ns/call (CPU)': round(median(each.samples), 0),
        'over off (ns/call)': round(
          median(each.samples.map((sample, index) => sample - off.samples[index]!)),
          0,
        ),
        calls: count,
        repeats,
      },
    }));
  } finally {
    for (const each of variants) {
      await each.client.close();
      await each.server.close();
    }
  }
}
