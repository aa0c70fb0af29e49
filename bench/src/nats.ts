/**
 * NATS echo benchmark: resilient-rpc (natsTransport + natsListener) vs a raw nats.js `nc.request`
 * echo vs Moleculer 0.15 over NATS (retry, circuit breaker and a request timeout on), in the same
 * run against the same broker, at concurrency 1 and 64. Reports calls/s, p50/p99 latency (ms) and
 * ratios; each figure is the median of the repeats (5, or 1 with --quick), each ratio the median of
 * the per-repeat ratios (the three systems run back to back in every repeat, in A B C / C B A
 * order). Placement (fixtures/pin.ts, `BENCH_PIN`), the same for the three systems: on a quiet
 * machine this process (every system's client and server) and the broker share one core at c=1;
 * at c=64 they are not pinned.
 */

import { connect } from '@nats-io/transport-node';
import { createClient, createServer } from '@resilient-rpc/core';
import { startNatsServer } from '@resilient-rpc/testkit';
import { natsListener, natsTransport } from '@resilient-rpc/transport-nats';
import { ServiceBroker } from 'moleculer';
import { runIfMain } from './fixtures/main.js';
import { allowedCpus, busyCores, currentAffinity, pin, pinPlan } from './fixtures/pin.js';
import { closedLoop, median, type Sample } from './fixtures/stats.js';

import type { BenchResult } from './markdown.js';

export type { BenchResult } from './markdown.js';

type Call = () => Promise<unknown>;

interface System {
  name: string;
  call: Call;
  close(): Promise<void>;
}

const PAYLOAD = { message: 'hello', n: 42 };

export async function resilientRpc(url: string): Promise<System> {
  const server = createServer({ methods: { echo: (params: unknown) => params } });
  const listener = await server.listen(natsListener({ servers: url, subject: 'bench.rrpc.echo' }));
  const client = createClient({ transports: [natsTransport()], endpoints: listener.urls });
  return {
    name: 'resilient-rpc',
    call: () => client.call('echo', PAYLOAD, { idempotent: true }),
    async close() {
      await client.close();
      await server.close();
    },
  };
}

export async function rawRequest(url: string): Promise<System> {
  const serverConnection = await connect({ servers: url });
  serverConnection.subscribe('bench.raw.echo', {
    queue: 'bench.raw.echo',
    callback: (_error, msg) => {
      msg.respond(msg.data);
    },
  });
  await serverConnection.flush();
  const nc = await connect({ servers: url });
  const body = JSON.stringify(PAYLOAD);
  return {
    name: 'raw nc.request',
    call: async () => (await nc.request('bench.raw.echo', body, { timeout: 10_000 })).json(),
    async close() {
      await nc.close();
      await serverConnection.close();
    },
  };
}

/** The Moleculer brokers' settings: NATS transporter, retry + breaker, 2 s request timeout (issue 16's baseline). */
export const moleculerOptions = (url: string) =>
  ({
    namespace: 'bench',
    transporter: { type: 'NATS', options: { url } },
    logger: false,
    requestTimeout: 2_000,
    retryPolicy: { enabled: true, retries: 3, delay: 50, maxDelay: 1000, factor: 2 },
    circuitBreaker: { enabled: true, threshold: 0.5, minRequestCount: 20, windowTime: 60 },
  }) as const;

export async function moleculer(url: string): Promise<System> {
  const common = moleculerOptions(url);
  const serverBroker = new ServiceBroker({ ...common, nodeID: `bench-server-${process.pid}` });
  serverBroker.createService({
    name: 'echo',
    actions: { echo: (ctx: { params: unknown }) => ctx.params },
  });
  const clientBroker = new ServiceBroker({ ...common, nodeID: `bench-client-${process.pid}` });
  await serverBroker.start();
  await clientBroker.start();
  await clientBroker.waitForServices(['echo'], 10_000);
  return {
    name: 'moleculer',
    call: () => clientBroker.call('echo.echo', PAYLOAD),
    async close() {
      await clientBroker.stop();
      await serverBroker.stop();
    },
  };
}

/** The NATS benchmark group. `quick`: shorter runs, one repeat. */
export async function run(options: { quick: boolean }): Promise<BenchResult[]> {
  const durationMs = options.quick ? 1_000 : 3_000;
  const repeats = options.quick ? 1 : 5;
  const concurrencies = [1, 64];
  const plan = pinPlan(undefined, await busyCores());
  const broker = await startNatsServer();
  // Placement (fixtures/pin.ts), per concurrency: this process (every system's client and
  // server) on the client core(s), the broker on the server core(s), the same for the three
  // systems; restored after.
  const all = allowedCpus()?.join(',') ?? '0';
  const before = currentAffinity() ?? all;
  let pinFailed = false;
  const systems: System[] = [];
  const results: BenchResult[] = [];
  try {
    systems.push(await resilientRpc(broker.url), await rawRequest(broker.url), await moleculer(broker.url));
    // warm up every path (JIT, connections, discovery)
    for (const system of systems) await closedLoop(system.call, 16, options.quick ? 200 : 500);
    for (const concurrency of concurrencies) {
      // Not pinned at this concurrency: back on every allowed core (an earlier one may have pinned).
      const placement =
        plan.at(concurrency) ?? (plan.mode === 'off' ? undefined : { client: all, server: all });
      if (
        placement !== undefined &&
        !(pin(broker.pid, placement.server) && pin(process.pid, placement.client))
      )
        pinFailed = true;
      const samples = new Map<string, Sample[]>(systems.map((s) => [s.name, []]));
      for (let repeat = 0; repeat < repeats; repeat++) {
        // interleave the systems in each repeat so drift hits them alike (reversed every other repeat)
        for (const system of repeat % 2 === 0 ? systems : [...systems].reverse()) {
          samples.get(system.name)?.push(await closedLoop(system.call, concurrency, durationMs));
        }
      }
      const summary = new Map<string, { callsPerSecond: number; p50: number; p99: number; errors: number }>();
      for (const [name, list] of samples) {
        summary.set(name, {
          callsPerSecond: median(list.map((s) => s.callsPerSecond)),
          p50: median(list.map((s) => s.p50)),
          p99: median(list.map((s) => s.p99)),
          errors: list.reduce((sum, s) => sum + s.errors, 0),
        });
      }
      const ours = summary.get('resilient-rpc');
      const raw = summary.get('raw nc.request');
      const mol = summary.get('moleculer');
      for (const [name, s] of summary) {
        results.push({
          group: 'nats',
          name: `echo c=${concurrency} ${name}`,
          values: {
            'calls/s': Math.round(s.callsPerSecond),
            'p50 ms': Number(s.p50.toFixed(3)),
            'p99 ms': Number(s.p99.toFixed(3)),
            errors: s.errors,
            repeats,
          },
        });
      }
      if (ours && raw && mol) {
        // The ratios of each repeat (the three systems measured back to back), then their median:
        // a repeat that load from elsewhere slowed moves a ratio once, not its two sides apart.
        const rate = (name: string, repeat: number) => samples.get(name)![repeat]!.callsPerSecond;
        const perRepeat = Array.from({ length: repeats }, (_, repeat) => ({
          repeat,
          'vs raw nc.request': rate('resilient-rpc', repeat) / rate('raw nc.request', repeat),
          'vs moleculer': rate('resilient-rpc', repeat) / rate('moleculer', repeat),
        }));
        const medianOf = (key: 'vs raw nc.request' | 'vs moleculer') =>
          Number(median(perRepeat.map((each) => each[key])).toFixed(2));
        results.push({
          group: 'nats',
          name: `echo c=${concurrency} ratios`,
          values: {
            'vs raw nc.request': medianOf('vs raw nc.request'),
            'vs moleculer': medianOf('vs moleculer'),
            'goal vs raw': '>= 0.9',
            // The goals: at least Moleculer's rate at c = 1, 1.2× it under concurrency.
            'goal vs moleculer': concurrency === 1 ? '>= 1.0' : '>= 1.2',
          },
          repeats: perRepeat.map((each) => ({
            repeat: each.repeat,
            'vs raw nc.request': Number(each['vs raw nc.request'].toFixed(3)),
            'vs moleculer': Number(each['vs moleculer'].toFixed(3)),
          })),
        });
      }
    }
    results.push({
      group: 'nats',
      name: `method: ${repeats} repeats × ${durationMs} ms per system and concurrency, interleaved; medians; the three systems' clients and servers in the bench process, the broker in its own; ${pinFailed ? 'processes NOT pinned (taskset failed)' : plan.note}`,
      values: {},
    });
  } finally {
    for (const system of systems) await system.close().catch(() => {});
    await broker.kill();
    if (plan.mode !== 'off') pin(process.pid, before);
  }
  return results;
}

// Run directly: node --conditions=@resilient-rpc/source --import tsx bench/src/nats.ts [--quick]
runIfMain(import.meta.url, run);
